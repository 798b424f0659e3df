"""Time-based work, run every second and after every move of a manual clock.

- Every tick: protective restores past their time limit go back to credit control (suspended again
  unless paid up), and so do active subscribers whose 7-day guard has just run out.
- Once per local day (claimed in ``schedule_run``, so a restart or a second run the same day does
  nothing): prepaid validity dates that have passed, suspensions old enough for the termination warning
  or for termination; on the 11th and 21st the data usage reminder for package holders (seed 003); on the
  1st the month's bills are closed and the bill-ready reminder raised.

A day the gateway did not run on is not made up for: the state-based checks catch up by themselves, the
dated reminders of that day are skipped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from gateway.clock import Clock
from gateway.credit.control import CreditControl
from gateway.db.store import Store, Tx
from gateway.ledger.calendar import Calendar, previous_cycle
from gateway.pushes.sweeps import Sweeps

log = logging.getLogger("gateway.schedule")

CHECK_CHUNK = 500
DATA_REMINDER_DAYS = (11, 21)


class Scheduler:
    def __init__(
        self, *, store: Store, credit: CreditControl, sweeps: Sweeps, calendar: Calendar, clock: Clock
    ) -> None:
        self._store = store
        self._credit = credit
        self._sweeps = sweeps
        self._calendar = calendar
        self._clock = clock
        self._day_done = ""

    async def tick(self) -> None:
        now = self._clock.now()
        await self._check_where("SELECT msisdn FROM credit WHERE state = 'protected' AND restore_until <= ?", (now,))
        await self._end_guards(now)
        day = self._calendar.today(now)
        if day.isoformat() == self._day_done:
            return

        async def claim(tx: Tx) -> bool:
            return await tx.execute("INSERT OR IGNORE INTO schedule_run VALUES ('daily', ?)", (day.isoformat(),)) == 1

        if await self._store.transact(claim):
            log.info("daily jobs", extra={"day": day.isoformat()})
            await self._daily(now)
        self._day_done = day.isoformat()

    async def _daily(self, now: float) -> None:
        today = self._calendar.today(now)
        credit = self._credit.config

        async def adopt(tx: Tx) -> int:  # suspended before credit control knew them (imported, seeded)
            return await tx.execute(
                "INSERT OR IGNORE INTO credit (msisdn, state, since) SELECT msisdn, status, ? FROM subscriber"
                " WHERE status != 'active'",
                (now,),
            )

        await self._store.transact(adopt)
        prepaid = sorted(code for code, p in self._credit.products.plans.items() if p.payment == "prepaid")
        await self._check_where(
            "SELECT s.msisdn FROM subscriber s JOIN account a ON a.msisdn = s.msisdn WHERE s.status = 'active'"
            f" AND a.valid_until < ? AND s.plan IN ({','.join('?' * len(prepaid))})",
            (today.isoformat(), *prepaid),
        )
        # Suspended on a day at least terminate_after_days before today (the machine decides; this finds them).
        await self._check_where(
            "SELECT msisdn FROM credit WHERE state = 'suspended' AND reason != 'operator' AND since < ?",
            (self._calendar.midnight(today - timedelta(days=credit.terminate_after_days - 1)),),
        )
        await self._sweeps.sweep("termination_warning", now=now)
        if today.day in DATA_REMINDER_DAYS:
            await self._sweeps.sweep("data_periodic", now=now)
        if today.day == 1:
            await self._close_month(previous_cycle(self._calendar.cycle(now)))
            await self._sweeps.sweep("bill_ready", now=now)

    async def _end_guards(self, now: float) -> None:
        """A 7-day guard that has run out: the balance rule applies again at once, not at the next usage."""
        if not await self._check_where("SELECT msisdn FROM credit WHERE state = 'active' AND guard_until <= ?", (now,)):
            return

        async def clear(tx: Tx) -> None:
            await tx.execute("UPDATE credit SET guard_until = NULL WHERE state = 'active' AND guard_until <= ?", (now,))

        await self._store.transact(clear)

    async def _check_where(self, sql: str, params: tuple[object, ...]) -> int:
        """Run credit control for the numbers the query finds; how many it found."""
        rows = await self._store.fetch(sql, params)
        msisdns = [str(r[0]) for r in rows]
        for start in range(0, len(msisdns), CHECK_CHUNK):
            chunk = msisdns[start : start + CHECK_CHUNK]

            async def work(tx: Tx, chunk: list[str] = chunk) -> None:
                await self._credit.check(tx, chunk, now=self._clock.now())

            await self._store.transact(work)
        return len(msisdns)

    async def _close_month(self, cycle: str) -> None:
        """Make the month's bill for everyone charged in it who has none: fees and usage charges by category."""

        async def work(tx: Tx) -> int:
            await tx.execute(
                "INSERT INTO bill_line (msisdn, cycle, category, amount)"
                " SELECT msisdn, :cycle, category, SUM(amount) FROM ("
                "  SELECT msisdn, category, amount FROM fee WHERE cycle = :cycle"
                "  UNION ALL SELECT msisdn, category, charged FROM usage WHERE cycle = :cycle AND charged > 0"
                " ) x WHERE NOT EXISTS (SELECT 1 FROM bill b WHERE b.msisdn = x.msisdn AND b.cycle = :cycle)"
                " GROUP BY msisdn, category HAVING SUM(amount) > 0",
                {"cycle": cycle},
            )
            return await tx.execute(
                "INSERT INTO bill (msisdn, cycle, total) SELECT l.msisdn, l.cycle, SUM(l.amount) FROM bill_line l"
                " WHERE l.cycle = :cycle AND NOT EXISTS (SELECT 1 FROM bill b WHERE b.msisdn = l.msisdn"
                " AND b.cycle = :cycle) GROUP BY l.msisdn",
                {"cycle": cycle},
            )

        made = await self._store.transact(work)
        log.info("month closed", extra={"cycle": cycle, "bills": made})
