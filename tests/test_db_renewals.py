"""gateway.db.renewals: who is renewed for a month, what they hold at its start, the month's job (both engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import account_row, opened, subscriber_row

from gateway.db import accounts, renewals
from gateway.db.unit import Tx

START = 1_796_054_400.0  # 2026-12-01 00:00 in Shanghai


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        rows = [
            subscriber_row("13800000001"),
            subscriber_row("13800000002", status="suspended"),
            subscriber_row("13800000003", status="terminated"),
            subscriber_row("13800000004", created_on="2026-12-01"),  # made in the month: not renewed for it
            subscriber_row("13800000005"),
        ]
        await accounts.add_holders(handle, rows, [account_row(str(r["msisdn"])) for r in rows])
        yield handle


async def test_candidates_are_the_numbers_not_terminated_made_before_the_month_and_not_renewed(tx: Tx) -> None:
    found = await renewals.candidates(tx, cycle="2026-12", before="2026-12-01", after="", limit=10)
    assert found == ["13800000001", "13800000002", "13800000005"]
    assert await renewals.claim(tx, "13800000002", "2026-12", now=START)
    assert not await renewals.claim(tx, "13800000002", "2026-12", now=START + 1)  # renewed once
    assert await renewals.claim(tx, "13800000002", "2027-01", now=START)  # another month
    assert await renewals.candidates(tx, cycle="2026-12", before="2026-12-01", after="", limit=10) == [
        "13800000001",
        "13800000005",
    ]
    assert await renewals.candidates(tx, cycle="2026-12", before="2026-12-01", after="13800000001", limit=1) == [
        "13800000005"
    ]


async def test_held_at_the_start_are_the_packages_that_run_on_past_it(tx: Tx) -> None:
    msisdn = "13800000001"
    for product, started_at, ends_at in (
        ("GPRS10", START - 86400 * 20, None),  # runs on
        ("CL", START - 86400 * 20, START),  # cancelled in November: ends at the start
        ("LDTX", START - 86400 * 40, START + 86400 * 31),  # cancelled in December: runs through it
        ("DX3", START + 3600, None),  # ordered in December: its month is paid
    ):
        await accounts.add_subscription(tx, msisdn=msisdn, product=product, started_at=started_at, ends_at=ends_at)
    assert [product for _, product in await renewals.held_at(tx, msisdn, START)] == ["LDTX", "GPRS10"]


async def test_the_months_job_is_recorded_once_and_the_newest_is_the_last(tx: Tx) -> None:
    assert await renewals.last_month(tx) is None
    await renewals.record_month(tx, "2026-11")
    await renewals.record_month(tx, "2026-12")
    await renewals.record_month(tx, "2026-12")
    assert await renewals.last_month(tx) == "2026-12"
    await tx.execute("INSERT INTO schedule_run (job, day) VALUES ('daily', '2027-05-01')")
    assert await renewals.last_month(tx) == "2026-12"  # the daily jobs are not months
