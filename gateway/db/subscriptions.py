"""The subscription repository: packages ordered, cancelled and reinstated, and the fee an order charges."""

from __future__ import annotations

from gateway.db.unit import Reads, Tx


async def running(reads: Reads, msisdn: str, product: str) -> int | None:
    """The id of the running, not yet cancelled subscription to ``product``, if any."""
    rows = await reads.fetch(
        "SELECT id FROM subscription WHERE msisdn = :msisdn AND product = :product AND ends_at IS NULL"
        " ORDER BY id LIMIT 1",
        {"msisdn": msisdn, "product": product},
    )
    return rows[0][0] if rows else None


async def cancelled_but_running(reads: Reads, msisdn: str, product: str, now: float) -> bool:
    """Whether a cancelled subscription to ``product`` still runs after ``now``."""
    rows = await reads.fetch(
        "SELECT 1 FROM subscription WHERE msisdn = :msisdn AND product = :product AND ends_at > :now LIMIT 1",
        {"msisdn": msisdn, "product": product, "now": now},
    )
    return bool(rows)


async def reinstate(tx: Tx, msisdn: str, product: str, now: float) -> bool:
    """Keep on the latest cancelled subscription to ``product`` that still runs; whether there was one."""
    changed = await tx.execute(
        "UPDATE subscription SET ends_at = NULL WHERE id = (SELECT id FROM subscription"
        " WHERE msisdn = :msisdn AND product = :product AND ends_at > :now ORDER BY id DESC LIMIT 1)",
        {"msisdn": msisdn, "product": product, "now": now},
    )
    return changed == 1


async def end_at(tx: Tx, subscription_id: int, ends_at: float) -> None:
    """Cancel a subscription: it runs until ``ends_at``."""
    await tx.execute(
        "UPDATE subscription SET ends_at = :ends_at WHERE id = :id", {"ends_at": ends_at, "id": subscription_id}
    )
