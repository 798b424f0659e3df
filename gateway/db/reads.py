"""The read connection: a connection of its own beside the writer, that sees only what is committed."""

from __future__ import annotations

from gateway.db.sqlite import LOOKUP_SETTINGS, AioConnection, connect


class ReadConnection(AioConnection):
    """A query-only aiosqlite connection (WAL lets it read while the store writes)."""

    @classmethod
    async def open(cls, path: str) -> ReadConnection:
        db = await connect(path)
        await db.execute("PRAGMA query_only = 1")
        await db.execute("PRAGMA busy_timeout = 5000")
        for setting in LOOKUP_SETTINGS:
            await db.execute(setting)
        return cls(db)

    async def close(self) -> None:
        await self.db.close()
