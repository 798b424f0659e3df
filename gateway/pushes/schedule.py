"""Time-based work, run every second and after every move of a manual clock.

- Every tick: protective restores past their time limit go back to credit control (suspended again
  unless paid up), and so do active subscribers whose 7-day guard has just run out.
- Once per local day (claimed in ``schedule_run``, so a restart or a second run the same day does
  nothing): prepaid validity dates that have passed, suspensions old enough for the termination warning
  or for termination; on the 11th and 21st the data usage reminder for package holders (seed 003).
- The month's job (:class:`Monthly`, :mod:`gateway.usecases.month`), before the day's: on the 1st the month
  that ended is closed and the new one charged, also for a 1st the gateway was down on.

A day the gateway did not run on is not made up for: the state-based checks catch up by themselves, the
dated reminders of that day are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from gateway.clock import Clock
from gateway.credit.control import CreditControl
from gateway.db import campaigns as campaigns_repo
from gateway.db.store import Store
from gateway.db.unit import Tx
from gateway.ledger.calendar import Calendar
from gateway.pushes.sweeps import Sweeps

log = logging.getLogger("gateway.schedule")

CHECK_CHUNK = 500
DATA_REMINDER_DAYS = (11, 21)


class Monthly(Protocol):
    """The month's job: run every month due and not run through yet."""

    async def run(self, *, now: float) -> list[str]: ...


class Scheduler:
    def __init__(
        self,
        *,
        store: Store,
        credit: CreditControl,
        sweeps: Sweeps,
        calendar: Calendar,
        clock: Clock,
        leads: Callable[[], bool] = lambda: True,
        monthly: Monthly,
    ) -> None:
        self._store = store
        self._credit = credit
        self._sweeps = sweeps
        self._calendar = calendar
        self._clock = clock
        self._day_done = ""
        self._leads = leads  # whether this instance runs the time-based work (one of several on a ledger does)
        self._monthly = monthly
        self._running = asyncio.Lock()

    def busy(self) -> bool:
        """A tick is running: reminders it raises wait for its end, so they are rechecked against where it ended."""
        return self._running.locked()

    async def tick(self) -> None:
        """Run what is due; a tick while another runs (every second, and after a move of the clock) waits for it."""
        async with self._running:
            await self._tick()

    async def _tick(self) -> None:
        if not self._leads():
            return
        now = self._clock.now()
        await self._check(await campaigns_repo.restores_run_out(self._store, now=now))
        await self._end_guards(now)
        await self._monthly.run(now=now)
        day = self._calendar.today(now)
        if day.isoformat() == self._day_done:
            return

        async def claim(tx: Tx) -> bool:
            return await campaigns_repo.claim_daily(tx, day.isoformat())

        if await self._store.transact(claim):
            log.info("daily jobs", extra={"day": day.isoformat()})
            await self._daily(now)
        self._day_done = day.isoformat()

    async def _daily(self, now: float) -> None:
        today = self._calendar.today(now)
        credit = self._credit.config

        async def adopt(tx: Tx) -> int:  # suspended before credit control knew them (imported, seeded)
            return await campaigns_repo.adopt_uncontrolled(tx, now=now)

        await self._store.transact(adopt)
        prepaid = sorted(code for code, p in self._credit.products.plans.items() if p.payment == "prepaid")
        await self._check(await campaigns_repo.prepaid_expired(self._store, today=today.isoformat(), plans=prepaid))
        # Suspended on a day at least terminate_after_days before today (the machine decides; this finds them).
        before = self._calendar.midnight(today - timedelta(days=credit.terminate_after_days - 1))
        await self._check(await campaigns_repo.suspended_before(self._store, before=before))
        await self._sweeps.sweep("termination_warning", now=now)
        if today.day in DATA_REMINDER_DAYS:
            await self._sweeps.sweep("data_periodic", now=now)

    async def _end_guards(self, now: float) -> None:
        """A 7-day guard that has run out: the balance rule applies again at once, not at the next usage."""
        if not await self._check(await campaigns_repo.guards_run_out(self._store, now=now)):
            return

        async def clear(tx: Tx) -> None:
            await campaigns_repo.clear_guards(tx, now=now)

        await self._store.transact(clear)

    async def _check(self, msisdns: list[str]) -> int:
        """Run credit control for these numbers, a chunk a transaction; how many there are."""
        for start in range(0, len(msisdns), CHECK_CHUNK):
            chunk = msisdns[start : start + CHECK_CHUNK]

            async def work(tx: Tx, chunk: list[str] = chunk) -> None:
                await self._credit.check(tx, chunk, now=self._clock.now())

            await self._store.transact(work)
        return len(msisdns)
