"""This instance among those sharing the ledger: its lease, and the work it takes over from one gone.

At start an instance signs on and takes its own rows left by an earlier run under its name and those no live
instance owns (on SQLite, where one instance has the file, every other instance counts as gone). Then, every
third of its lease, it renews the lease and takes over the unanswered MOs and unsent MTs of every instance
whose lease ran out or who stopped with work left, and hands them to ``take`` (the dispatcher and the
outbox). A clean stop signs off. See ``docs/scale-out.md``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from gateway.db import instances
from gateway.db.instances import Takeover
from gateway.db.store import Store
from gateway.db.unit import Tx

log = logging.getLogger("gateway.instances")


class Instance:
    def __init__(
        self,
        *,
        store: Store,
        name: str,
        lease: float,
        take: Callable[[Takeover], None],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._store = store
        self._lease = lease
        self._take = take
        self._wall = wall  # leases are wall-clock time, shared with the other instances, whatever the gateway's clock
        self.taken_mos = 0  # MOs taken over from instances gone
        self.taken_mts = 0  # MTs taken over: each may have been sent once already (the submit_sm_resp lost)
        self.redelivered = 0  # MOs taken over that had been delivered again to a live instance and answered there
        self.lease_lost = 0  # renewals that found this instance's row gone (taken for dead, its rows taken)
        self.leading = True  # the live instance with the first name runs the time-based work

    async def start(self) -> Takeover:
        """Sign on and take over what is left; ``store.crashed`` is set if an instance died with work in hand."""
        now = self._wall()
        shared = self._store.shared

        async def work(tx: Tx) -> tuple[bool, Takeover, list[str]]:
            back = await instances.sign_on(tx, self.name, now=now, lease=self._lease)
            taken = await instances.take_over(tx, self.name, now=now, others_gone=not shared, own=True)
            return back, taken, await instances.live(tx, now=now)

        signed: tuple[bool, Takeover, list[str]] = await self._store.transact(work)
        back, taken, live = signed
        self._lead(live)
        if shared and (back or taken.gone):
            self._store.crashed = True  # on SQLite the file's own mark says so (Store.open)
            self._store.recovering_from = (*taken.gone, *((self.name,) if back else ()))
        self._count(taken)
        log.info("instance signed on", extra={"instance": self.name, "took_over": list(taken.gone)})
        return taken

    async def run(self) -> None:
        """Renew the lease and take over, every third of the lease, until cancelled."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.tick()
            except Exception:
                log.exception("lease renewal failed", extra={"instance": self.name})

    async def tick(self) -> Takeover:
        now = self._wall()

        async def work(tx: Tx) -> tuple[bool, Takeover, list[str]]:
            kept = await instances.renew(tx, self.name, now=now, lease=self._lease)
            taken = await instances.take_over(tx, self.name, now=now)
            return kept, taken, await instances.live(tx, now=now)

        renewed: tuple[bool, Takeover, list[str]] = await self._store.transact(work)
        kept, taken, live = renewed
        self._lead(live)
        me = self.name
        if not kept:
            self.lease_lost += 1
            log.error("this instance's lease had run out: others may have taken its work", extra={"instance": me})
        if taken.gone:
            log.warning("instances gone: their work taken over", extra={"instance": me, "gone": list(taken.gone)})
        self._count(taken)
        if taken.mos or taken.mts:
            self._take(taken)
        return taken

    async def stop(self) -> None:
        await self._store.transact(lambda tx: instances.sign_off(tx, self.name))

    def _lead(self, live: list[str]) -> None:
        self.leading = not live or live[0] == self.name

    def _count(self, taken: Takeover) -> None:
        self.taken_mos += len(taken.mos)
        self.taken_mts += len(taken.mts)
        self.redelivered += len(taken.redelivered)
        if taken.mos or taken.mts or taken.redelivered:
            log.info(
                "work taken over",
                extra={"mos": len(taken.mos), "mts": len(taken.mts), "redelivered": len(taken.redelivered)},
            )
