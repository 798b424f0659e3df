"""gateway.db.subscriptions: packages running, cancelled and reinstated; accounts.draw_as_read (real SQLite files)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import add_holder, opened

from gateway.db import accounts, subscriptions
from gateway.db.unit import Tx

SUBSCRIBER = "13800138000"
OTHER = "13900139000"
NOW = 1_000.0


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        yield handle


async def subscribe(tx: Tx, product: str, *, ends_at: float | None = None, msisdn: str = SUBSCRIBER) -> int:
    await accounts.add_subscription(tx, msisdn=msisdn, product=product, started_at=100.0, ends_at=ends_at)
    rows = await tx.fetch("SELECT MAX(id) FROM subscription")
    return int(rows[0][0])


async def ends(tx: Tx) -> list[tuple[int, float | None]]:
    return [(r[0], r[1]) for r in await tx.fetch("SELECT id, ends_at FROM subscription ORDER BY id")]


async def test_running_is_the_oldest_subscription_not_cancelled(tx: Tx) -> None:
    await subscribe(tx, "GPRS10", ends_at=NOW + 50)  # cancelled
    await subscribe(tx, "GPRS10", msisdn=OTHER)
    await subscribe(tx, "DX6")
    oldest = await subscribe(tx, "GPRS10")
    await subscribe(tx, "GPRS10")
    assert await subscriptions.running(tx, SUBSCRIBER, "GPRS10") == oldest == 4


async def test_nothing_running_is_none(tx: Tx) -> None:
    await subscribe(tx, "GPRS10", ends_at=NOW + 50)
    await subscribe(tx, "DX6", msisdn=OTHER)
    assert await subscriptions.running(tx, SUBSCRIBER, "GPRS10") is None
    assert await subscriptions.running(tx, SUBSCRIBER, "DX6") is None


async def test_cancelled_but_running_until_its_end(tx: Tx) -> None:
    await subscribe(tx, "GPRS10", ends_at=NOW + 50)
    await subscribe(tx, "DX6", ends_at=NOW)  # ends now: no longer runs
    await subscribe(tx, "GPRS5")  # not cancelled
    assert await subscriptions.cancelled_but_running(tx, SUBSCRIBER, "GPRS10", NOW) is True
    assert await subscriptions.cancelled_but_running(tx, SUBSCRIBER, "GPRS10", NOW + 50) is False
    assert await subscriptions.cancelled_but_running(tx, SUBSCRIBER, "DX6", NOW) is False
    assert await subscriptions.cancelled_but_running(tx, SUBSCRIBER, "GPRS5", NOW) is False
    assert await subscriptions.cancelled_but_running(tx, OTHER, "GPRS10", NOW) is False


async def test_reinstate_keeps_on_the_latest_cancelled_one_that_still_runs(tx: Tx) -> None:
    await subscribe(tx, "GPRS10", ends_at=NOW + 900)
    await subscribe(tx, "GPRS10", ends_at=NOW + 500)
    await subscribe(tx, "GPRS10", ends_at=NOW - 1)  # over
    await subscribe(tx, "GPRS10", ends_at=NOW + 700, msisdn=OTHER)
    assert await subscriptions.reinstate(tx, SUBSCRIBER, "GPRS10", NOW) is True
    assert await ends(tx) == [(1, NOW + 900), (2, None), (3, NOW - 1), (4, NOW + 700)]


async def test_reinstate_without_a_cancelled_one_still_running_changes_nothing(tx: Tx) -> None:
    await subscribe(tx, "GPRS10", ends_at=NOW)
    await subscribe(tx, "DX6", ends_at=NOW + 500)
    assert await subscriptions.reinstate(tx, SUBSCRIBER, "GPRS10", NOW) is False
    assert await ends(tx) == [(1, NOW), (2, NOW + 500)]


async def test_end_at_cancels_that_subscription_only(tx: Tx) -> None:
    first = await subscribe(tx, "GPRS10")
    await subscribe(tx, "DX6")
    await subscriptions.end_at(tx, first, NOW + 86_400)
    assert await ends(tx) == [(1, NOW + 86_400), (2, None)]
    assert await subscriptions.running(tx, SUBSCRIBER, "GPRS10") is None


async def books(tx: Tx, msisdn: str) -> tuple[int, int]:
    rows = await tx.fetch("SELECT gift, cash FROM account WHERE msisdn = :msisdn", {"msisdn": msisdn})
    return rows[0][0], rows[0][1]


async def test_draw_as_read_takes_from_books_that_still_stand_as_read(tx: Tx) -> None:
    await add_holder(tx, SUBSCRIBER, gift=500, cash=1000)
    await add_holder(tx, OTHER, gift=500, cash=1000)
    drawn = await accounts.draw_as_read(tx, SUBSCRIBER, gift=500, cash=1000, from_gift=500, from_cash=500)
    assert drawn is True
    assert await books(tx, SUBSCRIBER) == (0, 500)
    assert await books(tx, OTHER) == (500, 1000)


async def test_draw_as_read_refuses_when_the_books_changed(tx: Tx) -> None:
    await add_holder(tx, SUBSCRIBER, gift=500, cash=1000)
    await accounts.draw_as_read(tx, SUBSCRIBER, gift=500, cash=1000, from_gift=0, from_cash=300)
    assert await accounts.draw_as_read(tx, SUBSCRIBER, gift=500, cash=1000, from_gift=0, from_cash=300) is False
    assert await accounts.draw_as_read(tx, SUBSCRIBER, gift=400, cash=700, from_gift=0, from_cash=300) is False
    assert await books(tx, SUBSCRIBER) == (500, 700)
    assert await accounts.draw_as_read(tx, "13999999999", gift=0, cash=0, from_gift=0, from_cash=1) is False
