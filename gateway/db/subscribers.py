"""The subscriber repository: a subscriber with their account, by number, one or many in a query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from gateway.db.rows import Columns
from gateway.db.unit import Reads
from gateway.model.ledger import Account, Subscriber
from gateway.types import Fen

CHUNK = 500  # numbers per query, well under SQLite's limit on parameters

Holder = tuple[Subscriber, Account]

SUBSCRIBER = Columns("msisdn", "name", "brand", "vip", "plan", "status", "created_on", table="s")
ACCOUNT = Columns("cash", "gift", "gift_expires", "credit_limit", "valid_until", "points", table="a")


async def first(reads: Reads, limit: int) -> list[tuple[str, str, str]]:
    """(msisdn, name, plan) of the first ``limit`` subscribers not terminated, by number (the handset's list)."""
    rows = await reads.fetch(
        "SELECT msisdn, name, plan FROM subscriber WHERE status != 'terminated' ORDER BY msisdn LIMIT :limit",
        {"limit": limit},
    )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


async def puk(reads: Reads, msisdn: str) -> str | None:
    """The PUK code of the number's SIM, as imported; None when there is none (or no such number)."""
    rows = await reads.fetch("SELECT puk FROM subscriber WHERE msisdn = :msisdn", {"msisdn": msisdn})
    return str(rows[0][0]) if rows and rows[0][0] else None


_QUERY = f"SELECT {SUBSCRIBER}, {ACCOUNT} FROM subscriber s JOIN account a ON a.msisdn = s.msisdn WHERE s.msisdn"


async def holder(reads: Reads, msisdn: str) -> Holder | None:
    """The subscriber and their account, or None when the number is not ours."""
    rows = await reads.fetch(f"{_QUERY} = :msisdn", {"msisdn": msisdn})
    return _holder(rows[0]) if rows else None


async def holders(reads: Reads, msisdns: Sequence[str]) -> dict[str, Holder]:
    """Those of ``msisdns`` that are ours, by number, :data:`CHUNK` numbers a query."""
    found: dict[str, Holder] = {}
    for start in range(0, len(msisdns), CHUNK):
        chunk = msisdns[start : start + CHUNK]
        for row in await reads.fetch(f"{_QUERY} IN ({','.join('?' * len(chunk))})", chunk):
            subscriber, account = _holder(row)
            found[subscriber.msisdn] = (subscriber, account)
    return found


def _holder(row: Sequence[Any]) -> Holder:
    split = len(SUBSCRIBER.names)
    s = SUBSCRIBER.mapping(row[:split])
    a = ACCOUNT.mapping(row[split:])
    subscriber = Subscriber(**{**s, "created_on": date.fromisoformat(s["created_on"])})
    account = Account(
        cash=Fen(a["cash"]),
        gift=Fen(a["gift"]),
        gift_expires=_day(a["gift_expires"]),
        credit_limit=Fen(a["credit_limit"]),
        valid_until=_day(a["valid_until"]),
        points=a["points"],
    )
    return subscriber, account


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
