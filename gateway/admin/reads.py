"""What the admin API reads beside :class:`~gateway.ledger.reads.Ledger`: every subscription of a number,
and the messages to and from it. Through a read-only connection of its own (WAL: it never waits behind a
group commit and sees only committed rows).
"""

from __future__ import annotations

from gateway.db import admin_reads
from gateway.db.admin_reads import ReceivedMessage, SentMessage
from gateway.db.reads import ReadConnection, open_reads
from gateway.model.ledger import Subscription

MESSAGES_SHOWN = 100
"""The newest MTs, and the newest MOs, listed for a number."""


class AdminReads:
    def __init__(self, reads: ReadConnection) -> None:
        self._reads = reads

    @classmethod
    async def open(cls, path: str) -> AdminReads:
        return cls(await open_reads(path))

    async def close(self) -> None:
        await self._reads.close()

    async def subscriptions(self, msisdn: str) -> list[Subscription]:
        """Every subscription of the number, running or ended, newest first."""
        return await admin_reads.subscriptions_of(self._reads, msisdn)

    async def sent(self, msisdn: str, limit: int = MESSAGES_SHOWN) -> list[SentMessage]:
        """The newest MTs to the number, newest first."""
        return await admin_reads.sent_to(self._reads, msisdn, limit)

    async def received(self, msisdn: str, limit: int = MESSAGES_SHOWN) -> list[ReceivedMessage]:
        """The newest MOs from the number, newest first."""
        return await admin_reads.received_from(self._reads, msisdn, limit)
