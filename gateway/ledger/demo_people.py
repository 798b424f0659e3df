"""The demo ledger's people: what a seeded person is, the seed's tariffs, and the crowd made up
deterministically around the fixed cast (demo_cast.py). Everything is placed relative to the cycle of ``now``.

The seed's own usage tariffs (products.toml has none for voice): voice 0.15元 a started minute, SMS
0.10元 beyond SMS packs, MMS 0.30元; data 0.01元/KB without a package, else 1元 per whole MB beyond the
packages, at most the products' monthly data charge cap (500元).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from gateway.ledger.calendar import Calendar, add_months, days_in_month, parse_cycle
from gateway.ledger.data import prorated, spread_data
from gateway.ledger.products import Products
from gateway.model.ledger import NewSubscriber

VOICE_FEN_PER_MINUTE = 15
SMS_FEN = 10
MMS_FEN = 30
DATA_FEN_PER_KB = 1
OVERAGE_FEN_PER_MB = 100
KB_PER_MB = 1024

PREPAID_CHANNELS = ("营业厅", "充值卡", "网上营业厅", "微信", "支付宝")
POSTPAID_CHANNEL = "银行代扣"
CROWD_SEED = 20261118
CROWD_SIZE = 30
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "晓东",
    "海燕",
    "志强",
    "雪梅",
    "子轩",
    "欣怡",
)
_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "178",
    "182",
    "183",
    "187",
    "188",
    "198",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """A subscription: a package code from ``started_at`` until ``ends_at`` (None: still running)."""

    product: str
    started_at: float
    ends_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """One seeded subscriber with everything around them; ``usage`` is this cycle's quantities by category."""

    subscriber: NewSubscriber
    subscriptions: tuple[Held, ...] = ()
    usage: Mapping[str, int] = field(default_factory=dict)
    bills: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    payments: tuple[tuple[int, str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Moments:
    """Instants and days counted from the cycle of ``now``, in the operator's time zone."""

    calendar: Calendar
    now: float

    @property
    def cycle(self) -> str:
        return self.calendar.cycle(self.now)

    @property
    def today(self) -> date:
        return self.calendar.today(self.now)

    def at(self, months_ago: int, day: int, hour: int = 10, minute: int = 0) -> float:
        """``day`` (capped to the month's length) of the cycle ``months_ago`` back; never later than now."""
        return min(self._local(months_ago, day, hour, minute), self.now - 1)

    def has_come(self, months_ago: int, day: int, hour: int = 10, minute: int = 0) -> bool:
        return self._local(months_ago, day, hour, minute) < self.now

    def months_since(self, cycle: str) -> int:
        """How many cycles ``cycle`` lies before now's (0 for now's own)."""
        (year, month), (then_year, then_month) = parse_cycle(self.cycle), parse_cycle(cycle)
        return (year - then_year) * 12 + month - then_month

    def _local(self, months_ago: int, day: int, hour: int, minute: int) -> float:
        cycle = add_months(self.cycle, -months_ago)
        year, month = parse_cycle(cycle)
        local = datetime(year, month, min(day, days_in_month(cycle)), hour, minute, tzinfo=self.calendar.zone)
        return local.timestamp()

    def day(self, months_ago: int, day: int) -> date:
        return self.calendar.today(self.at(months_ago, day))

    def month_end(self, months_ahead: int) -> date:
        """The last day of the cycle ``months_ahead`` from now's (negative: back)."""
        cycle = add_months(self.cycle, months_ahead)
        return date(*parse_cycle(cycle), days_in_month(cycle))

    def elapsed(self) -> float:
        """How far into its cycle ``now`` is, 0 to 1."""
        start, end = self.calendar.cycle_start(self.cycle), self.calendar.cycle_end(self.cycle)
        return (self.now - start) / (end - start)


def cycle_fees(
    plan_fee: tuple[str, int], held: Sequence[Held], cycle: str, products: Products, calendar: Calendar
) -> list[tuple[str, str, int, float]]:
    """(category, product, fen, charged at) of the cycle's fixed fees: the plan, then each package running.

    A fee is charged when the cycle starts, or when the package is ordered in it (then prorated).
    """
    start = calendar.cycle_start(cycle)
    plan, fee = plan_fee
    fees = [("plan", plan, fee, start)] if fee else []
    for h in running(held, cycle, calendar):
        package = products.package(h.product)
        amount = prorated(package.monthly_fee_fen, h.started_at, cycle, calendar)
        fees.append((package.kind, h.product, amount, max(start, h.started_at)))
    return fees


def running(held: Sequence[Held], cycle: str, calendar: Calendar) -> list[Held]:
    start, end = calendar.cycle_start(cycle), calendar.cycle_end(cycle)
    return [h for h in held if h.started_at < end and (h.ends_at is None or h.ends_at > start)]


def usage_charged(
    category: str, quantity: int, held: Sequence[Held], cycle: str, products: Products, calendar: Calendar
) -> int:
    """What ``quantity`` of a category costs in the cycle beyond the packages, at the seed's tariffs."""
    packages = [(products.package(h.product), h.started_at) for h in running(held, cycle, calendar)]
    if category == "voice":
        return -(-quantity // 60) * VOICE_FEN_PER_MINUTE
    if category == "mms":
        return quantity * MMS_FEN
    if category == "sms":
        quota = sum(prorated(p.quota_sms, at, cycle, calendar) for p, at in packages if p.kind == "sms")
        return max(0, quantity - quota) * SMS_FEN
    data = [(p, prorated(p.quota_kb, at, cycle, calendar)) for p, at in packages if p.kind == "data"]
    _, beyond = spread_data(quantity, data)
    fen = beyond * DATA_FEN_PER_KB if not data else beyond // KB_PER_MB * OVERAGE_FEN_PER_MB
    return min(fen, products.data_caps.charge_fen)


def crowd(rng: random.Random, at: Moments, products: Products, taken: set[str]) -> list[Person]:
    """CROWD_SIZE made-up subscribers around the cast (numbers not in ``taken``), with their history."""
    return [with_history(_stranger(rng, at, products, taken), rng, at, products) for _ in range(CROWD_SIZE)]


def _stranger(rng: random.Random, at: Moments, products: Products, taken: set[str]) -> Person:
    msisdn = rng.choice(_PREFIXES) + f"{rng.randrange(10**8):08d}"
    while msisdn in taken:
        msisdn = rng.choice(_PREFIXES) + f"{rng.randrange(10**8):08d}"
    taken.add(msisdn)
    plan = products.plan(rng.choice(sorted(products.plans)))
    postpaid = plan.payment == "postpaid"
    vip = rng.choice(("none", "silver", "gold", "gold", "diamond") if postpaid else ("none", "none", "none", "silver"))
    gift = rng.choice((0, 0, 0, 500, 1000, 2000, 5000))
    subscriber = NewSubscriber(
        msisdn=msisdn,
        name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
        brand=plan.brand,
        vip=vip,
        plan=plan.code,
        cash=rng.randint(-500, 60000) if postpaid else rng.choice((rng.randint(0, 1500), rng.randint(1000, 30000))),
        gift=gift,
        gift_expires=at.month_end(rng.randint(0, 3)) if gift else None,
        credit_limit={"none": 10000, "silver": 20000, "gold": 50000, "diamond": 100000}[vip] if postpaid else 0,
        valid_until=None if postpaid else at.month_end(rng.randint(2, 12)),
        created_on=at.day(rng.randint(7, 120), 15),
    )
    held = _packages(rng, at, products)
    return Person(subscriber=subscriber, subscriptions=held, usage=_usage(rng, at, held, products))


def _packages(rng: random.Random, at: Moments, products: Products) -> tuple[Held, ...]:
    by_kind = {kind: sorted(c for c, p in products.packages.items() if p.kind == kind) for kind in ("data", "sms")}
    codes = [rng.choice(by_kind["data"][:5])] if rng.random() < 0.7 else []
    codes += [rng.choice(by_kind["sms"])] if rng.random() < 0.2 else []
    codes += [c for c in ("LDTX", "CL", "XWZWB") if c in products.packages and rng.random() < 0.3]
    held = []
    for code in codes:
        months_ago = rng.randint(0, 12)
        day = rng.randint(1, at.today.day if months_ago == 0 else 28)
        held.append(Held(product=code, started_at=at.at(months_ago, day, rng.randint(8, 22))))
    return tuple(held)


def _usage(rng: random.Random, at: Moments, held: Sequence[Held], products: Products) -> dict[str, int]:
    share = at.elapsed()
    quota = sum(products.package(h.product).quota_kb for h in held)
    data = int((quota * rng.uniform(0.2, 1.2) if quota else rng.randint(0, 20000)) * share)
    usage = {"voice": int(rng.randint(300, 30000) * share), "sms": int(rng.randint(5, 200) * share), "data": data}
    if rng.random() < 0.25:
        usage["mms"] = rng.randint(1, 5)
    return {category: quantity for category, quantity in usage.items() if quantity > 0}


def with_history(person: Person, rng: random.Random, at: Moments, products: Products) -> Person:
    """The person with bills for the last 6 cycles they were a paying subscriber in, and payments."""
    s = person.subscriber
    plan = products.plan(s.plan)
    last_active = 4 if s.status == "terminated" else 0  # suspended 5 months ago, terminated since
    bills: dict[str, dict[str, int]] = {}
    for months_ago in range(6, last_active, -1):
        cycle = add_months(at.cycle, -months_ago)
        if at.day(months_ago, days_in_month(cycle)) < s.created_on:
            continue
        lines: dict[str, int] = {}
        for category, _, fen, _ in cycle_fees(
            (plan.code, plan.monthly_fee_fen), person.subscriptions, cycle, products, at.calendar
        ):
            lines[category] = lines.get(category, 0) + fen
        lines["voice"] = rng.randint(0, 400) * 5
        lines["sms"] = rng.randint(0, 80) * 10
        lines["mms"] = rng.choice((0, 0, 0, 30, 60, 90))
        lines["data"] = lines.get("data", 0) + rng.choice((0, 0, 100, 300, rng.randint(200, 3000)))
        bills[cycle] = {c: fen for c, fen in lines.items() if fen}
    paid = _postpaid_payments(bills, at) if plan.payment == "postpaid" else _prepaid_payments(rng, at, last_active)
    points = s.points or sum(sum(lines.values()) for lines in bills.values()) // 100 + rng.randint(0, 3000)
    return Person(
        subscriber=replace(s, points=points),
        subscriptions=person.subscriptions,
        usage=person.usage,
        bills=bills,
        payments=paid,
    )


def _prepaid_payments(rng: random.Random, at: Moments, last_active: int) -> tuple[tuple[int, str, float], ...]:
    return tuple(
        (
            rng.choice((2000, 3000, 5000, 10000, 20000, 30000)),
            rng.choice(PREPAID_CHANNELS),
            at.at(months_ago, rng.randint(1, 28), rng.randint(8, 22), rng.randint(0, 59)),
        )
        for months_ago in range(6, last_active, -1)
        if rng.random() < 0.7
    )


def _postpaid_payments(bills: Mapping[str, Mapping[str, int]], at: Moments) -> tuple[tuple[int, str, float], ...]:
    """Each bill debited from the bank on the 8th of the month after it, when that day has come."""
    debits = []
    for cycle, lines in sorted(bills.items()):
        months_ago = at.months_since(cycle) - 1
        if at.has_come(months_ago, 8, 3):
            debits.append((sum(lines.values()), POSTPAID_CHANNEL, at.at(months_ago, 8, 3)))
    return tuple(debits)
