"""What the admin API changes in the ledger and the outbox, each as work for :meth:`Store.transact`.

A piece of work either makes all its changes or, by raising, none (the store rolls its savepoint back).
A payment is paid once per caller's id (``payment.reference``): the work looks the id up first, inside
the same transaction, so two requests with one id cannot both pay.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.credit.control import CreditControl
from gateway.db import admin_changes, messages
from gateway.db.admin_changes import PaymentMade, PaymentOrder
from gateway.db.unit import Tx
from gateway.errors import RequestRefused, SubscriberTerminated
from gateway.model.ledger import NewSubscriber
from gateway.types import OutboundMessage, Reply

STATUS_MOVES = {
    ("active", "suspended"),
    ("suspended", "active"),
    ("active", "terminated"),
    ("suspended", "terminated"),
}
"""The status changes an operator may make; terminated (销户) is final."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Paid:
    payment: PaymentMade
    repeat: bool  # the id was paid before: nothing was paid now


async def create_subscriber(tx: Tx, new: NewSubscriber) -> None:
    """Add the subscriber and their account; 409 if the number is already in the ledger.

    The admin API takes no service password or ID number, so none is stored.
    """
    if await admin_changes.is_subscriber(tx, new.msisdn):
        raise RequestRefused(409, "conflict", f"{new.msisdn} is already a subscriber", field="msisdn")
    await admin_changes.add_subscriber(tx, new)


async def set_status(tx: Tx, credit: CreditControl, msisdn: str, status: str, *, now: float) -> None:
    """Move the subscriber to ``status`` through credit control (recorded, with its notice); the same status
    again changes nothing; 409 past terminated."""
    current = await admin_changes.subscriber_status(tx, msisdn)
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
    before = await admin_changes.payment_by_reference(tx, order.reference)
    if before is not None:
        if not before.answers(order):
            raise RequestRefused(
                409, "conflict", f"id {order.reference!r} was already used for a different payment", field="id"
            )
        return Paid(payment=before, repeat=True)
    if await admin_changes.subscriber_status(tx, order.msisdn) == "terminated":
        raise SubscriberTerminated(order.msisdn)
    made = PaymentMade(
        reference=order.reference, msisdn=order.msisdn, amount=order.amount, channel=order.channel, paid_at=now
    )
    await admin_changes.record_payment(tx, made)
    await credit.payment_made(tx, order.msisdn, now=now)
    return Paid(payment=made, repeat=False)


async def queue_message(tx: Tx, reply: Reply, *, now: float) -> OutboundMessage:
    """Put an MT to a subscriber (not a terminated one) in the outbox; the caller hands it to the outbox."""
    if await admin_changes.subscriber_status(tx, reply.destination_addr) == "terminated":
        raise SubscriberTerminated(reply.destination_addr)
    return await messages.queue_mt(tx, reply, now=now)
