"""gateway.db.accounts: new holders, subscriptions, payments, validity dates and draws on the books (real SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from support.db import account_row, opened, subscriber_row

from gateway.db import accounts
from gateway.db.errors import IntegrityError
from gateway.db.unit import Tx
from gateway.model.usage import Drawn

MAIN = "13800138000"
OTHER = "13900139000"


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as unit:
        await accounts.add_holders(
            unit,
            [
                subscriber_row(MAIN, plan="SZX"),
                subscriber_row(OTHER, name="李四", brand="全球通", plan="QQT", vip="gold"),
            ],
            [
                account_row(MAIN, cash=5000, gift=1200, valid_until="2026-03-31"),
                account_row(OTHER, cash=-300, credit_limit=10000),
            ],
        )
        yield unit


async def test_add_holders_writes_every_column_of_both_tables(tx: Tx) -> None:
    assert await tx.fetch(f"SELECT {accounts.SUBSCRIBER} FROM subscriber ORDER BY msisdn") == [
        (MAIN, "张三", "神州行", "none", "SZX", "active", None, None, None, "2025-01-01", None),
        (OTHER, "李四", "全球通", "gold", "QQT", "active", None, None, None, "2025-01-01", None),
    ]
    assert await tx.fetch(f"SELECT {accounts.ACCOUNT} FROM account ORDER BY msisdn") == [
        (MAIN, 5000, 1200, None, 0, "2026-03-31", 0),
        (OTHER, -300, 0, None, 10000, None, 0),
    ]


async def test_add_holders_refuses_a_number_taken(tx: Tx) -> None:
    with pytest.raises(IntegrityError):
        await accounts.add_holders(tx, [subscriber_row(MAIN)], [])


async def test_add_subscription_runs_or_ends(tx: Tx) -> None:
    await accounts.add_subscription(tx, msisdn=MAIN, product="DATA10", started_at=100.0)
    await accounts.add_subscription(tx, msisdn=MAIN, product="SMS50", started_at=200.0, ends_at=300.0)
    assert await tx.fetch("SELECT id, msisdn, product, started_at, ends_at FROM subscription ORDER BY id") == [
        (1, MAIN, "DATA10", 100.0, None),
        (2, MAIN, "SMS50", 200.0, 300.0),
    ]


async def test_add_payment_lists_it_and_leaves_the_books_alone(tx: Tx) -> None:
    await accounts.add_payment(tx, msisdn=MAIN, amount=2000, channel="wechat", paid_at=150.5)
    assert await tx.fetch("SELECT msisdn, amount, channel, paid_at, reference FROM payment") == [
        (MAIN, 2000, "wechat", 150.5, None)
    ]
    assert await tx.fetch("SELECT cash FROM account WHERE msisdn = ?", [MAIN]) == [(5000,)]


async def test_plan_and_validity(tx: Tx) -> None:
    assert await accounts.plan_and_validity(tx, MAIN) == ("SZX", date(2026, 3, 31))
    assert await accounts.plan_and_validity(tx, OTHER) == ("QQT", None)
    assert await accounts.plan_and_validity(tx, "13700000000") is None


async def test_set_valid_until_moves_only_that_account(tx: Tx) -> None:
    await accounts.set_valid_until(tx, MAIN, date(2026, 4, 30))
    assert await accounts.plan_and_validity(tx, MAIN) == ("SZX", date(2026, 4, 30))
    assert await accounts.plan_and_validity(tx, OTHER) == ("QQT", None)


async def test_draw_takes_from_cash_and_gift_of_each_account(tx: Tx) -> None:
    await accounts.draw(tx, [Drawn(msisdn=MAIN, cash=700, gift=1200), Drawn(msisdn=OTHER, cash=450, gift=0)])
    assert await tx.fetch("SELECT msisdn, cash, gift FROM account ORDER BY msisdn") == [
        (MAIN, 4300, 0),
        (OTHER, -750, 0),
    ]


async def test_draw_cannot_take_the_gift_book_below_zero(tx: Tx) -> None:
    with pytest.raises(IntegrityError):
        await accounts.draw(tx, [Drawn(msisdn=MAIN, cash=0, gift=1201)])
