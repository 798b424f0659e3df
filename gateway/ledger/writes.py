"""Putting facts into the ledger (import, seed, tests). Each call runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from gateway.db import accounts, usage
from gateway.db.unit import Connection, Tx
from gateway.ledger.secrets import hash_secret
from gateway.model.ledger import NewSubscriber
from gateway.model.usage import CycleCharge

ID_TAIL = 6
"""How many last characters of the ID number a new service password must not equal (seed 003)."""


async def add_subscribers(db: Connection, subscribers: Iterable[NewSubscriber]) -> int:
    """Insert subscribers with their accounts; secrets are hashed here and never stored in clear.

    Besides the whole ID number, its last 6 characters get a salted hash of their own: a new password
    must not equal them, and that is all they are checked for.
    """
    people = []
    books = []
    for s in subscribers:
        people.append(
            {
                "msisdn": s.msisdn,
                "name": s.name,
                "brand": s.brand,
                "vip": s.vip,
                "plan": s.plan,
                "status": s.status,
                "password_hash": hash_secret(s.password) if s.password else None,
                "id_hash": hash_secret(s.id_number) if s.id_number else None,
                "id_tail_hash": hash_secret(s.id_number[-ID_TAIL:]) if s.id_number else None,  # for the password rules
                "created_on": s.created_on.isoformat(),
                "puk": s.puk,
            }
        )
        books.append(
            {
                "msisdn": s.msisdn,
                "cash": s.cash,
                "gift": s.gift,
                "gift_expires": _iso(s.gift_expires),
                "credit_limit": s.credit_limit,
                "valid_until": _iso(s.valid_until),
                "points": s.points,
            }
        )
    await accounts.add_holders(_tx(db), people, books)
    return len(people)


async def add_subscription(
    db: Connection, msisdn: str, product: str, started_at: float, ends_at: float | None = None
) -> None:
    await accounts.add_subscription(_tx(db), msisdn=msisdn, product=product, started_at=started_at, ends_at=ends_at)


async def add_usage(db: Connection, msisdn: str, cycle: str, category: str, quantity: int, charged: int = 0) -> None:
    """Add to the cycle's usage of a category (and what it cost beyond packages)."""
    added = CycleCharge(msisdn=msisdn, cycle=cycle, category=category, quantity=quantity, charged=charged)
    await usage.add_to_cycles(_tx(db), [added])


async def add_fee(
    db: Connection, msisdn: str, cycle: str, category: str, product: str, amount: int, charged_at: float
) -> None:
    await usage.add_fee(
        _tx(db), msisdn=msisdn, cycle=cycle, category=category, product=product, amount=amount, charged_at=charged_at
    )


async def add_bill(db: Connection, msisdn: str, cycle: str, lines: Mapping[str, int]) -> None:
    """A closed month's bill; its total is the sum of its lines."""
    await usage.add_bill(_tx(db), msisdn=msisdn, cycle=cycle, lines=lines)


async def add_payment(db: Connection, msisdn: str, amount: int, channel: str, paid_at: float) -> None:
    await accounts.add_payment(_tx(db), msisdn=msisdn, amount=amount, channel=channel, paid_at=paid_at)


def _tx(db: Connection) -> Tx:
    """The caller's connection as a transaction handle: its statements join the caller's transaction."""
    return Tx(db)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
