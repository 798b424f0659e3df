"""Raising a reminder inside the transaction of the event that causes it.

One row per (subscriber, kind, trigger): raising the same reminder for the same trigger again (a second
scheduler run, a restart, a repeated event) changes nothing. The sender rechecks the condition when it
is due, so a reminder whose reason went away in between is dropped, not sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.pushes.policy import PushPolicy
from gateway.store import Tx

INSERT = "INSERT OR IGNORE INTO push (msisdn, kind, trigger, due_at, campaign, created_at) VALUES (?, ?, ?, ?, ?, ?)"


async def raise_push(
    tx: Tx, policy: PushPolicy, msisdn: str, kind: str, trigger: str, *, now: float, campaign: int | None = None
) -> bool:
    """Queue the reminder unless it was raised for this trigger before; whether it is new."""
    return await tx.execute(INSERT, (msisdn, kind, trigger, policy.due_at(kind, now), campaign, now)) == 1


async def raise_pushes(
    tx: Tx, policy: PushPolicy, wanted: Iterable[tuple[str, str, str]], *, now: float, campaign: int | None = None
) -> None:
    """Queue several (msisdn, kind, trigger) reminders at once."""
    rows = [(m, kind, trigger, policy.due_at(kind, now), campaign, now) for m, kind, trigger in wanted]
    if rows:
        await tx.execute_many(INSERT, rows)
