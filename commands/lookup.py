"""601: where a number is from and whose network it is, from the ``phonenumbers`` library's data for China
(its prefixes with Chinese names: 13912345678 → 江苏省常州市, 中国移动). Reads no ledger: any number may ask."""

from __future__ import annotations

import phonenumbers
from phonenumbers import carrier, geocoder

from gateway.context import CommandContext

CODE = "601"


async def number_location(ctx: CommandContext) -> str:
    """601: the sender's number; ``601 13912345678``: that number."""
    number = ctx.text[len(CODE) :] or ctx.msisdn
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return ctx.render("number_location_unknown", number=number)
    place = geocoder.description_for_number(parsed, "zh") if phonenumbers.is_valid_number(parsed) else ""
    if not place:
        return ctx.render("number_location_unknown", number=number)
    network = carrier.name_for_number(parsed, "zh")
    return ctx.render("number_location", number=number, place=place, network=network or "其他运营商")
