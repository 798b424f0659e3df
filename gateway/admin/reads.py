"""What the admin API reads beside :class:`~gateway.ledger.reads.Ledger`: every subscription of a number,
and the messages to and from it. Through a read-only connection of its own (WAL: it never waits behind a
group commit and sees only committed rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from gateway.db.sqlite import connect
from gateway.ledger.models import Subscription

MESSAGES_SHOWN = 100
"""The newest MTs, and the newest MOs, listed for a number."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentMessage:
    """An MT to the number, from the outbox."""

    id: int
    service_number: str
    text: str
    status: str  # queued | sent | failed
    created_at: float
    sent_at: float | None
    delivery_stat: str | None  # from the delivery receipt: DELIVRD, UNDELIV, ...
    mo_id: int | None  # the MO it answers; None for a notice or an ad-hoc message


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedMessage:
    """An MO from the number, from the inbox (a password or ID number in it was blanked)."""

    id: int
    service_number: str
    text: str
    status: str  # new | answered | ignored
    received_at: float


class AdminReads:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: str) -> AdminReads:
        db = await connect(path)
        await db.execute("PRAGMA query_only = 1")
        await db.execute("PRAGMA busy_timeout = 5000")
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def subscriptions(self, msisdn: str) -> list[Subscription]:
        """Every subscription of the number, running or ended, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT id, product, started_at, ends_at FROM subscription WHERE msisdn = ?"
            " ORDER BY started_at DESC, id DESC",
            (msisdn,),
        )
        return [Subscription(id=r[0], product=r[1], started_at=r[2], ends_at=r[3]) for r in rows]

    async def sent(self, msisdn: str, limit: int = MESSAGES_SHOWN) -> list[SentMessage]:
        """The newest MTs to the number, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT id, source_addr, text, status, created_at, sent_at, delivery_stat, mo_id FROM mt"
            " WHERE destination_addr = ? ORDER BY id DESC LIMIT ?",
            (msisdn, limit),
        )
        return [
            SentMessage(
                id=r[0],
                service_number=r[1],
                text=r[2],
                status=r[3],
                created_at=r[4],
                sent_at=r[5],
                delivery_stat=r[6],
                mo_id=r[7],
            )
            for r in rows
        ]

    async def received(self, msisdn: str, limit: int = MESSAGES_SHOWN) -> list[ReceivedMessage]:
        """The newest MOs from the number, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT id, destination_addr, text, status, received_at FROM mo"
            " WHERE source_addr = ? ORDER BY id DESC LIMIT ?",
            (msisdn, limit),
        )
        return [ReceivedMessage(id=r[0], service_number=r[1], text=r[2], status=r[3], received_at=r[4]) for r in rows]
