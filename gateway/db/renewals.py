"""The monthly cycle's repository: who is renewed for a month, what they hold at its start, the month's job.

A subscriber's renewal for a month is one row of ``renewal``, claimed at the start of the transaction that
charges the month's fees: a second run of the job (a restart after kill -9, a second instance) finds it and
charges nothing. The month's job is recorded in ``schedule_run`` (job ``month``, day the cycle) when it has
run through.
"""

from __future__ import annotations

from gateway.db.unit import Reads, Tx

MONTH_JOB = "month"


async def candidates(reads: Reads, *, cycle: str, before: str, after: str, limit: int) -> list[str]:
    """Up to ``limit`` numbers after ``after``, in order, not terminated, made before the day ``before`` and not
    renewed for ``cycle``."""
    rows = await reads.fetch(
        "SELECT s.msisdn FROM subscriber s WHERE s.msisdn > :after AND s.status != 'terminated'"
        " AND s.created_on < :before AND NOT EXISTS (SELECT 1 FROM renewal r WHERE r.msisdn = s.msisdn"
        " AND r.cycle = :cycle) ORDER BY s.msisdn LIMIT :limit",
        {"after": after, "before": before, "cycle": cycle, "limit": limit},
    )
    return [str(row[0]) for row in rows]


async def claim(tx: Tx, msisdn: str, cycle: str, *, now: float) -> bool:
    """Claim the renewal of ``msisdn`` for ``cycle``; False when it was renewed before."""
    sql = "INSERT INTO renewal (msisdn, cycle, renewed_at) VALUES (:msisdn, :cycle, :now) ON CONFLICT DO NOTHING"
    return await tx.execute(sql, {"msisdn": msisdn, "cycle": cycle, "now": now}) == 1


async def held_at(reads: Reads, msisdn: str, start: float) -> list[tuple[int, str]]:
    """The subscriptions (id, product) that started before ``start`` and run on past it, oldest first: those a
    month beginning at ``start`` renews (one cancelled in the month before ends at ``start``)."""
    rows = await reads.fetch(
        "SELECT id, product FROM subscription WHERE msisdn = :msisdn AND started_at < :start"
        " AND (ends_at IS NULL OR ends_at > :start) ORDER BY started_at, id",
        {"msisdn": msisdn, "start": start},
    )
    return [(int(row[0]), str(row[1])) for row in rows]


async def last_month(reads: Reads) -> str | None:
    """The newest month whose job has run through; None on a ledger new to the monthly cycle."""
    rows = await reads.fetch("SELECT MAX(day) FROM schedule_run WHERE job = :job", {"job": MONTH_JOB})
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


async def record_month(tx: Tx, cycle: str) -> None:
    """Record that the month's job of ``cycle`` has run through (or that this month is where the ledger starts)."""
    await tx.execute(
        "INSERT INTO schedule_run (job, day) VALUES (:job, :cycle) ON CONFLICT DO NOTHING",
        {"job": MONTH_JOB, "cycle": cycle},
    )
