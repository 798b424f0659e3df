"""Campaigns: a sweep an operator starts (``gateway push run KIND``, ``POST /api/v1/pushes``), and its
progress: selected (raised by the sweep), queued (in the outbox), sent (accepted by the SMSC),
delivered (receipt DELIVRD), failed (refused by the SMSC, or a receipt other than DELIVRD), dropped
(the recheck found the reason gone, or the subscriber opted out), pending (not yet due or not yet sent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from gateway.clock import Clock
from gateway.db.store import Tx, Writer
from gateway.pushes.sweeps import SWEEPABLE, Sweeps
from gateway.tasks import Background

log = logging.getLogger("gateway.pushes")

PROGRESS_QUERY = """
SELECT
    COUNT(*),
    SUM(p.status = 'pending'),
    SUM(p.status = 'queued'),
    SUM(p.status = 'dropped'),
    SUM(m.status = 'sent'),
    SUM(m.delivery_stat = 'DELIVRD'),
    SUM(m.status = 'failed' OR (m.delivery_stat IS NOT NULL AND m.delivery_stat != 'DELIVRD')),
    SUM(m.status = 'queued')
FROM push p LEFT JOIN mt m ON m.id = p.mt_id
WHERE p.campaign = ?
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    id: int
    kind: str
    started_at: float
    selecting: bool  # the sweep is still running
    selected: int
    pending: int
    queued: int
    sent: int
    delivered: int
    failed: int
    dropped: int
    in_flight: int  # in the outbox, not yet accepted or refused by the SMSC

    @property
    def settled(self) -> bool:
        """Every selected reminder was sent, refused or dropped (receipts may still come)."""
        return not self.selecting and self.pending == 0 and self.in_flight == 0

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "settled": self.settled}


class UnknownKind(ValueError):
    pass


class Campaigns:
    def __init__(self, *, store: Writer, sweeps: Sweeps, clock: Clock) -> None:
        self._store = store
        self._sweeps = sweeps
        self._clock = clock
        self._tasks = Background("campaigns")

    async def start(self, kind: str) -> int:
        """Record the campaign and start its sweep in the background; its id."""
        campaign = await self.create(kind)
        self._tasks.spawn(self.select(campaign, kind))
        return campaign

    async def create(self, kind: str) -> int:
        if kind not in SWEEPABLE:
            raise UnknownKind(kind)
        now = self._clock.now()

        async def work(tx: Tx) -> int:
            rows = await tx.fetch("INSERT INTO campaign (kind, started_at) VALUES (?, ?) RETURNING id", (kind, now))
            return int(rows[0][0])

        campaign: int = await self._store.transact(work)
        return campaign

    async def select(self, campaign: int, kind: str, progress: Callable[[int], None] | None = None) -> int:
        """Run the campaign's sweep; how many reminders it raised."""
        selected = await self._sweeps.sweep(kind, now=self._clock.now(), campaign=campaign, progress=progress)

        async def finish(tx: Tx) -> None:
            await tx.execute(
                "UPDATE campaign SET selected = ?, finished_at = ? WHERE id = ?",
                (selected, self._clock.now(), campaign),
            )

        await self._store.transact(finish)
        log.info("campaign selected", extra={"campaign": campaign, "kind": kind, "selected": selected})
        return selected

    async def progress(self, campaign: int) -> Progress | None:
        rows = await self._store.fetch("SELECT kind, started_at, finished_at FROM campaign WHERE id = ?", (campaign,))
        if not rows:
            return None
        kind, started_at, finished_at = rows[0]
        counts = [int(v or 0) for v in (await self._store.fetch(PROGRESS_QUERY, (campaign,)))[0]]
        total, pending, queued, dropped, sent, delivered, failed, in_flight = counts
        return Progress(
            id=campaign,
            kind=kind,
            started_at=started_at,
            selecting=finished_at is None,
            selected=total,
            pending=pending,
            queued=queued,
            sent=sent,
            delivered=delivered,
            failed=failed,
            dropped=dropped,
            in_flight=in_flight,
        )

    async def drain(self) -> None:
        await self._tasks.wait()
