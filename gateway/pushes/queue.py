"""Raising a reminder inside the transaction of the event that causes it.

One row per (subscriber, kind, trigger): raising the same reminder for the same trigger again (a second
scheduler run, a restart, a repeated event) changes nothing once it is pending or sent. The sender
rechecks the condition when it is due, so a reminder whose reason went away in between is dropped, not
sent; raised again later for the same trigger (the balance fell again after the payment that dropped
it), a dropped reminder is pending once more: what is "once" is the sending.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.db.store import Tx
from gateway.pushes.policy import PushPolicy

REARM = (
    " ON CONFLICT (msisdn, kind, trigger) DO UPDATE SET status = 'pending', reason = NULL, due_at = excluded.due_at,"
    " campaign = excluded.campaign, created_at = excluded.created_at WHERE push.status = 'dropped'"
)
"""The upsert clause: a reminder raised again re-arms a dropped one and leaves a pending or sent one alone."""

INSERT = "INSERT INTO push (msisdn, kind, trigger, due_at, campaign, created_at) VALUES (?, ?, ?, ?, ?, ?)" + REARM


async def raise_push(
    tx: Tx, policy: PushPolicy, msisdn: str, kind: str, trigger: str, *, now: float, campaign: int | None = None
) -> bool:
    """Queue the reminder unless it is pending or was sent for this trigger; whether it is (again) pending."""
    return await tx.execute(INSERT, (msisdn, kind, trigger, policy.due_at(kind, now), campaign, now)) == 1


async def raise_pushes(
    tx: Tx, policy: PushPolicy, wanted: Iterable[tuple[str, str, str]], *, now: float, campaign: int | None = None
) -> None:
    """Queue several (msisdn, kind, trigger) reminders at once."""
    rows = [(m, kind, trigger, policy.due_at(kind, now), campaign, now) for m, kind, trigger in wanted]
    if rows:
        await tx.execute_many(INSERT, rows)
