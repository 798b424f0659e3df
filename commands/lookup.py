"""Look-ups any number may ask, reading no ledger: 601 where a number is from and whose network it is, 602 a
city's area code (both from the ``phonenumbers`` library's data for China: 13912345678 → 江苏省常州市, 中国移动;
常州 → 0519), 605 international roaming rates (``[[roaming]]`` of ``config/products.toml``)."""

from __future__ import annotations

import functools
from types import ModuleType

import phonenumbers
from phonenumbers import carrier

from gateway.context import CommandContext
from gateway.format import day_cn, yuan
from gateway.ledger.cards import shown_serial
from gateway.ledger.products import RoamingZone

CODE = "601"


@functools.cache
def geocoder() -> ModuleType:
    """phonenumbers' place names, imported when first asked for: they take 0.3 s to load, which a tool that
    never answers a 601 or 602 (``gateway ledger show``, ``--help``) need not pay. The gateway loads them
    beside its start (:func:`preload`), so no subscriber's 601 waits for them."""
    from phonenumbers import geocoder as places

    return places


def preload() -> None:
    geocoder()


async def number_location(ctx: CommandContext) -> str:
    """601: the sender's number; ``601 13912345678``: that number."""
    number = ctx.text[len(CODE) :] or ctx.msisdn
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return ctx.render("number_location_unknown", number=number)
    place = geocoder().description_for_number(parsed, "zh") if phonenumbers.is_valid_number(parsed) else ""
    if not place:
        return ctx.render("number_location_unknown", number=number)
    network = carrier.name_for_number(parsed, "zh")
    return ctx.render("number_location", number=number, place=place, network=network or "其他运营商")


AREA = "602"
ROAMING = "605"


@functools.cache
def _area_codes() -> dict[str, tuple[str, ...]]:
    """Each place phonenumbers names a Chinese fixed-line area code after (``江苏省常州市`` → 519), with its codes."""
    found: dict[str, list[str]] = {}
    for code in ("10", *map(str, range(20, 30)), *map(str, range(300, 1000))):
        for digits in (8, 7):  # local numbers have 7 or 8 digits, depending on the area
            place = geocoder().description_for_number(phonenumbers.parse(f"+86{code}{'6' * digits}"), "zh")
            if place and place != "中国":
                found.setdefault(place, []).append(code)
                break
    return {place: tuple(codes) for place, codes in found.items()}


def area_code(city: str) -> tuple[str, str] | None:
    """The area code of ``city`` (常州, 常州市, 江苏常州, 北京) and the place it is named for; None if unknown.
    A place first in an entry (``辽宁省沈阳市、铁岭市…``) wins over one further down the list."""
    name = city.removesuffix("市")
    best: tuple[int, str, str] | None = None
    for place, codes in _area_codes().items():
        cities = [c.split("省")[-1].split("区")[-1] for c in place.split("、")]
        for rank, each in enumerate(cities):
            short = each.removesuffix("市")
            known = name == short or (
                min(len(name), len(short)) >= 2 and (name.endswith(short) or short.endswith(name))
            )
            if known and (best is None or rank < best[0]):
                best = (rank, "0" + codes[0], place)
    return (best[1], best[2]) if best else None


async def area_code_lookup(ctx: CommandContext) -> str:
    """602 常州: the city's area code; 602 alone: how to ask."""
    city = ctx.text[len(AREA) :]
    if not city:
        return ctx.render("area_code_how")
    found = area_code(city)
    if found is None:
        return ctx.render("area_code_unknown", city=city)
    return ctx.render("area_code", city=city, code=found[0])


async def roaming_rates(ctx: CommandContext) -> str:
    """605: the zones' rates; 605 日本: the rates where that country is."""
    zones = ctx.ledger.products.roaming
    country = ctx.text[len(ROAMING) :]
    if not zones:
        return ctx.render("roaming_none")
    if not country:
        items = ctx.render("item_separator").join(ctx.render("roaming_zone", name=z.name, **_rates(z)) for z in zones)
        return ctx.render("roaming_zones", zones=items)
    zone = next((z for z in zones if country in z.countries), None)
    if zone is None:
        return ctx.render("roaming_unknown", country=country)
    return ctx.render("roaming_country", country=country, **_rates(zone))


def _rates(zone: RoamingZone) -> dict[str, str]:
    return {
        "call": yuan(zone.call_fen),
        "answer": yuan(zone.answer_fen),
        "sms": yuan(zone.sms_fen),
        "data": yuan(zone.data_fen_per_mb),
    }


CARD = "701"


async def card_state(ctx: CommandContext) -> str:
    """701 followed by a recharge card's serial: its value and state (any number may ask: the serial is the key)."""
    serial = ctx.text[len(CARD) :]
    if not serial:
        return ctx.render("card_how")
    card = await ctx.ledger.card(serial)
    shown = shown_serial(serial)
    if card is None:
        return ctx.render("card_unknown", serial=shown)
    today = ctx.ledger.calendar.today(ctx.clock.now())
    state = "expired" if card.state == "unused" and card.expires < today else card.state
    used_on = day_cn(ctx.ledger.calendar.today(card.used_at)) if card.used_at is not None else ""
    return ctx.render(f"card_{state}", serial=shown, value=yuan(card.value), day=day_cn(card.expires), used_on=used_on)
