"""gateway.db.credit: credit rows, standings, states, transitions and reminder opt-outs (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from support.db import new_subscriber

from gateway.db import credit
from gateway.db.database import open_database
from gateway.db.subscribers import CHUNK
from gateway.db.unit import Tx
from gateway.ledger.writes import add_subscribers
from gateway.model.credit import CreditRow, Standing
from gateway.model.ledger import Account, Subscriber
from gateway.types import Fen

MAIN = "13800138000"  # active, no credit row until a transition
HELD = "13900139000"  # suspended on import
STRANGER = "13700000000"  # not a subscriber

SUSPENDED = CreditRow(
    state="suspended", since=500.0, floor=0, restore_until=None, guard_until=None, protected_at=None, reason="balance"
)
PROTECTED = CreditRow(
    state="protected",
    since=900.0,
    floor=-5000,
    restore_until=1900.0,
    guard_until=None,
    protected_at=900.0,
    reason="ops",
)


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    db = await open_database(ledger_at)
    try:
        await add_subscribers(db, [new_subscriber(MAIN, cash=-120), new_subscriber(HELD, status="suspended")])
        yield Tx(db)
    finally:
        await db.close()


async def test_record_transition_saves_the_row_shows_the_status_and_returns_the_change(tx: Tx) -> None:
    first = await credit.record_transition(tx, MAIN, source="active", row=SUSPENDED, status="suspended")
    assert await tx.fetch("SELECT msisdn, status FROM subscriber ORDER BY msisdn") == [
        (MAIN, "suspended"),
        (HELD, "suspended"),
    ]
    second = await credit.record_transition(tx, MAIN, source="suspended", row=PROTECTED, status="active")
    assert (first, second) == (1, 2)
    assert await tx.fetch("SELECT id, msisdn, source, target, reason, changed_at FROM status_change ORDER BY id") == [
        (1, MAIN, "active", "suspended", "balance", 500.0),
        (2, MAIN, "suspended", "protected", "ops", 900.0),
    ]
    assert await credit.credit_rows(tx, [MAIN]) == {MAIN: PROTECTED}  # the second row replaced the first
    assert await tx.fetch("SELECT status FROM subscriber WHERE msisdn = ?", [MAIN]) == [("active",)]


async def test_credit_rows_only_of_numbers_seen(tx: Tx) -> None:
    assert await credit.credit_rows(tx, [MAIN, HELD]) == {}
    await credit.record_transition(tx, HELD, source="suspended", row=SUSPENDED, status="suspended")
    assert await credit.credit_rows(tx, [MAIN, HELD, STRANGER]) == {HELD: SUSPENDED}
    assert await credit.credit_rows(tx, []) == {}


async def test_credit_rows_of_more_numbers_than_a_query_takes(tx: Tx) -> None:
    numbers = [str(15000000000 + n) for n in range(CHUNK + 3)]
    await tx.execute_many(
        "INSERT INTO credit (msisdn, state, since, floor) VALUES (?, 'active', ?, ?)",
        [(m, float(n), -n) for n, m in enumerate(numbers)],
    )
    found = await credit.credit_rows(tx, numbers)
    assert len(found) == CHUNK + 3
    last = CreditRow(
        state="active", since=502.0, floor=-502, restore_until=None, guard_until=None, protected_at=None, reason=""
    )
    assert found[numbers[-1]] == last


def subscriber(msisdn: str, status: str) -> Subscriber:
    return Subscriber(
        msisdn=msisdn, name="张三", brand="神州行", vip="none", plan="SZX", status=status, created_on=date(2025, 1, 1)
    )


def account(cash: int) -> Account:
    return Account(cash=Fen(cash), gift=Fen(0), gift_expires=None, credit_limit=Fen(0), valid_until=None, points=0)


async def test_standings_of_subscribers_with_their_credit_row(tx: Tx) -> None:
    await credit.record_transition(tx, MAIN, source="suspended", row=PROTECTED, status="active")
    found = await credit.standings(tx, [MAIN, HELD, STRANGER])
    assert found == {
        MAIN: Standing(subscriber=subscriber(MAIN, "active"), account=account(-120), credit=PROTECTED),
        HELD: Standing(subscriber=subscriber(HELD, "suspended"), account=account(0), credit=None),
    }
    assert (found[MAIN].state, found[HELD].state) == ("protected", "suspended")


async def test_states_prefer_the_credit_row_to_the_status(tx: Tx) -> None:
    assert await credit.states(tx, [MAIN, HELD, STRANGER]) == {MAIN: "active", HELD: "suspended"}
    await credit.record_transition(tx, MAIN, source="active", row=PROTECTED, status="active")
    assert await credit.states(tx, [MAIN, HELD]) == {MAIN: "protected", HELD: "suspended"}


async def test_opt_out_twice_is_one_row(tx: Tx) -> None:
    assert await credit.opt_out(tx, MAIN, now=100.0) is True
    assert await credit.opt_out(tx, MAIN, now=200.0) is False
    assert await tx.fetch("SELECT msisdn, since FROM push_opt_out") == [(MAIN, 100.0)]


async def test_opt_in_after_an_opt_out(tx: Tx) -> None:
    assert await credit.opt_in(tx, MAIN) is False  # never stopped
    await credit.opt_out(tx, MAIN, now=100.0)
    await credit.opt_out(tx, HELD, now=100.0)
    assert await credit.opt_in(tx, MAIN) is True
    assert await credit.opt_in(tx, MAIN) is False
    assert await tx.fetch("SELECT msisdn FROM push_opt_out") == [(HELD,)]
