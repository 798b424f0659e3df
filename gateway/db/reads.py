"""The read connection: a connection of its own beside the writer, that sees only what is committed."""

from __future__ import annotations

from gateway.db.sqlite import AioConnection, connect

READ_MMAP_BYTES = 1 << 30
READ_CACHE_KIB = 65536


class ReadConnection(AioConnection):
    """A query-only aiosqlite connection (WAL lets it read while the store writes)."""

    @classmethod
    async def open(cls, path: str) -> ReadConnection:
        db = await connect(path)
        await db.execute("PRAGMA query_only = 1")
        await db.execute("PRAGMA busy_timeout = 5000")
        # Look-ups by number touch a few pages of a large file at random: map the file and keep a large
        # page cache, so a ledger of a million subscribers answers as fast as one of a thousand.
        await db.execute(f"PRAGMA mmap_size = {READ_MMAP_BYTES}")
        await db.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
        return cls(db)

    async def close(self) -> None:
        await self.db.close()
