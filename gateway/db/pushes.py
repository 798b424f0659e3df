"""The reminder queue (``push``) and the facts the recheck at send time reads (:mod:`gateway.pushes`).

One row per (subscriber, kind, trigger): raising the same reminder again changes nothing once it is
pending or sent, and re-arms a dropped one (:data:`REARM`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.model.pushes import Due

REARM = (
    " ON CONFLICT (msisdn, kind, trigger) DO UPDATE SET status = 'pending', reason = NULL, due_at = excluded.due_at,"
    " campaign = excluded.campaign, created_at = excluded.created_at WHERE push.status = 'dropped'"
)
"""The upsert clause: a reminder raised again re-arms a dropped one and leaves a pending or sent one alone."""

_INSERT = "INSERT INTO push (msisdn, kind, trigger, due_at, campaign, created_at)"
_DUE = Columns("id", "msisdn", "kind", "trigger")
_TOP = "\U0010ffff"  # above every number: the upper bound of the last range


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The SELECT of (msisdn, trigger) for one kind, over ``s`` (subscriber) in ``s.msisdn > :lo AND
    s.msisdn <= :hi``, with its named parameters (:mod:`gateway.db.campaigns` has them)."""

    sql: str
    params: dict[str, Any]


async def raise_one(
    tx: Tx, *, msisdn: str, kind: str, trigger: str, due_at: float, campaign: int | None, now: float
) -> bool:
    """Queue the reminder unless it is pending or was sent for this trigger; whether it is (again) pending."""
    params = {"msisdn": msisdn, "kind": kind, "trigger": trigger, "due_at": due_at, "campaign": campaign, "now": now}
    sql = _INSERT + " VALUES (:msisdn, :kind, :trigger, :due_at, :campaign, :now)" + REARM
    return await tx.execute(sql, params) == 1


async def raise_many(tx: Tx, rows: Iterable[tuple[str, str, str, float, int | None, float]]) -> None:
    """Queue several (msisdn, kind, trigger, due_at, campaign, now) reminders, each as :func:`raise_one` does."""
    await tx.execute_many(_INSERT + " VALUES (?, ?, ?, ?, ?, ?)" + REARM, rows)


async def raise_selected(
    tx: Tx,
    selection: Selection,
    *,
    kind: str,
    due_at: float,
    campaign: int | None,
    now: float,
    low: str,
    high: str | None,
) -> int:
    """Raise ``kind`` for those the selection finds in the numbers after ``low`` up to ``high`` (None: all the
    rest); how many were raised (not raised before)."""
    sql = f"{_INSERT} SELECT msisdn, :kind, trigger, :due, :campaign, :now FROM ({selection.sql}) WHERE true" + REARM
    params = {**selection.params, "kind": kind, "due": due_at, "campaign": campaign, "now": now}
    return await tx.execute(sql, {**params, "lo": low, "hi": high if high is not None else _TOP})


async def any_due(reads: Reads, *, now: float) -> bool:
    """Whether some pending reminder is due at ``now``."""
    rows = await reads.fetch("SELECT 1 FROM push WHERE status = 'pending' AND due_at <= :now LIMIT 1", {"now": now})
    return bool(rows)


async def due(tx: Tx, *, now: float, limit: int) -> list[Due]:
    """The pending reminders due at ``now``, oldest first, at most ``limit``. On a shared database they are
    locked to the end of the transaction, and those another instance has locked are skipped: each reminder
    is taken (queued or dropped) by one instance only."""
    claim = " FOR UPDATE SKIP LOCKED" if tx.shared else ""
    rows = await tx.fetch(
        f"SELECT {_DUE} FROM push WHERE status = 'pending' AND due_at <= :now ORDER BY due_at, id LIMIT :limit" + claim,
        {"now": now, "limit": limit},
    )
    return [_DUE.to(Due, row) for row in rows]


async def postpone(tx: Tx, later: Iterable[tuple[int, float]]) -> None:
    """Move each (reminder id, due_at) to its new time."""
    await tx.execute_many("UPDATE push SET due_at = ? WHERE id = ?", [(due_at, push) for push, due_at in later])


async def mark_queued(tx: Tx, queued: Iterable[tuple[int, int]]) -> None:
    """Mark each (reminder id, MT id) queued as that outbox message."""
    await tx.execute_many(
        "UPDATE push SET status = 'queued', mt_id = ? WHERE id = ?", [(mt, push) for push, mt in queued]
    )


async def mark_dropped(tx: Tx, dropped: Iterable[tuple[int, str]]) -> None:
    """Mark each (reminder id, reason) dropped for that reason."""
    await tx.execute_many(
        "UPDATE push SET status = 'dropped', reason = ? WHERE id = ?", [(reason, push) for push, reason in dropped]
    )


# --- what the recheck reads ---------------------------------------------------------------------


async def opted_out(reads: Reads, msisdns: Sequence[str]) -> set[str]:
    """Those of ``msisdns`` who opted out of reminders."""
    marks = ",".join(f":m{n}" for n in range(len(msisdns)))
    rows = await reads.fetch(
        f"SELECT msisdn FROM push_opt_out WHERE msisdn IN ({marks})", {f"m{n}": m for n, m in enumerate(msisdns)}
    )
    return {row[0] for row in rows}


async def bill_total(reads: Reads, msisdn: str, cycle: str) -> int | None:
    """The total of the subscriber's bill for ``cycle``; None when there is none."""
    rows = await reads.fetch(
        "SELECT total FROM bill WHERE msisdn = :msisdn AND cycle = :cycle", {"msisdn": msisdn, "cycle": cycle}
    )
    total: int | None = rows[0][0] if rows else None
    return total


async def change_reason(reads: Reads, change: int) -> str | None:
    """The reason of status change ``change``; None when there is no such change."""
    rows = await reads.fetch("SELECT reason FROM status_change WHERE id = :id", {"id": change})
    return str(rows[0][0]) if rows else None


async def subscriptions_between(reads: Reads, msisdn: str, *, start: float, end: float) -> list[tuple[str, float]]:
    """(product, started_at) of the subscriber's subscriptions that run at some time in [start, end)."""
    rows = await reads.fetch(
        "SELECT product, started_at FROM subscription"
        " WHERE msisdn = :msisdn AND started_at < :end AND (ends_at IS NULL OR ends_at > :start)",
        {"msisdn": msisdn, "end": end, "start": start},
    )
    return [(row[0], row[1]) for row in rows]


async def data_used(reads: Reads, msisdn: str, cycle: str) -> int:
    """The data (KB) the subscriber used in ``cycle``."""
    rows = await reads.fetch(
        "SELECT quantity FROM usage WHERE msisdn = :msisdn AND cycle = :cycle AND category = 'data'",
        {"msisdn": msisdn, "cycle": cycle},
    )
    used: int = rows[0][0] if rows else 0
    return used


async def day_charge(reads: Reads, msisdn: str, day: str) -> int:
    """The usage charged to the subscriber on ``day`` (fen)."""
    rows = await reads.fetch(
        "SELECT amount FROM daily_charge WHERE msisdn = :msisdn AND day = :day", {"msisdn": msisdn, "day": day}
    )
    amount: int = rows[0][0] if rows else 0
    return amount
