"""The ledger's read side: what the query commands ask, from a read connection or inside a unit of work.

Outside a unit it reads through its own connection (:class:`~gateway.db.reads.ReadConnection`: WAL lets it
read while the store writes), so a read never waits behind a group commit and never sees a transaction that
is still open; look-ups by number asked at the same time share one query (:class:`SubscriberLookup`).
Inside a unit of work (:meth:`Ledger.within`) it reads through that unit's transaction, and sees its writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.db import cards, messages, subscribers
from gateway.db import ledger as repo
from gateway.db.reads import open_reads
from gateway.db.unit import Params, Reads
from gateway.errors import UnknownSubscriber
from gateway.ledger.calendar import Calendar
from gateway.ledger.lookup import SubscriberLookup
from gateway.ledger.products import Products
from gateway.model.ledger import Account, Bill, Card, Payment, Subscriber, Subscription, Usage
from gateway.types import Fen


class Ledger:
    def __init__(
        self,
        reads: Reads,
        *,
        products: Products,
        calendar: Calendar,
        batched: bool = True,
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._reads = reads
        self._lookup = SubscriberLookup(reads) if batched else None
        self._closing = closing
        self.products = products
        self.calendar = calendar

    @classmethod
    async def open(cls, path: str, *, products: Products, calendar: Calendar) -> Ledger:
        connection = await open_reads(path)
        return cls(connection, products=products, calendar=calendar, closing=connection.close)

    def within(self, reads: Reads) -> Ledger:
        """The same ledger read through ``reads`` (a unit of work's transaction), one query per look-up."""
        return Ledger(reads, products=self.products, calendar=self.calendar, batched=False)

    async def close(self) -> None:
        if self._closing is not None:
            await self._closing()

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[object, ...]]:
        """A read-only query, for the repositories that take :class:`~gateway.db.unit.Reads`."""
        return await self._reads.fetch(sql, params)

    async def subscriber(self, msisdn: str) -> tuple[Subscriber, Account]:
        """The subscriber and their account; UnknownSubscriber if the number is not ours."""
        if self._lookup is not None:
            return await self._lookup.get(msisdn)
        found = await subscribers.holder(self._reads, msisdn)
        if found is None:
            raise UnknownSubscriber(msisdn)
        return found

    async def usage(self, msisdn: str, cycle: str) -> dict[str, Usage]:
        return await repo.usage(self._reads, msisdn, cycle)

    async def charges(self, msisdn: str, cycle: str) -> dict[str, Fen]:
        """Everything charged in the cycle so far, by category: fixed fees plus usage beyond packages."""
        return await repo.charges(self._reads, msisdn, cycle)

    async def subscriptions(self, msisdn: str, cycle: str) -> list[Subscription]:
        """Subscriptions that run for at least part of the cycle, oldest first."""
        start, end = self.calendar.cycle_start(cycle), self.calendar.cycle_end(cycle)
        return await repo.subscriptions(self._reads, msisdn, start, end)

    async def bill(self, msisdn: str, cycle: str) -> Bill | None:
        """The cycle's bill with its lines, or None when no bill was made for it."""
        return await repo.bill(self._reads, msisdn, cycle)

    async def bill_totals(self, msisdn: str, cycles: list[str]) -> list[Bill]:
        """The bills among ``cycles`` (without their lines), in the order of ``cycles``."""
        found = await repo.bill_totals(self._reads, msisdn, cycles)
        return [Bill(cycle=c, total=found[c], lines=()) for c in cycles if c in found]

    async def card(self, serial: str) -> Card | None:
        """A recharge card by its serial (701)."""
        return await cards.card(self._reads, serial)

    async def puk(self, msisdn: str) -> str | None:
        """The PUK code of the number's SIM, if imported (604; never logged)."""
        return await subscribers.puk(self._reads, msisdn)

    async def requests(self, msisdn: str, limit: int) -> list[tuple[float, str, str]]:
        """(when, service number, text) of the subscriber's latest MOs before the newest (the one asking)."""
        return await messages.sent_by(self._reads, msisdn, limit=limit, skip=1)

    async def payments(self, msisdn: str, limit: int) -> list[Payment]:
        """The latest payments, newest first."""
        return await repo.payments(self._reads, msisdn, limit)
