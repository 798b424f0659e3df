"""The subscriber's choices of how the bill comes (381 by SMS, 385 as an e-bill): ``bill_choice``, one row per
number that chose; a number without a row takes the bill by SMS and no e-bill."""

from __future__ import annotations

from gateway.db.unit import Reads, Tx

BY_SMS_OFF = "NOT EXISTS (SELECT 1 FROM bill_choice c WHERE c.msisdn = s.msisdn AND c.by_sms = 0)"
"""A selection's condition (subscriber ``s``): the bill-ready reminder goes to those who take the bill by SMS."""


async def bill_choice(reads: Reads, msisdn: str) -> tuple[bool, bool]:
    """(by SMS, e-bill) as the subscriber chose; (True, False) by default."""
    rows = await reads.fetch("SELECT by_sms, ebill FROM bill_choice WHERE msisdn = :msisdn", {"msisdn": msisdn})
    return (bool(rows[0][0]), bool(rows[0][1])) if rows else (True, False)


async def choose_bill(tx: Tx, msisdn: str, *, by_sms: bool, ebill: bool, now: float) -> None:
    """Record how the subscriber wants the bill."""
    await tx.execute(
        "INSERT INTO bill_choice (msisdn, by_sms, ebill, changed_at) VALUES (:msisdn, :by_sms, :ebill, :now)"
        " ON CONFLICT (msisdn) DO UPDATE SET by_sms = excluded.by_sms, ebill = excluded.ebill,"
        " changed_at = excluded.changed_at",
        {"msisdn": msisdn, "by_sms": int(by_sms), "ebill": int(ebill), "now": now},
    )
