"""Sweeps: raising one kind of reminder for everyone it applies to, in SQL, a range of numbers at a time.

A campaign (``gateway push run KIND``, ``POST /api/v1/pushes``) and the scheduler's dated jobs both run
a sweep. Each range of numbers is one statement in one transaction (an insert against the reminder's
unique key, so whoever already has it pending or sent for this trigger is not selected again), short
enough that answers to MOs committing beside it do not wait long.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from gateway.db import campaigns as campaigns_repo
from gateway.db import pushes as pushes_repo
from gateway.db.pushes import Selection
from gateway.db.unit import Tx, Writer
from gateway.ledger.calendar import previous_cycle
from gateway.pushes.policy import PushSetup

RANGE = 50_000  # subscribers per statement

SWEEPABLE = ("low_balance", "data_periodic", "bill_ready", "termination_warning")
"""The kinds a campaign can raise for everyone (the others follow from events only)."""


class Sweeps:
    def __init__(self, *, store: Writer, setup: PushSetup) -> None:
        self.store = store
        self.products = setup.products
        self.calendar = setup.calendar
        self.policy = setup.policy
        self.pushes = setup.pushes
        self.credit = setup.credit
        self._selections: dict[str, Callable[[float], Selection]] = {
            "low_balance": self._low_balance,
            "data_periodic": self._data_periodic,
            "bill_ready": self._bill_ready,
            "termination_warning": self._termination_warning,
        }

    async def sweep(
        self, kind: str, *, now: float, campaign: int | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Raise ``kind`` for everyone it applies to now; how many were raised (not raised before)."""
        selection = self._selections[kind](now)
        due_at = self.policy.due_at(kind, now)
        raised = 0
        low = ""
        while True:
            high = await campaigns_repo.range_end(self.store, low, size=RANGE)

            async def work(tx: Tx, low: str = low, high: str | None = high) -> int:
                return await pushes_repo.raise_selected(
                    tx, selection, kind=kind, due_at=due_at, campaign=campaign, now=now, low=low, high=high
                )

            raised += int(await self.store.transact(work))
            if progress is not None:
                progress(raised)
            if high is None:
                return raised
            low = high

    # --- who each kind applies to --------------------------------------------------------------

    def _low_balance(self, now: float) -> Selection:
        return campaigns_repo.low_balance(
            cycle=self.calendar.cycle(now),
            today=self.calendar.today(now).isoformat(),
            threshold=self.pushes.low_balance_fen,
        )

    def _data_periodic(self, now: float) -> Selection:
        codes = sorted(code for code, p in self.products.packages.items() if p.kind == "data")
        return campaigns_repo.data_periodic(day=self.calendar.today(now).isoformat(), packages=codes)

    def _bill_ready(self, now: float) -> Selection:
        return campaigns_repo.bill_ready(cycle=previous_cycle(self.calendar.cycle(now)))

    def _termination_warning(self, now: float) -> Selection:
        """Suspended (not by the operator) on a day from ``terminate_after_days`` − 1 to
        ``terminate_after_days − warn_days_before`` days ago, counted in local days."""
        days, warn = self.credit.terminate_after_days, self.credit.warn_days_before
        today = self.calendar.today(now)
        return campaigns_repo.termination_warning(
            warn_before=self.calendar.midnight(today - timedelta(days=days - warn - 1)),
            ends_before=self.calendar.midnight(today - timedelta(days=days - 1)),
        )
