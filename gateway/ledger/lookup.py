"""Subscriber look-ups by number, batched: every look-up asked for while a query runs rides on the next one.

Under load this turns hundreds of trips to the database thread into a few, each fetching many rows by
primary key; when idle a look-up is a single query, as before.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from gateway.db import subscribers
from gateway.db.unit import Reads
from gateway.errors import UnknownSubscriber
from gateway.model.ledger import Account, Subscriber
from gateway.types import Fen

HOLDER_QUERY = (
    "SELECT s.msisdn, s.name, s.brand, s.vip, s.plan, s.status, s.created_on,"
    " a.cash, a.gift, a.gift_expires, a.credit_limit, a.valid_until, a.points"
    " FROM subscriber s JOIN account a ON a.msisdn = s.msisdn WHERE s.msisdn IN ({marks})"
)

Holder = tuple[Subscriber, Account]


class SubscriberLookup:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self._wanted: dict[str, list[asyncio.Future[Holder | None]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def get(self, msisdn: str) -> Holder:
        future: asyncio.Future[Holder | None] = asyncio.get_running_loop().create_future()
        self._wanted.setdefault(msisdn, []).append(future)
        if self._running is None:
            self._running = asyncio.create_task(self._run())
        found = await future
        if found is None:
            raise UnknownSubscriber(msisdn)
        return found

    async def _run(self) -> None:
        try:
            while self._wanted:
                wanted, self._wanted = self._wanted, {}
                try:
                    found = await self._fetch(list(wanted))
                except Exception as exc:  # every waiter learns of it
                    for futures in wanted.values():
                        for future in futures:
                            future.set_exception(exc)
                    continue
                for msisdn, futures in wanted.items():
                    for future in futures:
                        future.set_result(found.get(msisdn))
        finally:
            self._running = None

    async def _fetch(self, msisdns: list[str]) -> dict[str, Holder]:
        return await subscribers.holders(self._reads, msisdns)


def holder_from_row(r: Any) -> Holder:
    """A row of :data:`HOLDER_QUERY` → the subscriber and their account."""
    subscriber = Subscriber(
        msisdn=r[0], name=r[1], brand=r[2], vip=r[3], plan=r[4], status=r[5], created_on=date.fromisoformat(r[6])
    )
    account = Account(
        cash=Fen(r[7]),
        gift=Fen(r[8]),
        gift_expires=date.fromisoformat(r[9]) if r[9] else None,
        credit_limit=Fen(r[10]),
        valid_until=date.fromisoformat(r[11]) if r[11] else None,
        points=r[12],
    )
    return subscriber, account
