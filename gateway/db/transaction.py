"""One all-or-nothing write to the ledger: committed at the end, rolled back on any error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite


@asynccontextmanager
async def immediate_transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """``BEGIN IMMEDIATE`` (no other writer can slip in between a check and the inserts), then commit.

    On any exception the transaction is rolled back and the exception goes on.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        await db.rollback()
        raise
    await db.commit()
