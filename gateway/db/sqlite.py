"""Opening an SQLite connection through aiosqlite, safely even when the opener is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import aiosqlite


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
    return await aiosqlite.connect(path)


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

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.db.execute_fetchall(sql, params)]

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        async with self.db.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.db.executemany(sql, rows)
