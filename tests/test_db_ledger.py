"""gateway.db.ledger: a subscriber's usage, charges, subscriptions, bills and payments as read (real SQLite files)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import opened

from gateway.db import accounts, ledger, usage
from gateway.db.unit import Tx
from gateway.model.ledger import Bill, Payment, Subscription, Usage
from gateway.model.usage import CycleCharge
from gateway.types import Fen

SUBSCRIBER = "13800138000"
OTHER = "13900139000"
CYCLE = "2025-05"


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        yield handle


async def use(
    tx: Tx, category: str, quantity: int, charged: int, *, cycle: str = CYCLE, msisdn: str = SUBSCRIBER
) -> None:
    added = CycleCharge(msisdn=msisdn, cycle=cycle, category=category, quantity=quantity, charged=charged)
    await usage.add_to_cycles(tx, [added])


async def fee(
    tx: Tx, category: str, product: str, amount: int, *, cycle: str = CYCLE, msisdn: str = SUBSCRIBER
) -> None:
    await usage.add_fee(
        tx, msisdn=msisdn, cycle=cycle, category=category, product=product, amount=amount, charged_at=100.0
    )


async def test_usage_of_the_cycle_by_category(tx: Tx) -> None:
    await use(tx, "voice", 600, 0)
    await use(tx, "voice", 125, 38)  # added to the cycle's voice
    await use(tx, "data", 204_800, 0)
    await use(tx, "sms", 5, 50, cycle="2025-04")
    await use(tx, "sms", 7, 70, msisdn=OTHER)
    assert await ledger.usage(tx, SUBSCRIBER, CYCLE) == {
        "voice": Usage(category="voice", quantity=725, charged=Fen(38)),
        "data": Usage(category="data", quantity=204_800, charged=Fen(0)),
    }
    assert await ledger.usage(tx, SUBSCRIBER, "2025-06") == {}


async def test_charges_sum_fees_and_usage_beyond_packages_by_category(tx: Tx) -> None:
    await fee(tx, "plan", "QQT88", 8800)
    await fee(tx, "data", "GPRS10", 1000)
    await fee(tx, "data", "GPRS5", 500)
    await use(tx, "data", 512_000, 250)
    await use(tx, "sms", 12, 120)
    await use(tx, "voice", 300, 0)  # within packages: nothing charged, no line
    await fee(tx, "vas", "CL", 500, cycle="2025-04")
    await fee(tx, "vas", "CL", 500, msisdn=OTHER)
    assert await ledger.charges(tx, SUBSCRIBER, CYCLE) == {"plan": 8800, "data_package": 1500, "data": 250, "sms": 120}
    assert await ledger.charges(tx, SUBSCRIBER, "2025-06") == {}


async def test_subscriptions_that_run_for_part_of_the_period_oldest_first(tx: Tx) -> None:
    start, end = 1_000.0, 2_000.0
    for product, started_at, ends_at in (
        ("GPRS10", 1_500.0, None),  # 1: started within, runs
        ("DX6", 500.0, 1_000.0),  # 2: ended as the period began
        ("GPRS5", 500.0, 1_000.5),  # 3: ended just after it began
        ("CL", 2_000.0, None),  # 4: starts as it ends
        ("LDTX", 500.0, None),  # 5: started before, runs
        ("GPRS20", 1_500.0, 1_600.0),  # 6: within
    ):
        await accounts.add_subscription(tx, msisdn=SUBSCRIBER, product=product, started_at=started_at, ends_at=ends_at)
    await accounts.add_subscription(tx, msisdn=OTHER, product="GPRS10", started_at=1_200.0)
    assert await ledger.subscriptions(tx, SUBSCRIBER, start, end) == [
        Subscription(id=3, product="GPRS5", started_at=500.0, ends_at=1_000.5),
        Subscription(id=5, product="LDTX", started_at=500.0, ends_at=None),
        Subscription(id=1, product="GPRS10", started_at=1_500.0, ends_at=None),
        Subscription(id=6, product="GPRS20", started_at=1_500.0, ends_at=1_600.0),
    ]


async def test_bill_with_its_lines_or_none_when_no_bill_was_made(tx: Tx) -> None:
    await usage.add_bill(tx, msisdn=SUBSCRIBER, cycle="2025-04", lines={"plan": 8800, "data": 1250, "voice": 38})
    await usage.add_bill(tx, msisdn=OTHER, cycle="2025-03", lines={"plan": 1800})
    found = await ledger.bill(tx, SUBSCRIBER, "2025-04")
    assert found is not None
    assert (found.cycle, found.total) == ("2025-04", 10_088)
    assert dict(found.lines) == {"plan": 8800, "data": 1250, "voice": 38}  # in no particular order
    assert len(found.lines) == 3
    assert await ledger.bill(tx, SUBSCRIBER, "2025-03") is None
    assert await ledger.bill(tx, OTHER, "2025-03") == Bill(
        cycle="2025-03", total=Fen(1800), lines=(("plan", Fen(1800)),)
    )


async def test_bill_totals_of_the_cycles_that_have_a_bill(tx: Tx) -> None:
    await usage.add_bill(tx, msisdn=SUBSCRIBER, cycle="2025-02", lines={"plan": 5800})
    await usage.add_bill(tx, msisdn=SUBSCRIBER, cycle="2025-04", lines={"plan": 5800, "sms": 120})
    await usage.add_bill(tx, msisdn=SUBSCRIBER, cycle="2025-01", lines={"plan": 1})
    await usage.add_bill(tx, msisdn=OTHER, cycle="2025-03", lines={"plan": 1800})
    assert await ledger.bill_totals(tx, SUBSCRIBER, ["2025-02", "2025-03", "2025-04"]) == {
        "2025-02": 5800,
        "2025-04": 5920,
    }
    assert await ledger.bill_totals(tx, SUBSCRIBER, []) == {}


async def test_payments_newest_first_up_to_the_limit(tx: Tx) -> None:
    for amount, channel, paid_at in (
        (5000, "营业厅", 100.0),
        (3000, "支付宝", 300.0),
        (2000, "微信", 200.0),
        (1000, "充值卡", 300.0),  # paid at the same instant as the 3000: the later row comes first
    ):
        await accounts.add_payment(tx, msisdn=SUBSCRIBER, amount=amount, channel=channel, paid_at=paid_at)
    await accounts.add_payment(tx, msisdn=OTHER, amount=9900, channel="银行", paid_at=400.0)
    assert await ledger.payments(tx, SUBSCRIBER, 3) == [
        Payment(amount=Fen(1000), channel="充值卡", paid_at=300.0),
        Payment(amount=Fen(3000), channel="支付宝", paid_at=300.0),
        Payment(amount=Fen(2000), channel="微信", paid_at=200.0),
    ]
    assert len(await ledger.payments(tx, SUBSCRIBER, 10)) == 4
    assert await ledger.payments(tx, "13999999999", 10) == []
