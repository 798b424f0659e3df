"""Subscribers' accounts as the ledger's writers change them: new holders, payments, validity dates, the
charges rating draws from the books, and the subscriptions the seed and the tests put in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.model.usage import Drawn

SUBSCRIBER = Columns(
    "msisdn", "name", "brand", "vip", "plan", "status", "password_hash", "id_hash", "id_tail_hash", "created_on", "puk"
)
"""The columns of a new subscriber (its secrets as salted hashes, its day as an ISO date)."""

ACCOUNT = Columns("msisdn", "cash", "gift", "gift_expires", "credit_limit", "valid_until", "points")
"""The columns of a new account (its days as ISO dates)."""


async def add_holders(
    tx: Tx, subscribers: Iterable[Mapping[str, object]], accounts: Iterable[Mapping[str, object]]
) -> None:
    """Insert subscribers and their accounts, each a mapping of :data:`SUBSCRIBER` or :data:`ACCOUNT` columns."""
    for table, columns, rows in (("subscriber", SUBSCRIBER, subscribers), ("account", ACCOUNT, accounts)):
        marks = ", ".join("?" * len(columns.names))
        await tx.execute_many(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", [[row[name] for name in columns.names] for row in rows]
        )


async def add_subscription(
    tx: Tx, *, msisdn: str, product: str, started_at: float, ends_at: float | None = None
) -> None:
    """Add a subscription to ``product`` from ``started_at`` (to ``ends_at``; None: it runs)."""
    await tx.execute(
        "INSERT INTO subscription (msisdn, product, started_at, ends_at)"
        " VALUES (:msisdn, :product, :started_at, :ends_at)",
        {"msisdn": msisdn, "product": product, "started_at": started_at, "ends_at": ends_at},
    )


async def add_payment(tx: Tx, *, msisdn: str, amount: int, channel: str, paid_at: float) -> None:
    """Add a payment to the payment list (the books are the caller's to change)."""
    await tx.execute(
        "INSERT INTO payment (msisdn, amount, channel, paid_at) VALUES (:msisdn, :amount, :channel, :paid_at)",
        {"msisdn": msisdn, "amount": amount, "channel": channel, "paid_at": paid_at},
    )


async def plan_and_validity(reads: Reads, msisdn: str) -> tuple[str, date | None] | None:
    """The subscriber's plan and prepaid validity date (None: no date); None if the number is not ours."""
    rows = await reads.fetch(
        "SELECT s.plan, a.valid_until FROM subscriber s JOIN account a ON a.msisdn = s.msisdn WHERE s.msisdn = :msisdn",
        {"msisdn": msisdn},
    )
    for plan, valid_until in rows:
        return plan, date.fromisoformat(valid_until) if valid_until else None
    return None


async def set_valid_until(tx: Tx, msisdn: str, day: date) -> None:
    """Move the prepaid validity date to ``day``."""
    await tx.execute(
        "UPDATE account SET valid_until = :day WHERE msisdn = :msisdn", {"day": day.isoformat(), "msisdn": msisdn}
    )


async def draw(tx: Tx, drawn: Iterable[Drawn]) -> None:
    """Take what rating drew from each account out of its cash and gift books."""
    await tx.execute_many(
        "UPDATE account SET cash = cash - ?, gift = gift - ? WHERE msisdn = ?",
        [(d.cash, d.gift, d.msisdn) for d in drawn],
    )


async def draw_as_read(tx: Tx, msisdn: str, *, gift: int, cash: int, from_gift: int, from_cash: int) -> bool:
    """Take ``from_gift`` and ``from_cash`` out of an account whose books still stand at ``gift`` and
    ``cash``; whether they did (False: it changed since it was read)."""
    changed = await tx.execute(
        "UPDATE account SET gift = gift - :from_gift, cash = cash - :from_cash"
        " WHERE msisdn = :msisdn AND gift = :gift AND cash = :cash",
        {"from_gift": from_gift, "from_cash": from_cash, "msisdn": msisdn, "gift": gift, "cash": cash},
    )
    return changed == 1
