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
from gateway.db import campaigns as campaigns_repo
from gateway.db.unit import Tx, Writer
from gateway.pushes.sweeps import SWEEPABLE, Sweeps
from gateway.tasks import Background

log = logging.getLogger("gateway.pushes")


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
            return await campaigns_repo.create(tx, kind, now=now)

        campaign: int = await self._store.transact(work)
        return campaign

    async def select(self, campaign: int, kind: str, progress: Callable[[int], None] | None = None) -> int:
        """Run the campaign's sweep; how many reminders it raised."""
        selected = await self._sweeps.sweep(kind, now=self._clock.now(), campaign=campaign, progress=progress)

        async def finish(tx: Tx) -> None:
            await campaigns_repo.finish(tx, campaign, selected=selected, now=self._clock.now())

        await self._store.transact(finish)
        log.info("campaign selected", extra={"campaign": campaign, "kind": kind, "selected": selected})
        return selected

    async def progress(self, campaign: int) -> Progress | None:
        found = await campaigns_repo.find(self._store, campaign)
        if found is None:
            return None
        counts = await campaigns_repo.tally(self._store, campaign)
        return Progress(
            id=campaign,
            kind=found.kind,
            started_at=found.started_at,
            selecting=found.finished_at is None,
            selected=counts.selected,
            pending=counts.pending,
            queued=counts.queued,
            sent=counts.sent,
            delivered=counts.delivered,
            failed=counts.failed,
            dropped=counts.dropped,
            in_flight=counts.in_flight,
        )

    async def drain(self) -> None:
        await self._tasks.wait()
