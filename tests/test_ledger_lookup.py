"""gateway.ledger.lookup: concurrent look-ups share queries and each gets its own subscriber or refusal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiosqlite
import pytest

from gateway.db.database import open_database
from gateway.db.subscribers import CHUNK
from gateway.db.unit import Database, Params
from gateway.errors import UnknownSubscriber
from gateway.ledger.lookup import SubscriberLookup
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber

COUNT = 1200  # more than two chunks


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_database(str(tmp_path / "ledger.db"))
    await add_subscribers(
        connection,
        [
            NewSubscriber(
                msisdn=str(13000000000 + i),
                name=f"用户{i}",
                brand="神州行",
                plan="SZX",
                created_on=date(2025, 1, 1),
                cash=i,
            )
            for i in range(COUNT)
        ],
    )
    yield connection
    await connection.close()


class CountingDb:
    """Counts the queries that reach the database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.queries = 0

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[object, ...]]:
        self.queries += 1
        return await self.db.fetch(sql, params)


async def test_concurrent_lookups_share_queries_and_get_their_own_rows(db: Database) -> None:
    counting = CountingDb(db)
    lookup = SubscriberLookup(counting)
    numbers = [str(13000000000 + i) for i in range(COUNT)] + ["13999999999"]
    results = await asyncio.gather(*(lookup.get(n) for n in numbers), return_exceptions=True)
    cash = [r[1].cash for r in results[:-1]]  # type: ignore[index]
    assert cash == list(range(COUNT))
    assert isinstance(results[-1], UnknownSubscriber)
    # All 1,201 were asked for before the look-up task first ran: one batch, CHUNK numbers a query.
    assert counting.queries == -(-len(numbers) // CHUNK)


async def test_the_same_number_asked_twice_at_once_is_fetched_once(db: Database) -> None:
    counting = CountingDb(db)
    lookup = SubscriberLookup(counting)
    first, second, third = await asyncio.gather(*(lookup.get("13000000007") for _ in range(3)))
    assert first == second == third
    assert first[0].name == "用户7"
    assert counting.queries == 1


async def test_a_failed_query_reaches_every_waiter_and_the_next_lookup_works(db: Database) -> None:
    class Failing(CountingDb):
        async def fetch(self, sql: str, params: Params = ()) -> list[tuple[object, ...]]:
            self.queries += 1
            if self.queries == 1:
                raise aiosqlite.OperationalError("database is locked")
            return await self.db.fetch(sql, params)

    lookup = SubscriberLookup(Failing(db))
    with pytest.raises(aiosqlite.OperationalError):
        await lookup.get("13000000001")
    subscriber, account = await lookup.get("13000000001")
    assert (subscriber.msisdn, account.cash) == ("13000000001", 1)
