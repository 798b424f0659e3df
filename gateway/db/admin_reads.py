"""What the operator reads beside the ledger's own reads: a number's subscriptions, messages, usage rejects,
status changes and which secrets it has (the admin API and ``gateway ledger show``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.db.rows import Columns
from gateway.db.unit import Reads
from gateway.errors import UnknownSubscriber
from gateway.model.ledger import Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class SentMessage:
    """An MT to the number, from the outbox."""

    id: int
    service_number: str
    text: str
    status: str  # queued | sent | failed
    created_at: float
    sent_at: float | None
    delivery_stat: str | None  # from the delivery receipt: DELIVRD, UNDELIV, ...
    mo_id: int | None  # the MO it answers; None for a notice or an ad-hoc message


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedMessage:
    """An MO from the number, from the inbox (a password or ID number in it was blanked)."""

    id: int
    service_number: str
    text: str
    status: str  # new | answered | ignored
    received_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReject:
    """A usage record on the error list, refused in whole or in part, with the reason."""

    id: int
    record_id: str
    msisdn: str
    category: str
    quantity: int
    reason: str
    detail: str
    rejected_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """A credit-control transition of a subscriber, with its reason."""

    id: int
    source: str
    target: str
    reason: str
    changed_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretsSet:
    """Whether a subscriber has a service password and an ID number (never what they are)."""

    password: bool
    id_number: bool


SUBSCRIPTION = Columns("id", "product", "started_at", "ends_at")
SENT = Columns("id", "source_addr", "text", "status", "created_at", "sent_at", "delivery_stat", "mo_id")
RECEIVED = Columns("id", "destination_addr", "text", "status", "received_at")
REJECT = Columns("id", "record_id", "msisdn", "category", "quantity", "reason", "detail", "rejected_at")
CHANGE = Columns("id", "source", "target", "reason", "changed_at")


async def subscriptions_of(reads: Reads, msisdn: str) -> list[Subscription]:
    """Every subscription of the number, running or ended, newest first."""
    rows = await reads.fetch(
        f"SELECT {SUBSCRIPTION} FROM subscription WHERE msisdn = :msisdn ORDER BY started_at DESC, id DESC",
        {"msisdn": msisdn},
    )
    return [SUBSCRIPTION.to(Subscription, row) for row in rows]


async def sent_to(reads: Reads, msisdn: str, limit: int) -> list[SentMessage]:
    """The newest ``limit`` MTs to the number, newest first."""
    rows = await reads.fetch(
        f"SELECT {SENT} FROM mt WHERE destination_addr = :msisdn ORDER BY id DESC LIMIT :limit",
        {"msisdn": msisdn, "limit": limit},
    )
    return [SentMessage(**_service_number(SENT.mapping(row), "source_addr")) for row in rows]


async def received_from(reads: Reads, msisdn: str, limit: int) -> list[ReceivedMessage]:
    """The newest ``limit`` MOs from the number, newest first."""
    rows = await reads.fetch(
        f"SELECT {RECEIVED} FROM mo WHERE source_addr = :msisdn ORDER BY id DESC LIMIT :limit",
        {"msisdn": msisdn, "limit": limit},
    )
    return [ReceivedMessage(**_service_number(RECEIVED.mapping(row), "destination_addr")) for row in rows]


async def usage_rejects(reads: Reads, *, after: int, msisdn: str | None, limit: int) -> list[UsageReject]:
    """The first ``limit`` rejects after the one numbered ``after`` (of one number, if given), oldest first."""
    of_number = " AND msisdn = :msisdn" if msisdn is not None else ""
    rows = await reads.fetch(
        f"SELECT {REJECT} FROM usage_reject WHERE id > :after{of_number} ORDER BY id LIMIT :limit",
        {"after": after, "msisdn": msisdn, "limit": limit},
    )
    return [REJECT.to(UsageReject, row) for row in rows]


async def status_changes(reads: Reads, msisdn: str) -> list[StatusChange]:
    """Every credit-control transition of the number, oldest first."""
    rows = await reads.fetch(
        f"SELECT {CHANGE} FROM status_change WHERE msisdn = :msisdn ORDER BY id", {"msisdn": msisdn}
    )
    return [CHANGE.to(StatusChange, row) for row in rows]


async def secrets_set(reads: Reads, msisdn: str) -> SecretsSet:
    """Which secrets the subscriber has; UnknownSubscriber if the number is not in the ledger."""
    rows = await reads.fetch(
        "SELECT password_hash IS NOT NULL, id_hash IS NOT NULL FROM subscriber WHERE msisdn = :msisdn",
        {"msisdn": msisdn},
    )
    for password, id_number in rows:
        return SecretsSet(password=bool(password), id_number=bool(id_number))
    raise UnknownSubscriber(msisdn)


def _service_number(values: dict[str, Any], column: str) -> dict[str, Any]:
    """A message's columns with the service number's (its source or destination) under that name."""
    values["service_number"] = values.pop(column)
    return values
