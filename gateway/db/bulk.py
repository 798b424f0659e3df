"""Loading many subscribers at once (``gateway ledger import`` and ``seed``): which numbers are taken, and
plain benchmark subscribers written straight to the tables, many rows per statement.

The rows are plain dicts (:class:`PlainSubscriber`, :class:`PackageHolder`): a dataclass per row would
double the time of a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from gateway.db.unit import Connection

LOOKUP_CHUNK = 500
"""Numbers looked up per statement."""


class PlainSubscriber(TypedDict):
    """A subscriber with vip, status and secrets left to their defaults, and their account."""

    msisdn: str
    name: str
    brand: str
    plan: str
    created_on: str  # ISO date
    cash: int
    credit_limit: int


class PackageHolder(TypedDict):
    """A subscriber's package since ``started_at``: its fee this cycle and the data used of it."""

    msisdn: str
    product: str
    started_at: float
    cycle: str
    category: str  # the fee's
    fee: int
    charged_at: float
    data_used: int  # KB


async def existing_msisdns(db: Connection, msisdns: Sequence[str]) -> set[str]:
    """Those of ``msisdns`` that are already subscribers."""
    found: set[str] = set()
    for start in range(0, len(msisdns), LOOKUP_CHUNK):
        chunk = {f"m{i}": msisdn for i, msisdn in enumerate(msisdns[start : start + LOOKUP_CHUNK])}
        marks = ", ".join(f":{name}" for name in chunk)
        rows = await db.fetch(f"SELECT msisdn FROM subscriber WHERE msisdn IN ({marks})", chunk)
        found.update(row[0] for row in rows)
    return found


async def count_subscribers_between(db: Connection, first: str, last: str) -> int:
    """How many subscribers have a number from ``first`` to ``last`` (both included)."""
    rows = await db.fetch(
        "SELECT COUNT(*) FROM subscriber WHERE msisdn BETWEEN :first AND :last", {"first": first, "last": last}
    )
    return int(next(iter(rows))[0])


async def add_plain_subscribers(db: Connection, people: Sequence[PlainSubscriber]) -> None:
    """Insert the subscribers and their accounts."""
    await db.execute_many(
        "INSERT INTO subscriber (msisdn, name, brand, plan, created_on)"
        " VALUES (:msisdn, :name, :brand, :plan, :created_on)",
        people,
    )
    await db.execute_many(
        "INSERT INTO account (msisdn, cash, credit_limit) VALUES (:msisdn, :cash, :credit_limit)", people
    )


async def add_package_holders(db: Connection, holders: Sequence[PackageHolder]) -> None:
    """Insert each holder's subscription, this cycle's fee for it, and the data used this cycle."""
    await db.execute_many(
        "INSERT INTO subscription (msisdn, product, started_at) VALUES (:msisdn, :product, :started_at)", holders
    )
    await db.execute_many(
        "INSERT INTO fee (msisdn, cycle, category, product, amount, charged_at)"
        " VALUES (:msisdn, :cycle, :category, :product, :fee, :charged_at)",
        holders,
    )
    await db.execute_many(
        "INSERT INTO usage (msisdn, cycle, category, quantity, charged)"
        " VALUES (:msisdn, :cycle, 'data', :data_used, 0)",
        holders,
    )
