"""Opening the ledger at the newest schema revision, on either engine, and checkpointing a SQLite file's WAL.

Every table lives in one database: a SQLite file (``ledger.path``) or a PostgreSQL database (``ledger.url``):
the inbox and outbox, the ledger's and the dialogs', so one transaction can change all of them. They are
made, and changed, by the revisions of :mod:`gateway.db.migrations` (``gateway ledger migrate``); the
connection settings are here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import aiosqlite

from gateway.db.errors import DatabaseError
from gateway.db.sqlite import CONNECTION_SETTINGS, SqliteDatabase, connect
from gateway.db.target import is_url
from gateway.db.unit import Database
from gateway.errors import StartupError

__all__ = ["CHECKPOINT_INTERVAL", "PREPARE", "Database", "DatabaseError", "migrate", "open_database"]

log = logging.getLogger("gateway.db.database")


async def open_database(ledger: str) -> Database:
    """The ledger at the newest schema revision: a SQLite file (made if missing, in WAL mode), or the
    PostgreSQL database at a ``postgresql://`` URL."""
    if is_url(ledger):
        await migrate(ledger)
        from gateway.db import postgres  # psycopg takes 0.4 s to import: only a process that uses it pays

        return await postgres.connect(ledger)
    return SqliteDatabase(await _open_file(ledger))


async def _open_file(path: str) -> aiosqlite.Connection:
    # Migrated, and so opened, here first: when aiosqlite's connect fails, its thread is left to report
    # to the event loop, which by then may be closed (a traceback after the one line saying why).
    await migrate(path)
    try:
        db = await connect(path)
    except (sqlite3.Error, OSError) as exc:
        raise StartupError(f"cannot open the ledger {path}: {exc}") from exc
    try:
        await _prepare(db)
    except (sqlite3.Error, OSError) as exc:
        await db.close()  # its thread would keep the process alive
        raise StartupError(f"cannot open the ledger {path}: {exc}") from exc
    return db


async def migrate(path: str) -> str:
    """Bring the file to the newest schema revision (made if missing); a StartupError names what is wrong."""
    return await asyncio.to_thread(_migrate, path)


def _migrate(path: str) -> str:
    from gateway.db.migrate import upgrade  # Alembic takes 0.3 s to import: only a process that opens a file pays

    return upgrade(path)


PREPARE = ("PRAGMA journal_mode=WAL", *CONNECTION_SETTINGS)
"""What a connection that writes runs first (WAL: the file's mode, kept once set)."""


async def _prepare(db: aiosqlite.Connection) -> None:
    for setting in PREPARE:
        await db.execute(setting)


CHECKPOINT_INTERVAL = 1.0


async def run_checkpoints(path: str) -> None:
    """Copy committed WAL pages back into the database file, beside the writer (PASSIVE never blocks it)."""
    db = await connect(path)
    try:
        await db.execute("PRAGMA busy_timeout = 5000")
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                await db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except aiosqlite.Error:
                log.warning("checkpoint failed; will try again", exc_info=True)
    finally:
        await db.close()
