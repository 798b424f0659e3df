"""Filling a ledger for a demo or a benchmark.

``seed_demo``: the fixed cast (demo_cast.py) and a made-up crowd (demo_people.py), a few dozen subscribers
with this cycle's usage and fees, six months of bills, payments and points, in one transaction.
``seed_bulk``: any number of plain subscribers for benchmarks, fast, committed chunk by chunk.
"""

from __future__ import annotations

import random

from gateway.db.bulk import (
    PackageHolder,
    PlainSubscriber,
    add_package_holders,
    add_plain_subscribers,
    count_subscribers_between,
    existing_msisdns,
)
from gateway.db.unit import Database
from gateway.errors import ImportRejected
from gateway.ledger.calendar import Calendar, add_months
from gateway.ledger.demo_cast import demo_subscriber, others
from gateway.ledger.demo_people import CROWD_SEED, Moments, Person, crowd, cycle_fees, usage_charged, with_history
from gateway.ledger.products import Plan, Products
from gateway.ledger.writes import (
    add_bill,
    add_fee,
    add_payment,
    add_subscribers,
    add_subscription,
    add_usage,
)

DEMO_MSISDN = "13800138000"
BULK_CHUNK = 50_000
BULK_PACKAGE = "GPRS10"
BULK_PACKAGE_EVERY = 10
_MSISDN_LOW, _MSISDN_HIGH = 10_000_000_000, 19_999_999_999


async def seed_demo(db: Database, *, now: float, products: Products, calendar: Calendar) -> list[str]:
    """Seed the demo people and commit; their numbers, 13800138000 first.

    ImportRejected (and nothing written) if one of the numbers is already in the ledger.
    """
    at = Moments(calendar, now)
    rng = random.Random(CROWD_SEED)
    people = [p if p.bills else with_history(p, rng, at, products) for p in (demo_subscriber(at), *others(at))]
    people += crowd(rng, at, products, {p.subscriber.msisdn for p in people})
    async with db.transaction():
        existing = await existing_msisdns(db, [p.subscriber.msisdn for p in people])
        if existing:
            shown = ", ".join(sorted(existing)[:3]) + (", ..." if len(existing) > 3 else "")
            raise ImportRejected([f"{len(existing)} of the demo numbers are already in the ledger: {shown}"])
        await add_subscribers(db, [p.subscriber for p in people])
        for person in people:
            await _history(db, person, at, products)
    return [p.subscriber.msisdn for p in people]


async def _history(db: Database, person: Person, at: Moments, products: Products) -> None:
    """Subscriptions, this cycle's fees and usage (active subscribers only), bills and payments."""
    msisdn, cycle, calendar = person.subscriber.msisdn, at.cycle, at.calendar
    for held in person.subscriptions:
        await add_subscription(db, msisdn, held.product, held.started_at, held.ends_at)
    if person.subscriber.status == "active":
        plan = products.plan(person.subscriber.plan)
        plan_fee = (plan.code, plan.monthly_fee_fen)
        for category, product, fen, charged_at in cycle_fees(plan_fee, person.subscriptions, cycle, products, calendar):
            await add_fee(db, msisdn, cycle, category, product, fen, min(charged_at, at.now))
        for category, quantity in person.usage.items():
            charged = usage_charged(category, quantity, person.subscriptions, cycle, products, calendar)
            await add_usage(db, msisdn, cycle, category, quantity, charged)
    for bill_cycle, lines in person.bills.items():
        await add_bill(db, msisdn, bill_cycle, lines)
    for amount, channel, paid_at in person.payments:
        await add_payment(db, msisdn, amount, channel, paid_at)


async def seed_bulk(
    db: Database,
    *,
    count: int,
    now: float,
    products: Products,
    calendar: Calendar,
    start_msisdn: int = 13_000_000_000,
) -> int:
    """``count`` plain subscribers numbered from ``start_msisdn``, committed every BULK_CHUNK; how many.

    Each has an account balance; every 10th a GPRS10 package (since last month), its fee and some data
    used this cycle. No passwords (hashing is what makes a real import slow). ImportRejected, before
    anything is written, if a number of the range is already in the ledger.
    """
    last = start_msisdn + count - 1
    if count < 1 or start_msisdn < _MSISDN_LOW or last > _MSISDN_HIGH:
        raise ValueError(f"cannot seed {count} numbers from {start_msisdn}: they must be 11 digits starting with 1")
    taken = await count_subscribers_between(db, str(start_msisdn), str(last))
    if taken:
        raise ImportRejected([f"{taken} of the numbers {start_msisdn} to {last} are already in the ledger"])
    for first in range(0, count, BULK_CHUNK):
        async with db.transaction():
            await _bulk_chunk(db, range(first, min(first + BULK_CHUNK, count)), start_msisdn, now, products, calendar)
    return count


async def _bulk_chunk(
    db: Database, indexes: range, start_msisdn: int, now: float, products: Products, calendar: Calendar
) -> None:
    plans = [products.plans[code] for code in sorted(products.plans)]
    today, cycle = calendar.today(now).isoformat(), calendar.cycle(now)
    # Straight to the tables, leaving vip, status and secrets to their defaults: building a NewSubscriber
    # per row would double the time of a million.
    people = [_plain(start_msisdn + i, f"用户{i}", plans[i % len(plans)], today) for i in indexes]
    await add_plain_subscribers(db, people)
    package = products.package(BULK_PACKAGE)
    started_at = calendar.cycle_start(add_months(cycle, -1)) + 3 * 86_400
    charged_at = min(calendar.cycle_start(cycle), now)
    holders: list[PackageHolder] = [
        {
            "msisdn": str(start_msisdn + i),
            "product": package.code,
            "started_at": started_at,
            "cycle": cycle,
            "category": package.kind,
            "fee": package.monthly_fee_fen,
            "charged_at": charged_at,
            "data_used": (start_msisdn + i) * 37 % package.quota_kb,
        }
        for i in indexes
        if i % BULK_PACKAGE_EVERY == 0
    ]
    await add_package_holders(db, holders)


def _plain(number: int, name: str, plan: Plan, today: str) -> PlainSubscriber:
    """A benchmark subscriber: some cash, and a credit limit on a postpaid plan."""
    credit_limit = 10_000 if plan.payment == "postpaid" else 0
    return {
        "msisdn": str(number),
        "name": name,
        "brand": plan.brand,
        "plan": plan.code,
        "created_on": today,
        "cash": number * 7919 % 50_000,
        "credit_limit": credit_limit,
    }
