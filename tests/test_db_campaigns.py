"""gateway.db.campaigns: campaigns and their tallies, whom each sweep selects, the scheduler's jobs (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from support.db import new_subscriber

from gateway.db import accounts, campaigns, credit, pushes, usage
from gateway.db.campaigns import Campaign, Tally
from gateway.db.database import open_database
from gateway.db.pushes import Selection
from gateway.db.unit import Tx
from gateway.ledger.writes import add_subscribers
from gateway.model.credit import CreditRow
from gateway.model.usage import CycleCharge

NOW = 1_795_400_000.0
TODAY = "2026-11-23"

LOW = "13800000001"  # active, 5.00 yuan
RICH = "13800000002"  # active, 50.00 yuan
GIFT_TODAY = "13800000003"  # 5.00 cash and 8.00 gift spendable to the end of today
GIFT_GONE = "13800000004"  # 5.00 cash and 8.00 gift that expired yesterday
POSTPAID = "13800000005"  # nothing, but a 20.00 credit limit
SUSPENDED = "13800000006"  # suspended, nothing
QUIET = "13800000007"  # active, nothing, opted out of reminders
PROTECTED = "13800000008"  # active on file, nothing, but in a protective restore
TERMINATED = "13800000009"  # terminated, nothing


def credit_row(
    state: str, since: float, *, reason: str = "balance", restore_until: float | None = None, guard: float | None = None
) -> CreditRow:
    return CreditRow(
        state=state,
        since=since,
        floor=0,
        restore_until=restore_until,
        guard_until=guard,
        protected_at=None,
        reason=reason,
    )


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    db = await open_database(ledger_at)
    try:
        await add_subscribers(
            db,
            [
                new_subscriber(LOW, cash=500),
                new_subscriber(RICH, cash=5000),
                new_subscriber(GIFT_TODAY, cash=500, gift=800, gift_expires=date(2026, 11, 23)),
                new_subscriber(GIFT_GONE, cash=500, gift=800, gift_expires=date(2026, 11, 22)),
                new_subscriber(POSTPAID, credit_limit=2000),
                new_subscriber(SUSPENDED, status="suspended"),
                new_subscriber(QUIET),
                new_subscriber(PROTECTED),
                new_subscriber(TERMINATED, status="terminated"),
            ],
        )
        unit = Tx(db)
        await credit.opt_out(unit, QUIET, now=NOW)
        await credit.record_transition(
            unit,
            PROTECTED,
            source="suspended",
            row=credit_row("protected", NOW, restore_until=NOW + 10),
            status="active",
        )
        yield unit
    finally:
        await db.close()


async def selected(tx: Tx, selection: Selection) -> list[tuple[str, str]]:
    """(msisdn, trigger) of those the selection raises a reminder for, over all the numbers, at NOW."""
    raised = await pushes.raise_selected(
        tx, selection, kind="test", due_at=NOW, campaign=None, now=NOW, low="", high=None
    )
    rows = [(str(m), str(t)) for m, t in await tx.fetch("SELECT msisdn, trigger FROM push ORDER BY msisdn")]
    assert raised == len(rows)
    return rows


# --- campaigns ------------------------------------------------------------------------------------


async def test_create_find_and_finish(tx: Tx) -> None:
    first = await campaigns.create(tx, "low_balance", now=NOW)
    second = await campaigns.create(tx, "bill_ready", now=NOW + 1)
    assert (first, second) == (1, 2)
    assert await campaigns.find(tx, first) == Campaign(kind="low_balance", started_at=NOW, finished_at=None)
    await campaigns.finish(tx, first, selected=42, now=NOW + 60)
    assert await campaigns.find(tx, first) == Campaign(kind="low_balance", started_at=NOW, finished_at=NOW + 60)
    assert await campaigns.find(tx, second) == Campaign(kind="bill_ready", started_at=NOW + 1, finished_at=None)
    assert await tx.fetch("SELECT id, selected FROM campaign ORDER BY id") == [(1, 42), (2, 0)]
    assert await campaigns.find(tx, 3) is None


async def test_tally_of_a_campaign_without_reminders_is_all_zeros(tx: Tx) -> None:
    campaign = await campaigns.create(tx, "low_balance", now=NOW)
    assert await campaigns.tally(tx, campaign) == Tally(
        selected=0, pending=0, queued=0, dropped=0, sent=0, delivered=0, failed=0, in_flight=0
    )


async def test_tally_counts_reminders_and_their_messages(tx: Tx) -> None:
    campaign = await campaigns.create(tx, "low_balance", now=NOW)
    other = await campaigns.create(tx, "low_balance", now=NOW)
    await pushes.raise_many(tx, [(LOW, "low_balance", f"t{n}", NOW, campaign, NOW) for n in range(1, 7)])
    await pushes.raise_many(tx, [(LOW, "low_balance", "elsewhere", NOW, other, NOW)])
    await tx.execute_many(
        "INSERT INTO mt (id, source_addr, destination_addr, text, created_at, status, delivery_stat)"
        " VALUES (?, '10086', ?, '余额不足', ?, ?, ?)",
        [
            (11, LOW, NOW, "queued", None),
            (12, LOW, NOW, "sent", "DELIVRD"),
            (13, LOW, NOW, "sent", "UNDELIV"),
            (14, LOW, NOW, "failed", None),
        ],
    )
    await pushes.mark_dropped(tx, [(2, "opted_out")])
    await pushes.mark_queued(tx, [(3, 11), (4, 12), (5, 13), (6, 14)])
    assert await campaigns.tally(tx, campaign) == Tally(
        selected=6, pending=1, queued=4, dropped=1, sent=2, delivered=1, failed=2, in_flight=1
    )


# --- whom each sweep selects ----------------------------------------------------------------------


async def test_range_end(tx: Tx) -> None:
    assert await campaigns.range_end(tx, "", size=2) == RICH
    assert await campaigns.range_end(tx, RICH, size=7) == TERMINATED
    assert await campaigns.range_end(tx, RICH, size=8) is None


async def test_low_balance_selects_the_active_opted_in_below_the_threshold(tx: Tx) -> None:
    selection = campaigns.low_balance(cycle="2026-11", today=TODAY, threshold=1000)
    assert await selected(tx, selection) == [(LOW, "2026-11"), (GIFT_GONE, "2026-11")]


async def test_data_periodic_selects_holders_of_a_running_data_package(tx: Tx) -> None:
    await accounts.add_subscription(tx, msisdn=LOW, product="DATA10", started_at=NOW - 100)
    await accounts.add_subscription(tx, msisdn=RICH, product="DATA20", started_at=NOW - 100, ends_at=NOW + 100)
    await accounts.add_subscription(tx, msisdn=GIFT_TODAY, product="DATA10", started_at=NOW - 100, ends_at=NOW)
    await accounts.add_subscription(tx, msisdn=GIFT_GONE, product="DATA10", started_at=NOW + 1)
    await accounts.add_subscription(tx, msisdn=POSTPAID, product="SMS50", started_at=NOW - 100)
    await accounts.add_subscription(tx, msisdn=QUIET, product="DATA10", started_at=NOW - 100)
    await accounts.add_subscription(tx, msisdn=SUSPENDED, product="DATA10", started_at=NOW - 100)
    selection = campaigns.data_periodic(day=TODAY, packages=["DATA10", "DATA20"])
    assert await selected(tx, selection) == [(LOW, TODAY), (RICH, TODAY)]


async def test_bill_ready_selects_those_not_terminated_with_a_bill(tx: Tx) -> None:
    for msisdn in (LOW, SUSPENDED, QUIET, TERMINATED):
        await usage.add_bill(tx, msisdn=msisdn, cycle="2026-10", lines={"plan": 1800})
    await usage.add_bill(tx, msisdn=RICH, cycle="2026-09", lines={"plan": 1800})
    assert await selected(tx, campaigns.bill_ready(cycle="2026-10")) == [(LOW, "2026-10"), (SUSPENDED, "2026-10")]


async def test_termination_warning_selects_those_suspended_in_the_window(tx: Tx) -> None:
    for msisdn, row in (
        (LOW, credit_row("suspended", 1500.7)),
        (RICH, credit_row("suspended", 1000.0)),  # the window's first instant
        (GIFT_TODAY, credit_row("suspended", 2000.0)),  # too recent
        (GIFT_GONE, credit_row("suspended", 999.0)),  # too long ago
        (POSTPAID, credit_row("suspended", 1500.0, reason="operator")),
    ):
        await credit.record_transition(tx, msisdn, source="active", row=row, status="suspended")
    selection = campaigns.termination_warning(warn_before=2000.0, ends_before=1000.0)
    assert await selected(tx, selection) == [(LOW, "since:1500"), (RICH, "since:1000")]


# --- the scheduler's jobs -------------------------------------------------------------------------


async def test_claim_daily_runs_once_per_day(tx: Tx) -> None:
    assert await campaigns.claim_daily(tx, TODAY) is True
    assert await campaigns.claim_daily(tx, TODAY) is False
    assert await campaigns.claim_daily(tx, "2026-11-24") is True
    assert await tx.fetch("SELECT job, day FROM schedule_run ORDER BY day") == [
        ("daily", TODAY),
        ("daily", "2026-11-24"),
    ]


async def test_adopt_uncontrolled_gives_credit_control_those_not_active(tx: Tx) -> None:
    assert await campaigns.adopt_uncontrolled(tx, now=NOW) == 2
    assert await campaigns.adopt_uncontrolled(tx, now=NOW + 1) == 0
    assert await credit.states(tx, [SUSPENDED, TERMINATED, PROTECTED, LOW]) == {
        SUSPENDED: "suspended",
        TERMINATED: "terminated",
        PROTECTED: "protected",
        LOW: "active",
    }
    assert await tx.fetch(
        "SELECT msisdn, since FROM credit WHERE msisdn IN (?, ?) ORDER BY msisdn", [SUSPENDED, TERMINATED]
    ) == [
        (SUSPENDED, NOW),
        (TERMINATED, NOW),
    ]


async def test_restores_guards_and_suspensions_run_out(tx: Tx) -> None:
    await credit.record_transition(
        tx, LOW, source="protected", row=credit_row("active", NOW, guard=NOW + 5), status="active"
    )
    await credit.record_transition(tx, RICH, source="active", row=credit_row("suspended", NOW - 50), status="suspended")
    await credit.record_transition(
        tx, POSTPAID, source="active", row=credit_row("suspended", NOW - 50, reason="operator"), status="suspended"
    )
    assert await campaigns.restores_run_out(tx, now=NOW + 9) == []
    assert await campaigns.restores_run_out(tx, now=NOW + 10) == [PROTECTED]
    assert await campaigns.guards_run_out(tx, now=NOW + 4) == []
    assert await campaigns.guards_run_out(tx, now=NOW + 5) == [LOW]
    assert await campaigns.suspended_before(tx, before=NOW - 50) == []
    assert await campaigns.suspended_before(tx, before=NOW - 49) == [RICH]

    await campaigns.clear_guards(tx, now=NOW + 4)
    assert (await credit.credit_rows(tx, [LOW]))[LOW].guard_until == NOW + 5
    await campaigns.clear_guards(tx, now=NOW + 5)
    assert (await credit.credit_rows(tx, [LOW]))[LOW].guard_until is None
    assert await campaigns.guards_run_out(tx, now=NOW + 5) == []


async def test_prepaid_expired(tx: Tx) -> None:
    await accounts.set_valid_until(tx, LOW, date(2026, 11, 22))
    await accounts.set_valid_until(tx, RICH, date(2026, 11, 23))
    await accounts.set_valid_until(tx, SUSPENDED, date(2026, 1, 1))
    assert await campaigns.prepaid_expired(tx, today=TODAY, plans=["SZX"]) == [LOW]
    assert await campaigns.prepaid_expired(tx, today=TODAY, plans=["DGDD"]) == []


async def test_close_month_bills_fees_and_charged_usage_once(tx: Tx) -> None:
    await usage.add_fee(tx, msisdn=LOW, cycle="2026-10", category="plan", product="SZX", amount=1800, charged_at=NOW)
    await usage.add_fee(tx, msisdn=LOW, cycle="2026-10", category="data", product="D10", amount=1000, charged_at=NOW)
    await usage.add_fee(tx, msisdn=LOW, cycle="2026-11", category="plan", product="SZX", amount=1800, charged_at=NOW)
    await usage.add_to_cycles(
        tx,
        [
            CycleCharge(msisdn=LOW, cycle="2026-10", category="data", quantity=9000, charged=250),
            CycleCharge(msisdn=LOW, cycle="2026-10", category="voice", quantity=60, charged=0),
            CycleCharge(msisdn=RICH, cycle="2026-10", category="sms", quantity=3, charged=30),
        ],
    )
    await usage.add_bill(tx, msisdn=GIFT_TODAY, cycle="2026-10", lines={"plan": 100})
    await usage.add_fee(
        tx, msisdn=GIFT_TODAY, cycle="2026-10", category="plan", product="SZX", amount=1800, charged_at=NOW
    )
    await tx.execute("UPDATE account SET cash = -2000, points = 100 WHERE msisdn = :m", {"m": LOW})
    await tx.execute("UPDATE account SET points = 7 WHERE msisdn = :m", {"m": GIFT_TODAY})
    assert await campaigns.close_month(tx, "2026-10", points_per_yuan=2) == 2
    assert await campaigns.close_month(tx, "2026-10", points_per_yuan=2) == 0
    # LOW: 30.50 billed, 20.00 of it still owed: 10 whole yuan paid, 20 points; RICH: 0.30, no whole yuan.
    assert await tx.fetch("SELECT msisdn, total, points FROM bill WHERE cycle = '2026-10' ORDER BY msisdn") == [
        (LOW, 3050, 20),
        (RICH, 30, 0),
        (GIFT_TODAY, 100, 0),  # made before (by the seed): it earns nothing now
    ]
    assert await tx.fetch(
        "SELECT msisdn, points FROM account WHERE msisdn IN (:a, :b, :c) ORDER BY msisdn",
        {"a": LOW, "b": RICH, "c": GIFT_TODAY},
    ) == [(LOW, 120), (RICH, 0), (GIFT_TODAY, 7)]
    assert await tx.fetch(
        "SELECT msisdn, category, amount FROM bill_line WHERE cycle = '2026-10' ORDER BY msisdn, category"
    ) == [
        (LOW, "data", 250),  # beyond the package
        (LOW, "data_package", 1000),  # the package's fee, a line of its own
        (LOW, "plan", 1800),
        (RICH, "sms", 30),
        (GIFT_TODAY, "plan", 100),
    ]
