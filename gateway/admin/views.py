"""The admin API's answers as JSON, each shape beside its JSON Schema (named in :data:`SCHEMAS`).

Money is integer fen (``*_fen``), days are ISO dates, instants ISO 8601 in the operator's time zone.
A subscriber's service password and ID number (their hashes) are never shown.
"""

from __future__ import annotations

from typing import Any

from gateway.db.admin_changes import PaymentMade
from gateway.db.admin_reads import ReceivedMessage, SentMessage
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.model.ledger import Account, Subscriber, Subscription
from gateway.types import OutboundMessage

Json = dict[str, Any]

_STRING: Json = {"type": "string"}
_INTEGER: Json = {"type": "integer"}
_FEN: Json = {"type": "integer", "description": "fen (1元 = 100 fen)"}
_DATE: Json = {"type": "string", "format": "date"}
_INSTANT: Json = {"type": "string", "format": "date-time"}


def _nullable(schema: Json) -> Json:
    return {**schema, "type": [schema["type"], "null"]}


def _object(description: str, **properties: Json) -> Json:
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "properties": properties,
    }


def _list(items: Json) -> Json:
    return {"type": "array", "items": items}


_ACCOUNT = _object(
    "the account: cash and gift books, credit limit; balance = cash + valid gift; available = balance + credit",
    cash_fen=_FEN,
    gift_fen=_FEN,
    gift_expires=_nullable(_DATE),
    credit_limit_fen=_FEN,
    valid_until=_nullable(_DATE),
    points=_INTEGER,
    balance_fen=_FEN,
    available_fen=_FEN,
)

_SUBSCRIPTION = _object(
    "a package the subscriber has or had; ends_at null while it runs until cancelled",
    id=_INTEGER,
    product=_STRING,
    name=_nullable(_STRING),
    monthly_fee_fen=_nullable(_FEN),
    started_at=_INSTANT,
    ends_at=_nullable(_INSTANT),
    running={"type": "boolean"},
)

_SENT = _object(
    "an MT to the subscriber (outbox)",
    id=_INTEGER,
    service_number=_STRING,
    text=_STRING,
    status={"type": "string", "enum": ["queued", "sent", "failed"]},
    created_at=_INSTANT,
    sent_at=_nullable(_INSTANT),
    delivery_stat=_nullable(_STRING),
    mo_id=_nullable(_INTEGER),
)

_RECEIVED = _object(
    "an MO from the subscriber (inbox); a password or ID number in it was blanked",
    id=_INTEGER,
    service_number=_STRING,
    text=_STRING,
    status={"type": "string", "enum": ["new", "answered", "ignored", "duplicate"]},
    received_at=_INSTANT,
)

SCHEMAS: dict[str, Json] = {
    "Subscriber": _object(
        "a subscriber and their account",
        msisdn=_STRING,
        name=_STRING,
        brand=_STRING,
        vip=_STRING,
        plan=_STRING,
        status={"type": "string", "enum": ["active", "suspended", "terminated"]},
        created_on=_DATE,
        account=_ACCOUNT,
    ),
    "Subscriptions": _object(
        "every subscription of the number, newest first", msisdn=_STRING, items=_list(_SUBSCRIPTION)
    ),
    "Payment": _object(
        "a payment, as first made (a repeat of its id answers the same)",
        id=_STRING,
        msisdn=_STRING,
        amount_fen=_FEN,
        channel=_STRING,
        paid_at=_INSTANT,
    ),
    "Messages": _object(
        "the newest 100 MTs to the number and the newest 100 MOs from it, newest first",
        msisdn=_STRING,
        sent=_list(_SENT),
        received=_list(_RECEIVED),
    ),
    "QueuedMessage": _object(
        "an MT put in the outbox; the gateway sends it as soon as the SMPP link allows",
        id=_INTEGER,
        msisdn=_STRING,
        service_number=_STRING,
        text=_STRING,
        status={"type": "string", "enum": ["queued"]},
    ),
}


def subscriber_json(subscriber: Subscriber, account: Account, *, now: float, calendar: Calendar) -> Json:
    today = calendar.today(now)
    return {
        "msisdn": subscriber.msisdn,
        "name": subscriber.name,
        "brand": subscriber.brand,
        "vip": subscriber.vip,
        "plan": subscriber.plan,
        "status": subscriber.status,
        "created_on": subscriber.created_on.isoformat(),
        "account": {
            "cash_fen": account.cash,
            "gift_fen": account.gift,
            "gift_expires": account.gift_expires.isoformat() if account.gift_expires else None,
            "credit_limit_fen": account.credit_limit,
            "valid_until": account.valid_until.isoformat() if account.valid_until else None,
            "points": account.points,
            "balance_fen": account.balance_on(today),
            "available_fen": account.available_on(today),
        },
    }


def subscriptions_json(
    msisdn: str, subscriptions: list[Subscription], *, now: float, calendar: Calendar, products: Products
) -> Json:
    def one(s: Subscription) -> Json:
        package = products.packages.get(s.product)
        return {
            "id": s.id,
            "product": s.product,
            "name": package.name if package else None,
            "monthly_fee_fen": package.monthly_fee_fen if package else None,
            "started_at": _instant(s.started_at, calendar),
            "ends_at": _instant(s.ends_at, calendar) if s.ends_at is not None else None,
            "running": s.ends_at is None or s.ends_at > now,
        }

    return {"msisdn": msisdn, "items": [one(s) for s in subscriptions]}


def payment_json(payment: PaymentMade, *, calendar: Calendar) -> Json:
    return {
        "id": payment.reference,
        "msisdn": payment.msisdn,
        "amount_fen": payment.amount,
        "channel": payment.channel,
        "paid_at": _instant(payment.paid_at, calendar),
    }


def messages_json(msisdn: str, sent: list[SentMessage], received: list[ReceivedMessage], *, calendar: Calendar) -> Json:
    return {
        "msisdn": msisdn,
        "sent": [
            {
                "id": m.id,
                "service_number": m.service_number,
                "text": m.text,
                "status": m.status,
                "created_at": _instant(m.created_at, calendar),
                "sent_at": _instant(m.sent_at, calendar) if m.sent_at is not None else None,
                "delivery_stat": m.delivery_stat,
                "mo_id": m.mo_id,
            }
            for m in sent
        ],
        "received": [
            {
                "id": m.id,
                "service_number": m.service_number,
                "text": m.text,
                "status": m.status,
                "received_at": _instant(m.received_at, calendar),
            }
            for m in received
        ],
    }


def queued_json(mt: OutboundMessage) -> Json:
    return {
        "id": mt.id,
        "msisdn": mt.destination_addr,
        "service_number": mt.source_addr,
        "text": mt.text,
        "status": "queued",
    }


def _instant(epoch: float, calendar: Calendar) -> str:
    return calendar.local(epoch).isoformat()


_NULLABLE_STRING = _nullable(_STRING)
_COUNT: Json = {"type": "integer", "minimum": 0}

BILLING_SCHEMAS: dict[str, Json] = {
    "UsageResult": _object(
        "what a usage batch did: each new record's grant and charge, the ids seen before, the records refused",
        rated=_list(
            _object(
                "a record rated now: granted ≤ its quantity; the refused part went to the error list with the reason",
                id=_STRING,
                msisdn=_STRING,
                granted=_COUNT,
                charged_fen=_FEN,
                refused=_COUNT,
                reason=_NULLABLE_STRING,
            )
        ),
        charged_fen=_FEN,
        duplicates=_list(_STRING),
        rejected=_list(_object("a record refused whole", id=_STRING, msisdn=_STRING, reason=_STRING, detail=_STRING)),
        suspended=_list(_STRING),
    ),
    "UsageRejects": _object(
        "the error list, oldest first; pass next_after as ?after= for the next page",
        rejects=_list(
            _object(
                "a refused record, or the refused part of one",
                seq=_INTEGER,
                id=_STRING,
                msisdn=_STRING,
                category=_STRING,
                quantity=_COUNT,
                reason=_STRING,
                detail=_STRING,
                rejected_at=_INSTANT,
            )
        ),
        next_after=_INTEGER,
    ),
    "ProtectiveRestore": _object(
        "the restore: usage allowed down to floor_fen (available balance) until the time",
        msisdn=_STRING,
        state={"type": "string", "enum": ["protected"]},
        until=_INSTANT,
        allowance_fen=_FEN,
        floor_fen=_FEN,
    ),
    "StatusHistory": _object(
        "credit-control transitions, oldest first",
        msisdn=_STRING,
        changes=_list(
            _object("one transition", id=_INTEGER, **{"from": _STRING, "to": _STRING}, reason=_STRING, at=_INSTANT)
        ),
    ),
    "CampaignProgress": _object(
        "a campaign's reminders by where they are",
        id=_INTEGER,
        kind=_STRING,
        started_at={"type": "number"},
        selecting={"type": "boolean"},
        selected=_COUNT,
        pending=_COUNT,
        queued=_COUNT,
        sent=_COUNT,
        delivered=_COUNT,
        failed=_COUNT,
        dropped=_COUNT,
        in_flight=_COUNT,
        settled={"type": "boolean"},
    ),
}
