"""What the admin API changes in the ledger: new subscribers, and payments paid once per caller's id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.errors import UnknownSubscriber
from gateway.model.ledger import NewSubscriber
from gateway.types import Fen


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentOrder:
    """A payment as the caller asks for it; ``reference`` is the caller's own id of it."""

    reference: str
    msisdn: str
    amount: Fen
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMade:
    reference: str
    msisdn: str
    amount: Fen
    channel: str
    paid_at: float

    def answers(self, order: PaymentOrder) -> bool:
        """Whether this payment is what ``order`` asks for (same id, number, amount and channel)."""
        asked = (order.reference, order.msisdn, order.amount, order.channel)
        return (self.reference, self.msisdn, self.amount, self.channel) == asked


PAYMENT = Columns("reference", "msisdn", "amount", "channel", "paid_at")


async def subscriber_status(reads: Reads, msisdn: str) -> str:
    """The subscriber's status (active, suspended, terminated); UnknownSubscriber if the number is not ours."""
    rows = await reads.fetch("SELECT status FROM subscriber WHERE msisdn = :msisdn", {"msisdn": msisdn})
    for (status,) in rows:
        return str(status)
    raise UnknownSubscriber(msisdn)


async def is_subscriber(reads: Reads, msisdn: str) -> bool:
    """Whether the number is in the ledger, whatever its status."""
    return bool(await reads.fetch("SELECT 1 FROM subscriber WHERE msisdn = :msisdn", {"msisdn": msisdn}))


async def add_subscriber(tx: Tx, new: NewSubscriber) -> None:
    """Insert the subscriber and their account, with no service password or ID number."""
    await tx.execute(
        "INSERT INTO subscriber (msisdn, name, brand, vip, plan, status, created_on)"
        " VALUES (:msisdn, :name, :brand, :vip, :plan, :status, :created_on)",
        {
            "msisdn": new.msisdn,
            "name": new.name,
            "brand": new.brand,
            "vip": new.vip,
            "plan": new.plan,
            "status": new.status,
            "created_on": new.created_on.isoformat(),
        },
    )
    await tx.execute(
        "INSERT INTO account (msisdn, cash, gift, gift_expires, credit_limit, valid_until, points)"
        " VALUES (:msisdn, :cash, :gift, :gift_expires, :credit_limit, :valid_until, :points)",
        {
            "msisdn": new.msisdn,
            "cash": new.cash,
            "gift": new.gift,
            "gift_expires": _iso(new.gift_expires),
            "credit_limit": new.credit_limit,
            "valid_until": _iso(new.valid_until),
            "points": new.points,
        },
    )


async def payment_by_reference(reads: Reads, reference: str) -> PaymentMade | None:
    """The payment made under the caller's id ``reference``, if there is one."""
    rows = await reads.fetch(f"SELECT {PAYMENT} FROM payment WHERE reference = :reference", {"reference": reference})
    for row in rows:
        return PAYMENT.to(PaymentMade, row)
    return None


async def record_payment(tx: Tx, payment: PaymentMade) -> None:
    """Add the payment to the payment list and its amount to the subscriber's cash book; UnknownSubscriber
    if the number has no account."""
    await tx.execute(
        f"INSERT INTO payment ({PAYMENT}) VALUES (:reference, :msisdn, :amount, :channel, :paid_at)",
        {name: getattr(payment, name) for name in PAYMENT.names},
    )
    changed = await tx.execute(
        "UPDATE account SET cash = cash + :amount WHERE msisdn = :msisdn",
        {"amount": payment.amount, "msisdn": payment.msisdn},
    )
    if changed != 1:  # no account to credit: the whole payment is undone with its transaction
        raise UnknownSubscriber(payment.msisdn)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
