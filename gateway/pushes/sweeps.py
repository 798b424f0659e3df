"""Sweeps: raising one kind of reminder for everyone it applies to, in SQL, a range of numbers at a time.

A campaign (``gateway push run KIND``, ``POST /api/v1/pushes``) and the scheduler's dated jobs both run
a sweep. Each range of numbers is one statement in one transaction (an insert against the reminder's
unique key, so whoever already has it pending or sent for this trigger is not selected again), short
enough that answers to MOs committing beside it do not wait long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.db.store import Tx, Writer
from gateway.ledger.calendar import previous_cycle
from gateway.pushes.policy import PushSetup
from gateway.pushes.queue import REARM

RANGE = 50_000  # subscribers per statement

SWEEPABLE = ("low_balance", "data_periodic", "bill_ready", "termination_warning")
"""The kinds a campaign can raise for everyone (the others follow from events only)."""

_OPTED_IN = "NOT EXISTS (SELECT 1 FROM push_opt_out o WHERE o.msisdn = s.msisdn)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The SELECT of (msisdn, trigger) for one kind, over ``s`` (subscriber) in ``s.msisdn > :lo AND
    s.msisdn <= :hi``, with its named parameters."""

    sql: str
    params: dict[str, Any]


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
        insert = (
            "INSERT INTO push (msisdn, kind, trigger, due_at, campaign, created_at)"
            f" SELECT msisdn, :kind, trigger, :due, :campaign, :now FROM ({selection.sql}) WHERE true" + REARM
        )
        params = {
            **selection.params,
            "kind": kind,
            "due": self.policy.due_at(kind, now),
            "campaign": campaign,
            "now": now,
        }
        raised = 0
        low = ""
        while True:
            high = await self._range_end(low)

            async def work(tx: Tx, low: str = low, high: str | None = high) -> int:
                bounds = {"lo": low, "hi": high if high is not None else "\U0010ffff"}
                return await tx.execute(insert, {**params, **bounds})

            raised += int(await self.store.transact(work))
            if progress is not None:
                progress(raised)
            if high is None:
                return raised
            low = high

    async def _range_end(self, low: str) -> str | None:
        """The last number of the range after ``low``; None when the range reaches the end."""
        rows = await self.store.fetch(
            "SELECT msisdn FROM subscriber WHERE msisdn > ? ORDER BY msisdn LIMIT 1 OFFSET ?", (low, RANGE - 1)
        )
        return str(rows[0][0]) if rows else None

    # --- who each kind applies to --------------------------------------------------------------

    def _low_balance(self, now: float) -> Selection:
        return Selection(
            sql="SELECT s.msisdn AS msisdn, :cycle AS trigger FROM subscriber s"
            " JOIN account a ON a.msisdn = s.msisdn LEFT JOIN credit c ON c.msisdn = s.msisdn"
            " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status = 'active'"
            " AND COALESCE(c.state, 'active') = 'active'"
            " AND a.cash + a.credit_limit"
            " + CASE WHEN a.gift_expires IS NULL OR a.gift_expires >= :today THEN a.gift ELSE 0 END < :threshold"
            f" AND {_OPTED_IN}",
            params={
                "cycle": self.calendar.cycle(now),
                "today": self.calendar.today(now).isoformat(),
                "threshold": self.pushes.low_balance_fen,
            },
        )

    def _data_periodic(self, now: float) -> Selection:
        codes = sorted(code for code, p in self.products.packages.items() if p.kind == "data")
        marks = ",".join(f":p{n}" for n in range(len(codes)))
        return Selection(
            sql="SELECT s.msisdn AS msisdn, :day AS trigger FROM subscriber s"
            " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status = 'active'"
            " AND EXISTS (SELECT 1 FROM subscription u WHERE u.msisdn = s.msisdn"
            f" AND u.product IN ({marks}) AND u.started_at <= :now AND (u.ends_at IS NULL OR u.ends_at > :now))"
            f" AND {_OPTED_IN}",
            params={"day": self.calendar.today(now).isoformat(), **{f"p{n}": c for n, c in enumerate(codes)}},
        )

    def _bill_ready(self, now: float) -> Selection:
        return Selection(
            sql="SELECT s.msisdn AS msisdn, b.cycle AS trigger FROM subscriber s"
            " JOIN bill b ON b.msisdn = s.msisdn AND b.cycle = :cycle"
            " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status != 'terminated'"
            f" AND {_OPTED_IN}",
            params={"cycle": previous_cycle(self.calendar.cycle(now))},
        )

    def _termination_warning(self, now: float) -> Selection:
        """Suspended (not by the operator) on a day from ``terminate_after_days`` − 1 to
        ``terminate_after_days − warn_days_before`` days ago, counted in local days."""
        days, warn = self.credit.terminate_after_days, self.credit.warn_days_before
        today = self.calendar.today(now)
        return Selection(
            sql="SELECT s.msisdn AS msisdn, 'since:' || CAST(c.since AS INTEGER) AS trigger FROM subscriber s"
            " JOIN credit c ON c.msisdn = s.msisdn AND c.state = 'suspended' AND c.reason != 'operator'"
            " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND c.since < :warn_before AND c.since >= :ends_before",
            params={
                "warn_before": self.calendar.midnight(today - timedelta(days=days - warn - 1)),
                "ends_before": self.calendar.midnight(today - timedelta(days=days - 1)),
            },
        )
