"""Shared setup of the repository tests (tests/test_db_*.py): a migrated ledger on either engine, and holders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from gateway.db import accounts
from gateway.db.database import open_database
from gateway.db.unit import Tx
from gateway.model.ledger import NewSubscriber


@asynccontextmanager
async def opened(ledger: str) -> AsyncIterator[Tx]:
    """A handle on a new ledger at the newest schema revision (a SQLite file or a PostgreSQL database: the
    ``ledger_at`` fixture gives one of each); its statements autocommit. Closed after."""
    db = await open_database(ledger)
    try:
        yield Tx(db)
    finally:
        await db.close()


def subscriber_row(msisdn: str, **columns: object) -> dict[str, object]:
    """The :data:`accounts.SUBSCRIBER` columns of an active 神州行 subscriber since 2025-01-01, but for ``columns``."""
    return {
        "msisdn": msisdn,
        "name": "张三",
        "brand": "神州行",
        "vip": "none",
        "plan": "SZX",
        "status": "active",
        "password_hash": None,
        "id_hash": None,
        "id_tail_hash": None,
        "created_on": "2025-01-01",
        "puk": None,
        **columns,
    }


def account_row(msisdn: str, **columns: object) -> dict[str, object]:
    """The :data:`accounts.ACCOUNT` columns of an account with empty books and no dates, but for ``columns``."""
    return {
        "msisdn": msisdn,
        "cash": 0,
        "gift": 0,
        "gift_expires": None,
        "credit_limit": 0,
        "valid_until": None,
        "points": 0,
        **columns,
    }


async def add_holder(tx: Tx, msisdn: str, **account: object) -> None:
    """A subscriber (:func:`subscriber_row`) with the account of :func:`account_row` and ``account``."""
    await accounts.add_holders(tx, [subscriber_row(msisdn)], [account_row(msisdn, **account)])


def new_subscriber(msisdn: str, **facts: Any) -> NewSubscriber:
    """A 神州行 subscriber since 2025-01-01 to import, with the :class:`NewSubscriber` ``facts`` given."""
    return NewSubscriber(
        **{"name": "张三", "brand": "神州行", "plan": "SZX", "created_on": date(2025, 1, 1), **facts}, msisdn=msisdn
    )
