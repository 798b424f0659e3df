"""A conversation's ``ledger`` blocks → rows in the fresh ledger it runs on."""

from __future__ import annotations

from gateway.converse.script import Fixture
from gateway.db.cards import add_cards
from gateway.db.unit import Database, Tx
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.writes import add_bill, add_payment, add_subscribers, add_subscription, add_usage
from gateway.model.ledger import Card, NewSubscriber


async def seed(db: Database, fixtures: list[Fixture], products: Products, calendar: Calendar, *, now: float) -> None:
    """Write every fixture (and its subscriptions, usage this month, bills and payments) in one transaction."""
    cycle = calendar.cycle(now)
    async with db.transaction():
        await add_subscribers(db, [_subscriber(f, products, calendar, now) for f in fixtures])
        for f in fixtures:
            for product, since in f.subscriptions:
                if product not in products.packages:
                    raise ValueError(f"line {f.line}: no package {product!r} in the product catalog")
                await add_subscription(db, f.msisdn, product, calendar.instant(since))
            for category, quantity, charged in f.usage:
                await add_usage(db, f.msisdn, cycle, category, quantity, charged)
            for bill_cycle, lines in f.bills:
                await add_bill(db, f.msisdn, bill_cycle, lines)
            for when, amount, channel in f.payments:
                await add_payment(db, f.msisdn, amount, channel, calendar.instant(when))
            await add_cards(Tx(db), [Card(serial=s, value=v, expires=e, state=state) for s, v, e, state in f.cards])


def _subscriber(f: Fixture, products: Products, calendar: Calendar, now: float) -> NewSubscriber:
    plan = f.plan or products.default_plan
    if plan not in products.plans:
        raise ValueError(f"line {f.line}: no plan {plan!r} (known: {', '.join(products.plans)})")
    return NewSubscriber(
        msisdn=f.msisdn,
        name=f.name,
        brand=f.brand if f.brand != "神州行" or not f.plan else products.plans[plan].brand,
        plan=plan,
        created_on=calendar.today(now),
        vip=f.vip,
        status=f.status,
        cash=f.cash,
        gift=f.gift,
        gift_expires=f.gift_expires,
        credit_limit=f.credit,
        points=f.points,
        password=f.password,
        id_number=f.id_number,
        puk=f.puk,
    )
