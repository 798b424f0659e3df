"""gateway.db.usage: rated records, overlaps, the error list, cycle usage, day charges, fees and bills (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.db import usage
from gateway.db.database import open_database
from gateway.db.errors import IntegrityError
from gateway.db.unit import Tx
from gateway.model.usage import CycleCharge, DayCharge, RatedRecord, Refusal, UsageRecord

MAIN = "13800138000"
OTHER = "13900139000"
NOW = 1_000_000.0


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    db = await open_database(ledger_at)
    try:
        yield Tx(db)
    finally:
        await db.close()


def record(
    record_id: str, *, msisdn: str = MAIN, category: str = "voice", start: float = 1000.0, duration: int = 60
) -> UsageRecord:
    return UsageRecord(
        id=record_id, msisdn=msisdn, category=category, quantity=duration, start=start, duration=duration
    )


def rated(r: UsageRecord, *, granted: int | None = None, charged: int = 0) -> RatedRecord:
    return RatedRecord(record=r, cycle="2026-11", granted=r.quantity if granted is None else granted, charged=charged)


async def test_add_records_and_rated_ids(tx: Tx) -> None:
    await usage.add_records(
        tx, [rated(record("r1"), charged=30), rated(record("r2", start=2000.0), granted=40)], now=NOW
    )
    assert await tx.fetch(
        "SELECT id, msisdn, category, cycle, quantity, granted, charged, start_at, end_at, rated_at"
        " FROM usage_record ORDER BY id"
    ) == [
        ("r1", MAIN, "voice", "2026-11", 60, 60, 30, 1000.0, 1060.0, NOW),
        ("r2", MAIN, "voice", "2026-11", 60, 40, 0, 2000.0, 2060.0, NOW),
    ]
    assert await usage.rated_ids(tx, ["r2", "r3", "r1"]) == {"r1", "r2"}
    assert await usage.rated_ids(tx, ["r3"]) == set()


async def test_a_record_id_is_rated_once(tx: Tx) -> None:
    await usage.add_records(tx, [rated(record("r1"))], now=NOW)
    with pytest.raises(IntegrityError):
        await usage.add_records(tx, [rated(record("r1", start=5000.0))], now=NOW)


async def test_overlapped_finds_a_record_of_the_same_number_and_category_only(tx: Tx) -> None:
    await usage.add_records(tx, [rated(record("r1", start=1000.0, duration=100))], now=NOW)  # [1000, 1100)

    async def overlap(start: float, end: float, *, msisdn: str = MAIN, category: str = "voice") -> str | None:
        return await usage.overlapped(tx, msisdn=msisdn, category=category, start=start, end=end, longest=500.0)

    assert await overlap(1050.0, 1200.0) == "r1"
    assert await overlap(900.0, 1001.0) == "r1"
    assert await overlap(1100.0, 1200.0) is None  # touching its end
    assert await overlap(900.0, 1000.0) is None  # touching its start
    assert await overlap(1050.0, 1200.0, msisdn=OTHER) is None
    assert await overlap(1050.0, 1200.0, category="data") is None


async def test_overlapped_looks_back_no_further_than_the_longest_record(tx: Tx) -> None:
    await usage.add_records(tx, [rated(record("r1", start=1000.0, duration=100))], now=NOW)
    found = await usage.overlapped(tx, msisdn=MAIN, category="voice", start=1050.0, end=1060.0, longest=40.0)
    assert found is None  # a record that began more than 40 s before 1050 is not looked at


async def test_add_refusals_puts_them_on_the_error_list(tx: Tx) -> None:
    whole = record("r1", duration=300_000)
    part = record("r2", category="data")
    await usage.add_refusals(
        tx,
        [
            Refusal(record=whole, quantity=300_000, reason="too_long", detail="lasts 300000 s"),
            Refusal(record=part, quantity=20, reason="insufficient_balance", detail="20 of 60 not granted"),
        ],
        now=NOW,
    )
    assert await tx.fetch(
        "SELECT id, record_id, msisdn, category, quantity, reason, detail, rejected_at FROM usage_reject ORDER BY id"
    ) == [
        (1, "r1", MAIN, "voice", 300_000, "too_long", "lasts 300000 s", NOW),
        (2, "r2", MAIN, "data", 20, "insufficient_balance", "20 of 60 not granted", NOW),
    ]


async def test_add_to_cycles_adds_up_by_number_cycle_and_category(tx: Tx) -> None:
    await usage.add_to_cycles(
        tx,
        [
            CycleCharge(msisdn=MAIN, cycle="2026-11", category="data", quantity=1024, charged=0),
            CycleCharge(msisdn=MAIN, cycle="2026-11", category="voice", quantity=60, charged=15),
        ],
    )
    await usage.add_to_cycles(
        tx,
        [
            CycleCharge(msisdn=MAIN, cycle="2026-11", category="data", quantity=512, charged=300),
            CycleCharge(msisdn=MAIN, cycle="2026-12", category="data", quantity=10, charged=0),
        ],
    )
    assert await tx.fetch("SELECT msisdn, cycle, category, quantity, charged FROM usage ORDER BY cycle, category") == [
        (MAIN, "2026-11", "data", 1536, 300),
        (MAIN, "2026-11", "voice", 60, 15),
        (MAIN, "2026-12", "data", 10, 0),
    ]


async def test_day_charges_add_up_and_are_read_by_day_and_number(tx: Tx) -> None:
    await usage.add_day_charges(
        tx,
        [
            DayCharge(msisdn=MAIN, day="2026-11-23", amount=120),
            DayCharge(msisdn=OTHER, day="2026-11-23", amount=5),
            DayCharge(msisdn=MAIN, day="2026-11-22", amount=999),
        ],
    )
    await usage.add_day_charges(tx, [DayCharge(msisdn=MAIN, day="2026-11-23", amount=80)])
    assert await usage.day_charges(tx, "2026-11-23", [MAIN, OTHER, "13700000000"]) == {MAIN: 200, OTHER: 5}
    assert await usage.day_charges(tx, "2026-11-23", [OTHER]) == {OTHER: 5}
    assert await usage.day_charges(tx, "2026-11-21", [MAIN]) == {}


async def test_add_fee(tx: Tx) -> None:
    await usage.add_fee(
        tx, msisdn=MAIN, cycle="2026-11", category="plan", product="DGDD18", amount=1800, charged_at=NOW
    )
    await usage.add_fee(
        tx, msisdn=MAIN, cycle="2026-11", category="data", product="DATA10", amount=1000, charged_at=7.5
    )
    assert await tx.fetch("SELECT id, msisdn, cycle, category, product, amount, charged_at FROM fee ORDER BY id") == [
        (1, MAIN, "2026-11", "plan", "DGDD18", 1800, NOW),
        (2, MAIN, "2026-11", "data", "DATA10", 1000, 7.5),
    ]


async def test_add_bill_totals_its_lines(tx: Tx) -> None:
    await usage.add_bill(tx, msisdn=MAIN, cycle="2026-10", lines={"plan": 1800, "data": 1000, "voice": 235})
    assert await tx.fetch("SELECT msisdn, cycle, total FROM bill") == [(MAIN, "2026-10", 3035)]
    assert await tx.fetch("SELECT msisdn, cycle, category, amount FROM bill_line ORDER BY category") == [
        (MAIN, "2026-10", "data", 1000),
        (MAIN, "2026-10", "plan", 1800),
        (MAIN, "2026-10", "voice", 235),
    ]
