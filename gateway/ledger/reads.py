"""The ledger's read side: what the query commands ask, answered from a read-only connection.

It reads through its own SQLite connection (WAL lets it read while the store writes), so a query never
waits behind a group commit and never sees a transaction that is still open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from gateway.db.sqlite import connect
from gateway.ledger.calendar import Calendar
from gateway.ledger.lookup import SubscriberLookup
from gateway.ledger.models import Account, Bill, Payment, Subscriber, Subscription, Usage
from gateway.ledger.products import Products
from gateway.types import Fen

READ_MMAP_BYTES = 1 << 30
READ_CACHE_KIB = 65536


class Ledger:
    def __init__(self, db: aiosqlite.Connection, *, products: Products, calendar: Calendar) -> None:
        self._db = db
        self._lookup = SubscriberLookup(db)
        self.products = products
        self.calendar = calendar

    @classmethod
    async def open(cls, path: str, *, products: Products, calendar: Calendar) -> Ledger:
        db = await connect(path)
        await db.execute("PRAGMA query_only = 1")
        await db.execute("PRAGMA busy_timeout = 5000")
        # Look-ups by number touch a few pages of a large file at random: map the file and keep a large
        # page cache, so a ledger of a million subscribers answers as fast as one of a thousand.
        await db.execute(f"PRAGMA mmap_size = {READ_MMAP_BYTES}")
        await db.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
        return cls(db, products=products, calendar=calendar)

    async def close(self) -> None:
        await self._db.close()

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """A read-only query outside the writer, for the repositories that take :class:`~gateway.db.store.Reads`
        (a dialog step's slow work looks up what it needs here, before its transaction)."""
        return [tuple(row) for row in await self._db.execute_fetchall(sql, params)]

    async def subscriber(self, msisdn: str) -> tuple[Subscriber, Account]:
        """The subscriber and their account; UnknownSubscriber if the number is not ours."""
        return await self._lookup.get(msisdn)

    async def usage(self, msisdn: str, cycle: str) -> dict[str, Usage]:
        rows = await self._db.execute_fetchall(
            "SELECT category, quantity, charged FROM usage WHERE msisdn = ? AND cycle = ?", (msisdn, cycle)
        )
        return {r[0]: Usage(category=r[0], quantity=r[1], charged=Fen(r[2])) for r in rows}

    async def charges(self, msisdn: str, cycle: str) -> dict[str, Fen]:
        """Everything charged in the cycle so far, by category: fixed fees plus usage beyond packages."""
        rows = await self._db.execute_fetchall(
            "SELECT category, SUM(amount) FROM ("
            " SELECT category, amount FROM fee WHERE msisdn = ?1 AND cycle = ?2"
            " UNION ALL SELECT category, charged FROM usage WHERE msisdn = ?1 AND cycle = ?2"
            ") GROUP BY category",
            (msisdn, cycle),
        )
        return {r[0]: Fen(r[1]) for r in rows if r[1]}

    async def subscriptions(self, msisdn: str, cycle: str) -> list[Subscription]:
        """Subscriptions that run for at least part of the cycle, oldest first."""
        start, end = self.calendar.cycle_start(cycle), self.calendar.cycle_end(cycle)
        rows = await self._db.execute_fetchall(
            "SELECT id, product, started_at, ends_at FROM subscription"
            " WHERE msisdn = ? AND started_at < ? AND (ends_at IS NULL OR ends_at > ?) ORDER BY started_at, id",
            (msisdn, end, start),
        )
        return [Subscription(id=r[0], product=r[1], started_at=r[2], ends_at=r[3]) for r in rows]

    async def bill(self, msisdn: str, cycle: str) -> Bill | None:
        """The cycle's bill with its lines, or None when no bill was made for it."""
        totals = await self._db.execute_fetchall(
            "SELECT total FROM bill WHERE msisdn = ? AND cycle = ?", (msisdn, cycle)
        )
        for (total,) in totals:
            lines = await self._db.execute_fetchall(
                "SELECT category, amount FROM bill_line WHERE msisdn = ? AND cycle = ?", (msisdn, cycle)
            )
            return Bill(cycle=cycle, total=Fen(total), lines=tuple((r[0], Fen(r[1])) for r in lines))
        return None

    async def bill_totals(self, msisdn: str, cycles: list[str]) -> list[Bill]:
        """The bills among ``cycles`` (without their lines), in the order of ``cycles``."""
        marks = ",".join("?" * len(cycles))
        rows = await self._db.execute_fetchall(
            f"SELECT cycle, total FROM bill WHERE msisdn = ? AND cycle IN ({marks})", (msisdn, *cycles)
        )
        found = {r[0]: Fen(r[1]) for r in rows}
        return [Bill(cycle=c, total=found[c], lines=()) for c in cycles if c in found]

    async def payments(self, msisdn: str, limit: int) -> list[Payment]:
        """The latest payments, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT amount, channel, paid_at FROM payment WHERE msisdn = ? ORDER BY paid_at DESC, id DESC LIMIT ?",
            (msisdn, limit),
        )
        return [Payment(amount=Fen(r[0]), channel=r[1], paid_at=r[2]) for r in rows]
