"""The 1st of the month: the month that ended is closed, the new one charged.

For each month whose 1st has come and whose job has not run through (``schedule_run``, job ``month``), in order:

1. The bills of the month before are made (fees and usage charges by line) and the points each earned are
   credited (:func:`gateway.db.campaigns.close_month`, one transaction).
2. Every subscriber made before the month and not terminated is renewed, one transaction each
   (:mod:`gateway.ledger.renewal` decides): the plan's fee and the fee of each package held, each a fee line of
   the new month; a package the balance cannot cover lapses, and its notice is raised; credit control looks at
   the subscriber (a plan fee into arrears may suspend a prepaid number) and a low balance is told. The
   transaction first claims ``renewal`` (subscriber, month): run again after kill -9, the job charges only those
   it had not reached.
3. The bill-ready reminder is raised for every bill of the month before.

A ledger the monthly job has never run on starts where it stands: at the gateway's start its current month is
recorded as done, so a ledger seeded or imported during a month (even on the 1st) is not charged that month
again; the next 1st is its first.
Months the gateway was down for are made up when it starts (the 1st of each); a manual clock moved past a 1st
runs that month's job at the next tick.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.credit.control import CreditControl
from gateway.db import accounts, credit, renewals, subscriptions, usage
from gateway.db import campaigns as campaigns_repo
from gateway.db.unit import Tx, Writer
from gateway.ledger.calendar import next_cycle, previous_cycle
from gateway.ledger.renewal import Lapse, Renewal, renew
from gateway.model.usage import Drawn
from gateway.pushes.policy import PushSetup
from gateway.pushes.queue import raise_pushes
from gateway.pushes.sweeps import Sweeps

log = logging.getLogger("gateway.month")

PAGE = 500  # subscribers read at a time
AT_ONCE = 100  # renewals handed to the writer together (each its own transaction, committed in groups)


class MonthlyCycle:
    def __init__(self, *, store: Writer, setup: PushSetup, credit: CreditControl, sweeps: Sweeps) -> None:
        self.store = store
        self.setup = setup
        self.products = setup.products
        self.calendar = setup.calendar
        self.credit = credit
        self.sweeps = sweeps
        self._done = ""  # the newest month known to have run through, to skip the ledger on most ticks

    async def begin(self, *, now: float) -> None:
        """At the gateway's start: a ledger new to the monthly cycle starts in the month it stands in (its fees
        are not charged again); one that has run it before is left as it is."""
        if await renewals.last_month(self.store) is None:
            await self._record(self.calendar.cycle(now))
            log.info("monthly cycle starts", extra={"cycle": self.calendar.cycle(now)})

    async def run(self, *, now: float) -> list[str]:
        """Run the job of every month due and not run through; the months it ran."""
        cycle = self.calendar.cycle(now)
        if cycle == self._done:
            return []
        last = await renewals.last_month(self.store)
        if last is None:  # not begun (begin() runs at the start): begin now
            await self.begin(now=now)
            self._done = cycle
            return []
        ran = []
        month = next_cycle(last)
        while month <= cycle:
            await self.month(month, now=now)
            ran.append(month)
            month = next_cycle(month)
        self._done = cycle
        return ran

    async def month(self, cycle: str, *, now: float) -> None:
        """The job of one month: close the month before, renew everyone, tell them their bill is ready."""
        ended = previous_cycle(cycle)

        async def close(tx: Tx) -> int:
            return await campaigns_repo.close_month(tx, ended, points_per_yuan=self.products.points.per_yuan)

        bills = await self.store.transact(close)
        renewed = await self.renew_all(cycle, now=now)
        await self.sweeps.sweep("bill_ready", now=now)
        await self._record(cycle)
        log.info("month done", extra={"cycle": cycle, "bills": bills, "renewed": renewed})

    async def renew_all(self, cycle: str, *, now: float) -> int:
        """Renew for ``cycle`` everyone due and not renewed yet; how many were renewed now."""
        before = self.calendar.today(self.calendar.cycle_start(cycle)).isoformat()
        renewed = 0
        after = ""
        while True:
            page = await renewals.candidates(self.store, cycle=cycle, before=before, after=after, limit=PAGE)
            if not page:
                return renewed
            for start in range(0, len(page), AT_ONCE):
                done = await asyncio.gather(*(self._renew(m, cycle, now) for m in page[start : start + AT_ONCE]))
                renewed += sum(done)
            after = page[-1]

    async def _renew(self, msisdn: str, cycle: str, now: float) -> bool:
        async def work(tx: Tx) -> bool:
            return await self.renew_one(tx, msisdn, cycle, now=now)

        result: bool = await self.store.transact(work)
        return result

    async def renew_one(self, tx: Tx, msisdn: str, cycle: str, *, now: float) -> bool:
        """Renew one subscriber for ``cycle`` in ``tx``; False when renewed before (or not a subscriber)."""
        if not await renewals.claim(tx, msisdn, cycle, now=now):
            return False
        standing = (await credit.standings(tx, [msisdn])).get(msisdn)
        if standing is None:
            return False
        start = self.calendar.cycle_start(cycle)
        held = [
            (subscription, package)
            for subscription, code in await renewals.held_at(tx, msisdn, start)
            if (package := self.products.packages.get(code)) is not None
        ]
        result = renew(
            plan=self.products.plans.get(standing.subscriber.plan),
            held=held,
            account=standing.account,
            today=self.calendar.today(start),
            suspended=standing.state == "suspended",
        )
        await self._write(tx, msisdn, cycle, start, result)
        moved = await self.credit.check(tx, [msisdn], now=now) if result.fees else []  # what the charges did
        await self._notices(tx, msisdn, cycle, result, suspended=bool(moved) or standing.state == "suspended", now=now)
        return True

    async def _write(self, tx: Tx, msisdn: str, cycle: str, start: float, result: Renewal) -> None:
        for fee in result.fees:
            await usage.add_fee(
                tx,
                msisdn=msisdn,
                cycle=cycle,
                category=fee.category,
                product=fee.product,
                amount=fee.amount,
                charged_at=start,
            )
        if result.fees:
            await accounts.draw(tx, [Drawn(msisdn=msisdn, cash=result.from_cash, gift=result.from_gift)])
        for lapse in result.lapsed:
            await subscriptions.end_at(tx, lapse.subscription, start)

    async def _notices(self, tx: Tx, msisdn: str, cycle: str, result: Renewal, *, suspended: bool, now: float) -> None:
        wanted = [(msisdn, "package_lapsed", _lapse_trigger(cycle, lapse)) for lapse in result.lapsed]
        if result.fees and not suspended:
            account = (await credit.standings(tx, [msisdn]))[msisdn].account
            if account.available_on(self.calendar.today(now)) < self.setup.pushes.low_balance_fen:
                wanted.append((msisdn, "low_balance", cycle))
        await raise_pushes(tx, self.setup.policy, wanted, now=now)

    async def _record(self, cycle: str) -> None:
        async def work(tx: Tx) -> None:
            await renewals.record_month(tx, cycle)

        await self.store.transact(work)


def _lapse_trigger(cycle: str, lapse: Lapse) -> str:
    """``cycle:code``, with ``:suspended`` when the number was suspended (the notice says why)."""
    return f"{cycle}:{lapse.package.code}" + (":suspended" if lapse.reason == "suspended" else "")
