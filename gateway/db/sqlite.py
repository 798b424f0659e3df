"""Opening an SQLite connection through aiosqlite, safely even when the opener is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any

import aiosqlite

from gateway.db.unit import Params, Tx


async def connect(path: str) -> aiosqlite.Connection:
    """``aiosqlite.connect`` that, cancelled half-way, waits for the connection and closes it before it gives up.

    aiosqlite's own way out of a cancelled connect leaves its thread to answer into the event loop later,
    when that loop may be closed ("Event loop is closed" raised in the thread, after the task is long gone).
    """
    opening = asyncio.ensure_future(_connected(path))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with suppress(Exception):
            await (await opening).close()
        raise


async def _connected(path: str) -> aiosqlite.Connection:
    # Autocommit, as on PostgreSQL: a statement outside a transaction that was asked for commits at once.
    return await aiosqlite.connect(path, isolation_level=None)


LOOKUP_SETTINGS = ("PRAGMA mmap_size = 1073741824", "PRAGMA cache_size = -65536")
"""Look-ups by number touch a few pages of a large file at random: map the file (1 GiB) and keep a large page
cache (64 MiB), so a ledger of a million subscribers answers as fast as one of a thousand. Every connection that
answers queries runs them: the read connection, and the writer, where each MO's unit of work reads."""

CONNECTION_SETTINGS = ("PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000", "PRAGMA secure_delete=ON")
"""Settings of each connection that writes (``secure_delete``: a blanked secret leaves no copy in freed pages)."""


class AioConnection:
    """An aiosqlite connection with the few calls :class:`gateway.db.store.Tx` makes of a connection."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.db.execute_fetchall(sql, params)]

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.db.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self.db.executemany(sql, rows)


class SqliteDatabase(AioConnection):
    """A tool's connection to the SQLite file (:class:`~gateway.db.unit.Database`)."""

    engine = "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        await self.db.execute("BEGIN IMMEDIATE")  # no other writer can slip in between a check and the inserts
        try:
            yield Tx(self)
        except BaseException:
            await self.db.rollback()
            raise
        await self.db.commit()

    async def close(self) -> None:
        await self.db.close()
