"""Due reminders → outbox, at the configured rate.

Every tick the sender takes as many due reminders as the rate allows (``pushes.tps``; answers to MOs do
not wait for it), and in one transaction rechecks each (:mod:`gateway.pushes.compose`), puts the ones
still true in the outbox and marks the rest dropped with the reason. The outbox then sends them with
delivery receipts requested; the receipts land on the MT rows, which the push rows point to. A reminder
is marked queued in the same commit that queues its MT, so a restart neither loses nor repeats one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from gateway.clock import Clock
from gateway.db import messages
from gateway.db import pushes as pushes_repo
from gateway.db.store import Store
from gateway.db.unit import Tx
from gateway.model.pushes import Due
from gateway.outbox import Outbox
from gateway.pushes.compose import Composer
from gateway.pushes.policy import PushPolicy
from gateway.types import OutboundMessage, Reply

log = logging.getLogger("gateway.pushes")

TICK = 0.05  # seconds between looks at the queue
ROUNDS = 4  # selections per tick when some of the reminders taken were dropped


class Pusher:
    def __init__(
        self,
        *,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        composer: Composer,
        policy: PushPolicy,
        tps: float,
        source: str,
        hold: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._composer = composer
        self._policy = policy
        self._tps = tps
        self._source = source
        self._hold = hold  # while true nothing is sent (the scheduler's tick is running: a month caught up whole)
        self.sent = 0
        self.dropped = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tokens = 0.0
        last = loop.time()
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            tokens = min(tokens + self._tps * (now - last), max(1.0, self._tps * TICK * 2))
            last = now
            if tokens < 1 or self._hold():
                continue
            try:
                sent = await self.send_due(int(tokens))
            except Exception:
                log.exception("sending reminders failed; will try again")
                continue
            tokens -= sent

    async def send_due(self, most: int) -> int:
        """Queue up to ``most`` due reminders (dropped ones do not count); how many were queued."""
        if not await pushes_repo.any_due(self._store, now=self._clock.now()):
            return 0  # the usual case: a read, not a turn in the writer's batch
        queued = 0
        for _ in range(ROUNDS):
            wanted = most - queued

            async def work(tx: Tx, wanted: int = wanted) -> tuple[list[OutboundMessage], int, int]:
                return await self._take(tx, wanted)

            mts, taken, dropped = await self._store.transact(work)
            self.sent += len(mts)
            self.dropped += dropped
            for mt in mts:
                self._outbox.send(mt)
            queued += len(mts)
            if taken < wanted or queued >= most:
                break
        return queued

    async def _take(self, tx: Tx, most: int) -> tuple[list[OutboundMessage], int, int]:
        """(the MTs queued, how many reminders were taken, how many of them were dropped)"""
        now = self._clock.now()
        due = await pushes_repo.due(tx, now=now, limit=most)
        if not due:
            return [], 0, 0
        later = [d for d in due if self._policy.due_at(d.kind, now) > now]  # quiet hours began meanwhile
        if later:
            await pushes_repo.postpone(tx, [(d.id, self._policy.due_at(d.kind, now)) for d in later])
        mts, dropped = await self._settle(tx, [d for d in due if d not in later], now)
        return mts, len(due), dropped

    async def _settle(self, tx: Tx, due: Sequence[Due], now: float) -> tuple[list[OutboundMessage], int]:
        decisions = await self._composer.decide(tx, due, now=now)
        mts = []
        queued: list[tuple[int, int]] = []
        dropped: list[tuple[int, str]] = []
        for d in due:
            decision = decisions[d.id]
            if decision.text is None:
                dropped.append((d.id, decision.reason))
                continue
            mt = await messages.queue_mt(
                tx, Reply(text=decision.text, destination_addr=d.msisdn, source_addr=self._source), now=now
            )
            mts.append(mt)
            queued.append((d.id, mt.id))
        await pushes_repo.mark_queued(tx, queued)
        await pushes_repo.mark_dropped(tx, dropped)
        return mts, len(dropped)
