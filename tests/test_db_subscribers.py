"""gateway.db.subscribers: a subscriber with their account, by number, one or many a query (real SQLite files)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from support.db import account_row, opened, subscriber_row

from gateway.db import accounts, subscribers
from gateway.db.errors import IntegrityError
from gateway.db.subscribers import CHUNK
from gateway.db.unit import Tx
from gateway.model.ledger import Account, Subscriber
from gateway.types import Fen

GOLD = "13800138000"
COUNT = 2 * CHUNK + 1  # three queries


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        await accounts.add_holders(
            handle,
            [
                subscriber_row(GOLD, name="李四", brand="全球通", vip="gold", plan="QQT88", created_on="2019-03-15"),
                *(subscriber_row(str(13000000000 + i), name=f"用户{i}") for i in range(COUNT)),
            ],
            [
                account_row(
                    GOLD,
                    cash=-1250,
                    gift=800,
                    gift_expires="2025-06-30",
                    credit_limit=10000,
                    valid_until="2026-01-31",
                    points=321,
                ),
                *(account_row(str(13000000000 + i), cash=i) for i in range(COUNT)),
            ],
        )
        yield handle


async def test_holder_is_the_subscriber_and_their_account_with_dates_parsed(tx: Tx) -> None:
    assert await subscribers.holder(tx, GOLD) == (
        Subscriber(
            msisdn=GOLD,
            name="李四",
            brand="全球通",
            vip="gold",
            plan="QQT88",
            status="active",
            created_on=date(2019, 3, 15),
        ),
        Account(
            cash=Fen(-1250),
            gift=Fen(800),
            gift_expires=date(2025, 6, 30),
            credit_limit=Fen(10000),
            valid_until=date(2026, 1, 31),
            points=321,
        ),
    )


async def test_an_account_without_dates_has_none_for_them(tx: Tx) -> None:
    found = await subscribers.holder(tx, "13000000007")
    assert found is not None
    assert found[0].name == "用户7"
    assert found[1] == Account(
        cash=Fen(7), gift=Fen(0), gift_expires=None, credit_limit=Fen(0), valid_until=None, points=0
    )


async def test_a_number_that_is_not_ours_has_no_holder(tx: Tx) -> None:
    assert await subscribers.holder(tx, "13999999999") is None


async def test_holders_finds_more_than_a_chunk_and_leaves_out_unknown_numbers(tx: Tx) -> None:
    numbers = [str(13000000000 + i) for i in range(COUNT)]
    found = await subscribers.holders(tx, [*numbers[:CHUNK], "13999999999", *numbers[CHUNK:], GOLD])
    assert sorted(found) == sorted([*numbers, GOLD])
    assert [found[n][1].cash for n in numbers] == list(range(COUNT))
    assert all(found[n][0].msisdn == n for n in found)
    assert found[GOLD][1].gift_expires == date(2025, 6, 30)


async def test_holders_of_no_numbers_or_only_unknown_ones_is_empty(tx: Tx) -> None:
    assert await subscribers.holders(tx, []) == {}
    assert await subscribers.holders(tx, ["13999999999", "10086"]) == {}


async def test_a_supreme_vip_is_a_level_of_the_ledger_and_another_word_is_not(ledger_at: str) -> None:
    """至尊 (revision 0005) on both engines; the CHECK still refuses a level it does not know."""
    async with opened(ledger_at) as handle:
        await accounts.add_holders(
            handle, [subscriber_row("13900139009", vip="supreme")], [account_row("13900139009", cash=0)]
        )
        assert await handle.fetch("SELECT vip FROM subscriber WHERE msisdn = '13900139009'") == [("supreme",)]
        with pytest.raises(IntegrityError):
            await accounts.add_holders(
                handle, [subscriber_row("13900139008", vip="platinum")], [account_row("13900139008", cash=0)]
            )
