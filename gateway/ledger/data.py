"""Data packages in a cycle: proration of the quota, and how the month's data was spread over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Package

PRORATION_DAY = 16
"""Ordered on or after this day of a month: half the fee and half the quota for that month (seed 003)."""


def prorated(amount: int, started_at: float, cycle: str, calendar: Calendar) -> int:
    """``amount`` for the cycle, halved (rounded down) when the package started in it on or after the 16th."""
    started = calendar.local(started_at)
    if calendar.cycle(started_at) == cycle and started.day >= PRORATION_DAY:
        return amount // 2
    return amount


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageUse:
    package: Package
    quota_kb: int
    used_kb: int

    @property
    def left_kb(self) -> int:
        return self.quota_kb - self.used_kb


def spread_data(used_kb: int, packages: Sequence[tuple[Package, int]]) -> tuple[list[PackageUse], int]:
    """Fill the packages (with their quota for this cycle) in order; return their use and the KB beyond them."""
    uses = []
    left = used_kb
    for package, quota in packages:
        taken = min(left, quota)
        uses.append(PackageUse(package=package, quota_kb=quota, used_kb=taken))
        left -= taken
    return uses, left
