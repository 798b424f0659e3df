"""What the admin API changes in the ledger and the outbox, each as work for :meth:`Store.transact`.

A piece of work either makes all its changes or, by raising, none (the store rolls its savepoint back).
A payment is paid once per caller's id (``payment.reference``): the work looks the id up first, inside
the same transaction, so two requests with one id cannot both pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.credit.control import CreditControl
from gateway.db.store import Tx
from gateway.errors import RequestRefused, SubscriberTerminated, UnknownSubscriber
from gateway.ledger.writes import NewSubscriber
from gateway.types import Fen, OutboundMessage, Reply

STATUS_MOVES = {
    ("active", "suspended"),
    ("suspended", "active"),
    ("active", "terminated"),
    ("suspended", "terminated"),
}
"""The status changes an operator may make; terminated (销户) is final."""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Paid:
    payment: PaymentMade
    repeat: bool  # the id was paid before: nothing was paid now


async def create_subscriber(tx: Tx, new: NewSubscriber) -> None:
    """Add the subscriber and their account; 409 if the number is already in the ledger.

    The admin API takes no service password or ID number, so none is stored.
    """
    if await tx.fetch("SELECT 1 FROM subscriber WHERE msisdn = ?", (new.msisdn,)):
        raise RequestRefused(409, "conflict", f"{new.msisdn} is already a subscriber", field="msisdn")
    await tx.execute(
        "INSERT INTO subscriber (msisdn, name, brand, vip, plan, status, created_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (new.msisdn, new.name, new.brand, new.vip, new.plan, new.status, new.created_on.isoformat()),
    )
    await tx.execute(
        "INSERT INTO account (msisdn, cash, gift, gift_expires, credit_limit, valid_until, points)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            new.msisdn,
            new.cash,
            new.gift,
            _iso(new.gift_expires),
            new.credit_limit,
            _iso(new.valid_until),
            new.points,
        ),
    )


async def set_status(tx: Tx, credit: CreditControl, msisdn: str, status: str, *, now: float) -> None:
    """Move the subscriber to ``status`` through credit control (recorded, with its notice); the same status
    again changes nothing; 409 past terminated."""
    current = await _status(tx, msisdn)
    if current == status:
        return
    if (current, status) not in STATUS_MOVES:
        raise RequestRefused(
            409, "conflict", f"{msisdn} is {current}: it cannot become {status} (terminated is final)", field="status"
        )
    await credit.operator(tx, msisdn, status, now=now)


async def pay(tx: Tx, credit: CreditControl, order: PaymentOrder, *, now: float) -> Paid:
    """Add the payment to the cash book, once per ``order.reference``; credit control restores a suspended
    subscriber in the same transaction when the payment brings them above zero.

    The same id again with the same payment answers the first one and pays nothing; with a different one
    it is refused (409). A terminated number takes no payments.
    """
    rows = await tx.fetch(
        "SELECT reference, msisdn, amount, channel, paid_at FROM payment WHERE reference = ?", (order.reference,)
    )
    for reference, msisdn, amount, channel, paid_at in rows:
        before = PaymentMade(reference=reference, msisdn=msisdn, amount=Fen(amount), channel=channel, paid_at=paid_at)
        if not before.answers(order):
            raise RequestRefused(
                409, "conflict", f"id {order.reference!r} was already used for a different payment", field="id"
            )
        return Paid(payment=before, repeat=True)
    if await _status(tx, order.msisdn) == "terminated":
        raise SubscriberTerminated(order.msisdn)
    await tx.execute(
        "INSERT INTO payment (msisdn, amount, channel, paid_at, reference) VALUES (?, ?, ?, ?, ?)",
        (order.msisdn, order.amount, order.channel, now, order.reference),
    )
    changed = await tx.execute("UPDATE account SET cash = cash + ? WHERE msisdn = ?", (order.amount, order.msisdn))
    assert changed == 1, "a subscriber without an account"
    await credit.payment_made(tx, order.msisdn, now=now)
    made = PaymentMade(
        reference=order.reference, msisdn=order.msisdn, amount=order.amount, channel=order.channel, paid_at=now
    )
    return Paid(payment=made, repeat=False)


async def queue_message(tx: Tx, reply: Reply, *, now: float) -> OutboundMessage:
    """Put an MT to a subscriber (not a terminated one) in the outbox; the caller hands it to the outbox."""
    if await _status(tx, reply.destination_addr) == "terminated":
        raise SubscriberTerminated(reply.destination_addr)
    return await tx.queue_mt(reply, now=now)


async def _status(tx: Tx, msisdn: str) -> str:
    rows = await tx.fetch("SELECT status FROM subscriber WHERE msisdn = ?", (msisdn,))
    for (status,) in rows:
        return str(status)
    raise UnknownSubscriber(msisdn)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
