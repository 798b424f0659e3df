"""gateway.db.pushes: the reminder queue, raised once per trigger, and the facts its recheck reads (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import new_subscriber

from gateway.db import accounts, credit, pushes, usage
from gateway.db.database import open_database
from gateway.db.pushes import Selection
from gateway.db.unit import Tx
from gateway.ledger.writes import add_subscribers
from gateway.model.credit import CreditRow
from gateway.model.pushes import Due
from gateway.model.usage import CycleCharge, DayCharge

MAIN = "13800138000"
OTHER = "13900139000"
THIRD = "13900139001"


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    db = await open_database(ledger_at)
    try:
        await add_subscribers(
            db,
            [new_subscriber(m) for m in (MAIN, OTHER, THIRD)],
        )
        yield Tx(db)
    finally:
        await db.close()


async def raise_low(tx: Tx, msisdn: str = MAIN, *, trigger: str = "2026-11", due_at: float = 100.0) -> bool:
    return await pushes.raise_one(
        tx, msisdn=msisdn, kind="low_balance", trigger=trigger, due_at=due_at, campaign=None, now=50.0
    )


async def queue(tx: Tx) -> list[tuple[int, *tuple[object, ...]]]:
    return await tx.fetch(
        "SELECT id, msisdn, kind, trigger, due_at, status, reason, mt_id, campaign FROM push ORDER BY id"
    )


def without_ids(rows: list[tuple[int, *tuple[object, ...]]]) -> list[tuple[object, ...]]:
    """The rows (in id order) without their ids, which only have to grow."""
    ids = [row[0] for row in rows]
    assert ids == sorted(set(ids))
    return [row[1:] for row in rows]


async def test_raise_one_queues_a_reminder_once_per_trigger(tx: Tx) -> None:
    assert await raise_low(tx) is True
    assert await raise_low(tx, due_at=999.0) is False  # pending: left alone
    assert await raise_low(tx, trigger="2026-12", due_at=200.0) is True
    assert without_ids(await queue(tx)) == [  # PostgreSQL spends an id on the upsert that left a row alone
        (MAIN, "low_balance", "2026-11", 100.0, "pending", None, None, None),
        (MAIN, "low_balance", "2026-12", 200.0, "pending", None, None, None),
    ]


async def test_a_sent_reminder_stays_sent_and_a_dropped_one_is_rearmed(tx: Tx) -> None:
    await raise_low(tx)
    await raise_low(tx, OTHER)
    await pushes.mark_queued(tx, [(1, 77)])
    await pushes.mark_dropped(tx, [(2, "opted_out")])
    assert await queue(tx) == [
        (1, MAIN, "low_balance", "2026-11", 100.0, "queued", None, 77, None),
        (2, OTHER, "low_balance", "2026-11", 100.0, "dropped", "opted_out", None, None),
    ]
    assert await raise_low(tx, due_at=300.0) is False
    assert await raise_low(tx, OTHER, due_at=300.0) is True
    assert await queue(tx) == [
        (1, MAIN, "low_balance", "2026-11", 100.0, "queued", None, 77, None),
        (2, OTHER, "low_balance", "2026-11", 300.0, "pending", None, None, None),
    ]


async def test_raise_many_is_raise_one_for_each(tx: Tx) -> None:
    await raise_low(tx)
    await pushes.raise_many(
        tx,
        [
            (MAIN, "low_balance", "2026-11", 500.0, 3, 60.0),  # already pending
            (OTHER, "bill_ready", "2026-10", 150.0, 3, 60.0),
        ],
    )
    assert without_ids(await queue(tx)) == [
        (MAIN, "low_balance", "2026-11", 100.0, "pending", None, None, None),
        (OTHER, "bill_ready", "2026-10", 150.0, "pending", None, None, 3),
    ]


async def test_raise_selected_raises_for_the_numbers_in_the_range(tx: Tx) -> None:
    everyone = Selection(
        sql="SELECT s.msisdn AS msisdn, :cycle AS trigger FROM subscriber s WHERE s.msisdn > :lo AND s.msisdn <= :hi",
        params={"cycle": "2026-11"},
    )

    async def sweep(low: str, high: str | None) -> int:
        return await pushes.raise_selected(
            tx, everyone, kind="low_balance", due_at=100.0, campaign=4, now=50.0, low=low, high=high
        )

    assert await sweep("", MAIN) == 1
    assert await sweep(MAIN, None) == 2
    assert await sweep("", None) == 0  # all raised before
    assert await tx.fetch("SELECT msisdn, trigger, due_at, campaign, created_at FROM push ORDER BY msisdn") == [
        (MAIN, "2026-11", 100.0, 4, 50.0),
        (OTHER, "2026-11", 100.0, 4, 50.0),
        (THIRD, "2026-11", 100.0, 4, 50.0),
    ]


async def test_due_oldest_first_up_to_a_limit_and_postponed(tx: Tx) -> None:
    await raise_low(tx, MAIN, due_at=300.0)
    await raise_low(tx, OTHER, due_at=100.0)
    await raise_low(tx, THIRD, due_at=100.0)
    assert await pushes.any_due(tx, now=99.0) is False
    assert await pushes.any_due(tx, now=100.0) is True
    assert await pushes.due(tx, now=300.0, limit=2) == [
        Due(id=2, msisdn=OTHER, kind="low_balance", trigger="2026-11"),
        Due(id=3, msisdn=THIRD, kind="low_balance", trigger="2026-11"),
    ]
    await pushes.postpone(tx, [(2, 400.0), (3, 350.0)])
    await pushes.mark_dropped(tx, [(1, "terminated")])
    assert await pushes.due(tx, now=300.0, limit=10) == []
    assert await pushes.due(tx, now=400.0, limit=10) == [
        Due(id=3, msisdn=THIRD, kind="low_balance", trigger="2026-11"),
        Due(id=2, msisdn=OTHER, kind="low_balance", trigger="2026-11"),
    ]


async def test_a_queued_reminder_is_not_due(tx: Tx) -> None:
    await raise_low(tx)
    await pushes.mark_queued(tx, [(1, 5)])
    assert await pushes.any_due(tx, now=1000.0) is False
    assert await pushes.due(tx, now=1000.0, limit=10) == []


# --- what the recheck reads ---------------------------------------------------------------------


async def test_opted_out(tx: Tx) -> None:
    await credit.opt_out(tx, OTHER, now=10.0)
    assert await pushes.opted_out(tx, [MAIN, OTHER, THIRD]) == {OTHER}
    assert await pushes.opted_out(tx, [MAIN]) == set()


async def test_bill_total(tx: Tx) -> None:
    await usage.add_bill(tx, msisdn=MAIN, cycle="2026-10", lines={"plan": 1800, "data": 650})
    assert await pushes.bill_total(tx, MAIN, "2026-10") == 2450
    assert await pushes.bill_total(tx, MAIN, "2026-09") is None
    assert await pushes.bill_total(tx, OTHER, "2026-10") is None


async def test_change_reason(tx: Tx) -> None:
    row = CreditRow(
        state="suspended", since=5.0, floor=0, restore_until=None, guard_until=None, protected_at=None, reason="balance"
    )
    change = await credit.record_transition(tx, MAIN, source="active", row=row, status="suspended")
    assert await pushes.change_reason(tx, change) == "balance"
    assert await pushes.change_reason(tx, change + 1) is None


async def test_subscriptions_between(tx: Tx) -> None:
    await accounts.add_subscription(tx, msisdn=MAIN, product="DATA10", started_at=100.0)  # runs
    await accounts.add_subscription(tx, msisdn=MAIN, product="SMS50", started_at=100.0, ends_at=200.0)
    await accounts.add_subscription(tx, msisdn=MAIN, product="VOICE", started_at=300.0)
    await accounts.add_subscription(tx, msisdn=OTHER, product="DATA20", started_at=0.0)
    assert sorted(await pushes.subscriptions_between(tx, MAIN, start=200.0, end=300.0)) == [("DATA10", 100.0)]
    assert sorted(await pushes.subscriptions_between(tx, MAIN, start=150.0, end=301.0)) == [
        ("DATA10", 100.0),
        ("SMS50", 100.0),
        ("VOICE", 300.0),
    ]


async def test_data_used_and_day_charge(tx: Tx) -> None:
    await usage.add_to_cycles(
        tx,
        [
            CycleCharge(msisdn=MAIN, cycle="2026-11", category="data", quantity=2048, charged=0),
            CycleCharge(msisdn=MAIN, cycle="2026-11", category="voice", quantity=60, charged=0),
        ],
    )
    await usage.add_day_charges(tx, [DayCharge(msisdn=MAIN, day="2026-11-23", amount=130)])
    assert await pushes.data_used(tx, MAIN, "2026-11") == 2048
    assert await pushes.data_used(tx, MAIN, "2026-10") == 0
    assert await pushes.data_used(tx, OTHER, "2026-11") == 0
    assert await pushes.day_charge(tx, MAIN, "2026-11-23") == 130
    assert await pushes.day_charge(tx, MAIN, "2026-11-22") == 0


async def test_two_instances_taking_due_reminders_at_once_take_each_once(postgres_url: str) -> None:
    """On PostgreSQL the reminders one instance has taken (in its open transaction) are skipped by another:
    each is queued or dropped by one instance only."""
    from gateway.db.migrate import upgrade

    upgrade(postgres_url)
    first, second = await open_database(postgres_url), await open_database(postgres_url)
    try:
        await add_subscribers(first, [new_subscriber(m) for m in (MAIN, OTHER, THIRD)])
        for msisdn in (MAIN, OTHER, THIRD):
            await raise_low(Tx(first), msisdn)
        async with first.transaction() as a:
            taken_by_a = await pushes.due(a, now=100.0, limit=2)
            async with second.transaction() as b:
                taken_by_b = await pushes.due(b, now=100.0, limit=10)
                await pushes.mark_dropped(b, [(d.id, "test") for d in taken_by_b])
            await pushes.mark_dropped(a, [(d.id, "test") for d in taken_by_a])
    finally:
        await first.close()
        await second.close()
    assert [d.msisdn for d in taken_by_a] == [MAIN, OTHER]
    assert [d.msisdn for d in taken_by_b] == [THIRD]
