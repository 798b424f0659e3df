"""Raising a reminder inside the transaction of the event that causes it.

One row per (subscriber, kind, trigger): raising the same reminder for the same trigger again (a second
scheduler run, a restart, a repeated event) changes nothing once it is pending or sent. The sender
rechecks the condition when it is due, so a reminder whose reason went away in between is dropped, not
sent; raised again later for the same trigger (the balance fell again after the payment that dropped
it), a dropped reminder is pending once more: what is "once" is the sending.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.db import pushes as pushes_repo
from gateway.db.unit import Tx
from gateway.pushes.policy import PushPolicy


async def raise_push(
    tx: Tx, policy: PushPolicy, msisdn: str, kind: str, trigger: str, *, now: float, campaign: int | None = None
) -> bool:
    """Queue the reminder unless it is pending or was sent for this trigger; whether it is (again) pending."""
    due_at = policy.due_at(kind, now)
    return await pushes_repo.raise_one(
        tx, msisdn=msisdn, kind=kind, trigger=trigger, due_at=due_at, campaign=campaign, now=now
    )


async def raise_pushes(
    tx: Tx, policy: PushPolicy, wanted: Iterable[tuple[str, str, str]], *, now: float, campaign: int | None = None
) -> None:
    """Queue several (msisdn, kind, trigger) reminders at once."""
    rows = [(m, kind, trigger, policy.due_at(kind, now), campaign, now) for m, kind, trigger in wanted]
    if rows:
        await pushes_repo.raise_many(tx, rows)
