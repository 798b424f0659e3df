"""Billing cycles in the operator's time zone: which month an instant falls in, and month arithmetic.

A cycle is a calendar month named ``'2026-11'``. It starts at 00:00:00 local time on the 1st; the
instant 23:59:59.999 on the last day still belongs to it. Time comes in as epoch seconds from the
injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Calendar:
    zone: ZoneInfo

    @classmethod
    def named(cls, name: str) -> Calendar:
        return cls(ZoneInfo(name))

    def local(self, instant: float) -> datetime:
        return datetime.fromtimestamp(instant, self.zone)

    def instant(self, local: datetime) -> float:
        """Epoch seconds of a wall-clock time in this zone (a time that carries its own zone keeps it)."""
        return (local if local.tzinfo is not None else local.replace(tzinfo=self.zone)).timestamp()

    def midnight(self, day: date) -> float:
        """The epoch instant ``day`` begins at, local time."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()

    def today(self, instant: float) -> date:
        return self.local(instant).date()

    def cycle(self, instant: float) -> str:
        return cycle_of(self.today(instant))

    def cycle_start(self, cycle: str) -> float:
        """The epoch instant the cycle begins at (local midnight on the 1st)."""
        year, month = parse_cycle(cycle)
        return datetime(year, month, 1, tzinfo=self.zone).timestamp()

    def cycle_end(self, cycle: str) -> float:
        """The epoch instant the next cycle begins at."""
        return self.cycle_start(next_cycle(cycle))


def cycle_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_cycle(cycle: str) -> tuple[int, int]:
    year, month = cycle.split("-")
    return int(year), int(month)


def add_months(cycle: str, months: int) -> str:
    year, month = parse_cycle(cycle)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_cycle(cycle: str) -> str:
    return add_months(cycle, 1)


def previous_cycle(cycle: str) -> str:
    return add_months(cycle, -1)


def last_cycles(cycle: str, count: int) -> list[str]:
    """The ``count`` cycles before ``cycle``, newest first."""
    return [add_months(cycle, -n) for n in range(1, count + 1)]


def days_in_month(cycle: str) -> int:
    start = date(*parse_cycle(cycle), 1)
    return ((start + timedelta(days=32)).replace(day=1) - start).days
