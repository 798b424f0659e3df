"""The points repository: spending points and crediting the gift book an exchange (``8``) gives."""

from __future__ import annotations

from datetime import date

from gateway.db.unit import Tx


async def spend(tx: Tx, msisdn: str, points: int) -> bool:
    """Take ``points`` from the account if it has them; whether it did."""
    changed = await tx.execute(
        "UPDATE account SET points = points - :points WHERE msisdn = :msisdn AND points >= :points",
        {"points": points, "msisdn": msisdn},
    )
    return changed == 1


async def credit_gift(tx: Tx, msisdn: str, *, amount: int, expires: date, today: date) -> None:
    """Add ``amount`` to the gift book, spendable until ``expires`` (a gift book already forfeited on ``today``
    starts again from nothing; one valid longer keeps its later day)."""
    await tx.execute(
        "UPDATE account SET"
        " gift = CASE WHEN gift_expires IS NOT NULL AND gift_expires < :today THEN 0 ELSE gift END + :amount,"
        " gift_expires = CASE WHEN gift_expires IS NOT NULL AND gift_expires > :expires AND gift_expires >= :today"
        " THEN gift_expires ELSE :expires END WHERE msisdn = :msisdn",
        {"amount": amount, "expires": expires.isoformat(), "today": today.isoformat(), "msisdn": msisdn},
    )
