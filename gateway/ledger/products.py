"""The product catalog from ``config/products.toml``: plans, packages and the codes that order them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gateway.errors import ConfigError

PackageKind = Literal["data", "sms", "mms", "voice", "vas"]
_KINDS = ("data", "sms", "mms", "voice", "vas")


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    code: str
    name: str
    brand: str
    payment: Literal["prepaid", "postpaid"]
    monthly_fee_fen: int
    data_only: bool = False  # a data card (上网卡): the data-left reminder comes at 50MB, not 5MB


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    code: str
    name: str
    kind: PackageKind
    monthly_fee_fen: int
    quota_kb: int = 0
    quota_sms: int = 0
    quota_mms: int = 0
    quota_minutes: int = 0  # domestic calls
    order: tuple[str, ...] = ()
    cancel: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DataCaps:
    charge_fen: int
    volume_kb: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariffs:
    """What usage costs beyond the packages, in fen."""

    voice_fen_per_minute: int
    sms_fen: int
    mms_fen: int
    data_fen_per_kb: int
    data_over_package_fen_per_mb: int

    @property
    def smallest_unit_fen(self) -> int:
        """The cheapest unit of usage: a prepaid account that cannot pay it can use nothing."""
        units = (
            self.voice_fen_per_minute,
            self.sms_fen,
            self.mms_fen,
            self.data_fen_per_kb,
            self.data_over_package_fen_per_mb,
        )
        return min(u for u in units if u > 0) if any(units) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """What points exchange for (``8``): gift balance, or a package for the rest of the month, free."""

    name: str
    points: int
    gift_fen: int = 0
    gift_days: int = 0  # how long the gift balance may be spent, from the day of the exchange (1 or more)
    package: str = ""  # a package code


@dataclass(frozen=True, slots=True, kw_only=True)
class Points:
    """How paid charges earn points (credited when a month's bill closes) and what they exchange for."""

    per_yuan: int = 1
    offers: tuple[Offer, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RoamingZone:
    """International roaming rates of a zone (605), in fen: per minute called and answered, per SMS, per MB."""

    name: str
    countries: tuple[str, ...]
    call_fen: int
    answer_fen: int
    sms_fen: int
    data_fen_per_mb: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Products:
    default_plan: str
    plans: dict[str, Plan]
    packages: dict[str, Package]
    data_caps: DataCaps
    tariffs: Tariffs
    points: Points = Points()
    roaming: tuple[RoamingZone, ...] = ()

    def plan(self, code: str) -> Plan:
        return self.plans[code]

    def package(self, code: str) -> Package:
        return self.packages[code]

    @classmethod
    def load(cls, path: Path) -> Products:
        where = f"gateway.products: {path}"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read: {exc}") from None
        try:
            plans = {p["code"]: _plan(p) for p in raw.get("plans", [])}
            packages = {p["code"]: _package(p) for p in raw.get("packages", [])}
            caps = raw["data_caps"]
            data_caps = DataCaps(charge_fen=_fen(caps, "charge_fen"), volume_kb=int(caps["volume_kb"]))
            t = raw["tariffs"]
            tariffs = Tariffs(**{name: _fen(t, name) for name in Tariffs.__dataclass_fields__})
            points = _points(raw.get("points", {}), packages)
            roaming = tuple(_zone(z) for z in raw.get("roaming", []))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: bad product entry: {exc}") from None
        default_plan = raw.get("default_plan", "")
        if default_plan not in plans:
            raise ConfigError(f"{where}: default_plan {default_plan!r} is not one of the plans")
        codes = [c for p in packages.values() for c in (*p.order, *p.cancel)]
        doubled = sorted({c for c in codes if codes.count(c) > 1})
        if doubled:
            raise ConfigError(f"{where}: order/cancel codes used twice: {', '.join(doubled)}")
        return cls(
            default_plan=default_plan,
            plans=plans,
            packages=packages,
            data_caps=data_caps,
            tariffs=tariffs,
            points=points,
            roaming=roaming,
        )


def _plan(entry: dict[str, Any]) -> Plan:
    payment = entry["payment"]
    if payment not in ("prepaid", "postpaid"):
        raise ValueError(f"plan {entry['code']}: payment must be prepaid or postpaid")
    return Plan(
        code=entry["code"],
        name=entry["name"],
        brand=entry["brand"],
        payment=payment,
        monthly_fee_fen=_fen(entry, "monthly_fee_fen"),
        data_only=bool(entry.get("data_only", False)),
    )


def _package(entry: dict[str, Any]) -> Package:
    kind = entry["kind"]
    if kind not in _KINDS:
        raise ValueError(f"package {entry['code']}: kind must be one of {', '.join(_KINDS)}")
    return Package(
        code=entry["code"],
        name=entry["name"],
        kind=kind,
        monthly_fee_fen=_fen(entry, "monthly_fee_fen"),
        quota_kb=int(entry.get("quota_kb", 0)),
        quota_sms=int(entry.get("quota_sms", 0)),
        quota_mms=int(entry.get("quota_mms", 0)),
        quota_minutes=int(entry.get("quota_minutes", 0)),
        order=tuple(str(c).upper() for c in entry.get("order", [])),
        cancel=tuple(str(c).upper() for c in entry.get("cancel", [])),
    )


def _zone(entry: dict[str, Any]) -> RoamingZone:
    return RoamingZone(
        name=str(entry["name"]),
        countries=tuple(str(c) for c in entry["countries"]),
        call_fen=_fen(entry, "call_fen"),
        answer_fen=_fen(entry, "answer_fen"),
        sms_fen=_fen(entry, "sms_fen"),
        data_fen_per_mb=_fen(entry, "data_fen_per_mb"),
    )


def _points(entry: dict[str, Any], packages: dict[str, Package]) -> Points:
    offers = []
    for item in entry.get("offers", []):
        offer = Offer(
            name=str(item["name"]),
            points=int(item["points"]),
            gift_fen=_fen(item, "gift_fen") if "gift_fen" in item else 0,
            gift_days=int(item.get("gift_days", 0)),
            package=str(item.get("package", "")),
        )
        if offer.points <= 0:
            raise ValueError(f"points offer {offer.name}: points must be above 0")
        if offer.package and offer.package not in packages:
            raise ValueError(f"points offer {offer.name}: package {offer.package!r} is not one of the packages")
        if bool(offer.gift_fen) == bool(offer.package):
            raise ValueError(f"points offer {offer.name}: give either gift_fen or a package")
        if offer.gift_fen and offer.gift_days <= 0:
            raise ValueError(f"points offer {offer.name}: gift_days must be 1 or more")
        offers.append(offer)
    per_yuan = int(entry.get("per_yuan", 1))
    if per_yuan < 0:
        raise ValueError("points.per_yuan must not be below 0")
    return Points(per_yuan=per_yuan, offers=tuple(offers))


def _fen(entry: dict[str, Any], key: str) -> int:
    value = entry[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{entry.get('code')}: {key} must be a whole number of fen, not {value!r}")
    return value
