"""The read connection: a connection of its own beside the writer, that sees only what is committed."""

from __future__ import annotations

from typing import Any, Protocol

from gateway.db.sqlite import LOOKUP_SETTINGS, SqliteDatabase, connect
from gateway.db.target import is_url
from gateway.db.unit import Params


class ReadConnection(Protocol):
    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    async def close(self) -> None: ...


async def open_reads(ledger: str) -> ReadConnection:
    """A query-only connection to the ledger: on a SQLite file, an aiosqlite one (WAL lets it read while the
    store writes); on PostgreSQL, one whose transactions are read-only."""
    if is_url(ledger):
        from gateway.db import postgres  # psycopg takes 0.4 s to import: only a process that uses it pays

        return await postgres.connect(ledger, read_only=True)
    db = await connect(ledger)
    await db.execute("PRAGMA query_only = 1")
    await db.execute("PRAGMA busy_timeout = 5000")
    for setting in LOOKUP_SETTINGS:
        await db.execute(setting)
    return SqliteDatabase(db)
