"""Reads of past bills that the rules measure against."""

from __future__ import annotations

from gateway.db.ledger import bill_totals
from gateway.db.unit import Reads
from gateway.ledger.calendar import days_in_month, last_cycles

ABNORMAL_MONTHS = 3


async def recent_bills(reads: Reads, msisdn: str, cycle: str) -> tuple[int, int]:
    """The total of the bills of the 3 months before ``cycle`` and the days of those months (seed 000:
    abnormal charges are measured against the daily average of the last three months)."""
    totals = await bill_totals(reads, msisdn, last_cycles(cycle, ABNORMAL_MONTHS))
    return sum(totals.values()), sum(days_in_month(c) for c in totals)
