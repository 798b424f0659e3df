"""Putting facts into the ledger (import, seed, tests). Each call runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import aiosqlite

from gateway.ledger.secrets import hash_secret

ID_TAIL = 6
"""How many last characters of the ID number a new service password must not equal (seed 003)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSubscriber:
    msisdn: str
    name: str
    brand: str
    plan: str
    created_on: date
    vip: str = "none"
    status: str = "active"
    cash: int = 0
    gift: int = 0
    gift_expires: date | None = None
    credit_limit: int = 0
    valid_until: date | None = None
    points: int = 0
    password: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)


async def add_subscribers(db: aiosqlite.Connection, subscribers: Iterable[NewSubscriber]) -> int:
    """Insert subscribers with their accounts; secrets are hashed here and never stored in clear.

    Besides the whole ID number, its last 6 characters get a salted hash of their own: a new password
    must not equal them, and that is all they are checked for.
    """
    people = []
    accounts = []
    for s in subscribers:
        people.append(
            (
                s.msisdn,
                s.name,
                s.brand,
                s.vip,
                s.plan,
                s.status,
                hash_secret(s.password) if s.password else None,
                hash_secret(s.id_number) if s.id_number else None,
                hash_secret(s.id_number[-ID_TAIL:]) if s.id_number else None,  # for the password rules
                s.created_on.isoformat(),
            )
        )
        accounts.append((s.msisdn, s.cash, s.gift, _iso(s.gift_expires), s.credit_limit, _iso(s.valid_until), s.points))
    await db.executemany(
        "INSERT INTO subscriber (msisdn, name, brand, vip, plan, status, password_hash, id_hash, id_tail_hash,"
        " created_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        people,
    )
    await db.executemany("INSERT INTO account VALUES (?, ?, ?, ?, ?, ?, ?)", accounts)
    return len(people)


async def add_subscription(
    db: aiosqlite.Connection, msisdn: str, product: str, started_at: float, ends_at: float | None = None
) -> None:
    await db.execute(
        "INSERT INTO subscription (msisdn, product, started_at, ends_at) VALUES (?, ?, ?, ?)",
        (msisdn, product, started_at, ends_at),
    )


async def add_usage(
    db: aiosqlite.Connection, msisdn: str, cycle: str, category: str, quantity: int, charged: int = 0
) -> None:
    """Add to the cycle's usage of a category (and what it cost beyond packages)."""
    await db.execute(
        "INSERT INTO usage VALUES (?, ?, ?, ?, ?) ON CONFLICT (msisdn, cycle, category)"
        " DO UPDATE SET quantity = quantity + excluded.quantity, charged = charged + excluded.charged",
        (msisdn, cycle, category, quantity, charged),
    )


async def add_fee(
    db: aiosqlite.Connection, msisdn: str, cycle: str, category: str, product: str, amount: int, charged_at: float
) -> None:
    await db.execute(
        "INSERT INTO fee (msisdn, cycle, category, product, amount, charged_at) VALUES (?, ?, ?, ?, ?, ?)",
        (msisdn, cycle, category, product, amount, charged_at),
    )


async def add_bill(db: aiosqlite.Connection, msisdn: str, cycle: str, lines: Mapping[str, int]) -> None:
    """A closed month's bill; its total is the sum of its lines."""
    await db.execute("INSERT INTO bill VALUES (?, ?, ?)", (msisdn, cycle, sum(lines.values())))
    await db.executemany(
        "INSERT INTO bill_line VALUES (?, ?, ?, ?)",
        [(msisdn, cycle, category, amount) for category, amount in lines.items()],
    )


async def add_payment(db: aiosqlite.Connection, msisdn: str, amount: int, channel: str, paid_at: float) -> None:
    await db.execute(
        "INSERT INTO payment (msisdn, amount, channel, paid_at) VALUES (?, ?, ?, ?)", (msisdn, amount, channel, paid_at)
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
