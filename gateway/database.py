"""The gateway's SQLite file: its inbox and outbox tables, opening it, and checkpointing its WAL.

Every table lives in one file (``ledger.path``): the inbox and outbox here, the ledger's and the
dialogs' in :mod:`gateway.ledger.schema`, so one transaction can change all of them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import aiosqlite

from gateway.db.sqlite import connect
from gateway.errors import StartupError
from gateway.ledger.schema import SCHEMA as LEDGER_SCHEMA

log = logging.getLogger("gateway.database")

SCHEMA = """
CREATE TABLE IF NOT EXISTS mo (
    id INTEGER PRIMARY KEY,
    source_addr TEXT NOT NULL,
    destination_addr TEXT NOT NULL,
    text TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 1,
    received_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',          -- new | answered | ignored | duplicate
    handled_at REAL,
    ack_confirmed INTEGER NOT NULL DEFAULT 0,    -- the SMSC surely read our deliver_sm_resp (see inbox.py)
    too_long INTEGER NOT NULL DEFAULT 0,         -- over gateway.max_mo_octets: text cut, answered so
    redelivery_of INTEGER,                       -- the MO this may be the SMSC's second delivery of
    effect INTEGER NOT NULL DEFAULT 0            -- handled in a dialog's transaction (it may change things)
);
CREATE INDEX IF NOT EXISTS mo_new ON mo (status) WHERE status = 'new';
CREATE INDEX IF NOT EXISTS mo_by_source ON mo (source_addr, id);
CREATE TABLE IF NOT EXISTS mo_part (
    source_addr TEXT NOT NULL,
    destination_addr TEXT NOT NULL,
    reference INTEGER NOT NULL,
    total INTEGER NOT NULL,
    seqno INTEGER NOT NULL,
    data_coding INTEGER NOT NULL,
    payload BLOB NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (source_addr, destination_addr, reference, total, seqno)
);
CREATE TABLE IF NOT EXISTS mt (
    id INTEGER PRIMARY KEY,
    mo_id INTEGER,
    source_addr TEXT NOT NULL,
    destination_addr TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',       -- queued | sent | failed
    sent_at REAL,
    command_status INTEGER,
    delivery_stat TEXT
);
CREATE INDEX IF NOT EXISTS mt_queued ON mt (status) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS mt_by_destination ON mt (destination_addr, id);
CREATE TABLE IF NOT EXISTS mt_part (
    mt_id INTEGER NOT NULL,
    seqno INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (mt_id, seqno)
);
CREATE INDEX IF NOT EXISTS mt_part_message_id ON mt_part (message_id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipt (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    stat TEXT NOT NULL,
    mt_id INTEGER,
    received_at REAL NOT NULL
);
"""


async def open_database(path: str) -> aiosqlite.Connection:
    """The gateway's SQLite file in WAL mode, with every table (inbox, outbox, ledger) in place."""
    try:
        # Opened here first: when aiosqlite's connect fails, its thread is left to report to the event loop,
        # which by then may be closed (a traceback after the one line saying why).
        sqlite3.connect(path).close()
        db = await connect(path)
    except (sqlite3.Error, OSError) as exc:
        raise StartupError(f"cannot open the ledger {path}: {exc}") from exc
    try:
        await _prepare(db)
    except (sqlite3.Error, OSError) as exc:
        await db.close()  # its thread would keep the process alive
        raise StartupError(f"cannot open the ledger {path}: {exc}") from exc
    return db


async def _prepare(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA busy_timeout=5000")
    await db.execute("PRAGMA secure_delete=ON")  # a blanked secret leaves no copy in freed pages
    # Columns first, so the schema's indexes on them can be made in a file that predates them.
    for table, column, kind in ADDED_COLUMNS:
        columns = {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}
        if columns and column not in columns:  # a file made before the column existed
            await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    await db.executescript(SCHEMA + LEDGER_SCHEMA)
    await db.commit()


ADDED_COLUMNS = (
    ("subscriber", "id_tail_hash", "TEXT"),
    ("payment", "reference", "TEXT"),
    ("mo", "ack_confirmed", "INTEGER NOT NULL DEFAULT 0"),
    ("mo", "too_long", "INTEGER NOT NULL DEFAULT 0"),
    ("mo", "redelivery_of", "INTEGER"),
    ("mo", "effect", "INTEGER NOT NULL DEFAULT 0"),
)
"""Columns added to a table after files with it were made: (table, column, type).

SQLite cannot add a UNIQUE column; a uniqueness rule on an added column is a unique index in the schema.
"""


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
