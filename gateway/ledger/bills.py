"""Reads of past bills that the rules measure against."""

from __future__ import annotations

from gateway.db.store import Tx
from gateway.ledger.calendar import days_in_month, last_cycles

ABNORMAL_MONTHS = 3


async def recent_bills(tx: Tx, msisdn: str, cycle: str) -> tuple[int, int]:
    """The total of the bills of the 3 months before ``cycle`` and the days of those months (seed 000:
    abnormal charges are measured against the daily average of the last three months)."""
    cycles = last_cycles(cycle, ABNORMAL_MONTHS)
    rows = await tx.fetch(
        f"SELECT cycle, total FROM bill WHERE msisdn = ? AND cycle IN ({','.join('?' * len(cycles))})",
        (msisdn, *cycles),
    )
    return sum(t for _, t in rows), sum(days_in_month(c) for c, _ in rows)
