"""The ledger's read repository: usage, charges, subscriptions, bills and payments of one subscriber."""

from __future__ import annotations

from gateway.db.rows import Columns
from gateway.db.unit import Reads
from gateway.db.usage import FEE_LINE
from gateway.model.ledger import Bill, Payment, Subscription, Usage
from gateway.types import Fen

SUBSCRIPTION = Columns("id", "product", "started_at", "ends_at")
PAYMENT = Columns("amount", "channel", "paid_at")


async def usage(reads: Reads, msisdn: str, cycle: str) -> dict[str, Usage]:
    """The cycle's usage, by category."""
    rows = await reads.fetch(
        "SELECT category, quantity, charged FROM usage WHERE msisdn = :msisdn AND cycle = :cycle",
        {"msisdn": msisdn, "cycle": cycle},
    )
    return {r[0]: Usage(category=r[0], quantity=r[1], charged=Fen(r[2])) for r in rows}


async def charges(reads: Reads, msisdn: str, cycle: str) -> dict[str, Fen]:
    """Everything charged in the cycle so far, by category: fixed fees plus usage beyond packages. A package's
    fee is its kind's ``_package`` category (``data_package``: the GPRS packages), apart from the usage of that
    kind (``data``: data beyond the packages, as 108 counts it)."""
    rows = await reads.fetch(
        "SELECT category, SUM(amount) FROM ("
        f" SELECT {FEE_LINE} AS category, amount FROM fee WHERE msisdn = :msisdn AND cycle = :cycle"
        " UNION ALL SELECT category, charged FROM usage WHERE msisdn = :msisdn AND cycle = :cycle"
        ") AS charged GROUP BY category",
        {"msisdn": msisdn, "cycle": cycle},
    )
    return {r[0]: Fen(r[1]) for r in rows if r[1]}


async def subscriptions(reads: Reads, msisdn: str, start: float, end: float) -> list[Subscription]:
    """Subscriptions that run for at least part of [start, end), oldest first."""
    rows = await reads.fetch(
        f"SELECT {SUBSCRIPTION} FROM subscription WHERE msisdn = :msisdn AND started_at < :end"
        " AND (ends_at IS NULL OR ends_at > :start) ORDER BY started_at, id",
        {"msisdn": msisdn, "start": start, "end": end},
    )
    return [SUBSCRIPTION.to(Subscription, r) for r in rows]


async def bill(reads: Reads, msisdn: str, cycle: str) -> Bill | None:
    """The cycle's bill with its lines, or None when no bill was made for it."""
    key = {"msisdn": msisdn, "cycle": cycle}
    totals = await reads.fetch("SELECT total FROM bill WHERE msisdn = :msisdn AND cycle = :cycle", key)
    if not totals:
        return None
    lines = await reads.fetch("SELECT category, amount FROM bill_line WHERE msisdn = :msisdn AND cycle = :cycle", key)
    return Bill(cycle=cycle, total=Fen(totals[0][0]), lines=tuple((r[0], Fen(r[1])) for r in lines))


async def bill_totals(reads: Reads, msisdn: str, cycles: list[str]) -> dict[str, Fen]:
    """The totals of the bills among ``cycles`` that were made, by cycle."""
    if not cycles:  # `IN ()` is SQLite's, not PostgreSQL's
        return {}
    marks = ",".join("?" * len(cycles))
    rows = await reads.fetch(
        f"SELECT cycle, total FROM bill WHERE msisdn = ? AND cycle IN ({marks})", (msisdn, *cycles)
    )
    return {r[0]: Fen(r[1]) for r in rows}


async def payments(reads: Reads, msisdn: str, limit: int) -> list[Payment]:
    """The latest payments, newest first."""
    rows = await reads.fetch(
        f"SELECT {PAYMENT} FROM payment WHERE msisdn = :msisdn ORDER BY paid_at DESC, id DESC LIMIT :limit",
        {"msisdn": msisdn, "limit": limit},
    )
    return [PAYMENT.to(Payment, (Fen(r[0]), r[1], r[2])) for r in rows]
