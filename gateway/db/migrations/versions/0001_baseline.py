"""baseline

The schema as it was when migrations began (issue 14): the inbox and outbox, the ledger, the dialogs,
credit control and the pushes, in one file. It brings any file to it: a new one, or one made by an
earlier gateway (no ``alembic_version`` table), whose tables are all kept. Such a file may predate some
columns (:data:`COLUMNS_ADDED_BEFORE_MIGRATIONS`): they are added first, with their defaults, so the
indexes on them can be made; then every table and index that is missing is created.

Its SQL is SQLite's, as files in the field have it. PostgreSQL (issue 15) gets the same statements with
the few words the two spell differently translated (:func:`_in_dialect`).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS_ADDED_BEFORE_MIGRATIONS = (
    ("subscriber", "id_tail_hash", "TEXT"),
    ("payment", "reference", "TEXT"),
    ("mo", "ack_confirmed", "INTEGER NOT NULL DEFAULT 0"),
    ("mo", "too_long", "INTEGER NOT NULL DEFAULT 0"),
    ("mo", "redelivery_of", "INTEGER"),
    ("mo", "effect", "INTEGER NOT NULL DEFAULT 0"),
)
"""Columns added to a table after files with it were made: (table, column, type).

SQLite cannot add a UNIQUE column; a uniqueness rule on an added column is a unique index below.
"""

INBOX_OUTBOX = """
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
"""The inbox (``mo``, ``mo_part``, ``receipt``), the outbox (``mt``, ``mt_part``) and ``meta``."""

LEDGER = """
CREATE TABLE IF NOT EXISTS subscriber (
    msisdn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    brand TEXT NOT NULL,                                   -- 全球通 / 动感地带 / 神州行
    vip TEXT NOT NULL DEFAULT 'none' CHECK (vip IN ('none', 'silver', 'gold', 'diamond')),
    plan TEXT NOT NULL,                                    -- a plan code of config/products.toml
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    password_hash TEXT,                                    -- salted hash of the service password
    id_hash TEXT,                                          -- salted hash of the ID number, never the number
    id_tail_hash TEXT,                                     -- salted hash of the ID number's last 6 characters
    created_on TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account (
    msisdn TEXT PRIMARY KEY REFERENCES subscriber (msisdn),
    cash INTEGER NOT NULL DEFAULT 0,                       -- cash book (negative: in arrears)
    gift INTEGER NOT NULL DEFAULT 0 CHECK (gift >= 0),     -- gift book
    gift_expires TEXT,                                     -- last day the gift book can be spent
    credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    valid_until TEXT,                                      -- prepaid validity date
    points INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscription (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    product TEXT NOT NULL,                                 -- a package code
    started_at REAL NOT NULL,
    ends_at REAL                                           -- NULL while it runs
);
CREATE INDEX IF NOT EXISTS subscription_by_msisdn ON subscription (msisdn);
CREATE TABLE IF NOT EXISTS usage (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('voice', 'sms', 'mms', 'data')),
    quantity INTEGER NOT NULL DEFAULT 0,                   -- seconds, messages or KB
    charged INTEGER NOT NULL DEFAULT 0,                    -- fen this usage cost beyond packages
    PRIMARY KEY (msisdn, cycle, category)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fee (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('plan', 'data', 'sms', 'vas')),
    product TEXT NOT NULL,
    amount INTEGER NOT NULL,
    charged_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS fee_by_msisdn ON fee (msisdn, cycle);
CREATE TABLE IF NOT EXISTS bill (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (msisdn, cycle)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bill_line (
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (msisdn, cycle, category)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    channel TEXT NOT NULL,
    paid_at REAL NOT NULL,
    reference TEXT                                         -- the payer's own id (admin API): paid once
);
CREATE INDEX IF NOT EXISTS payment_by_msisdn ON payment (msisdn, paid_at);
CREATE UNIQUE INDEX IF NOT EXISTS payment_by_reference ON payment (reference);
-- Dialogs (gateway/dialog/): one pending dialog at most per subscriber and service number.
CREATE TABLE IF NOT EXISTS dialog (
    msisdn TEXT NOT NULL,
    service_number TEXT NOT NULL,
    kind TEXT NOT NULL,            -- order | cancel | pick | password_change | password_reset
    state TEXT NOT NULL,           -- the machine's state
    data TEXT NOT NULL,            -- JSON: what the next step needs (never a password or ID in clear)
    expires_at REAL NOT NULL,
    PRIMARY KEY (msisdn, service_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS password_failure (
    msisdn TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS password_failure_by_msisdn ON password_failure (msisdn, failed_at);
-- Usage rating (gateway/ledger/rating.py, usage.py): every record rated once, by its id.
CREATE TABLE IF NOT EXISTS usage_record (
    id TEXT PRIMARY KEY,                                   -- the feed's record id: charged once
    msisdn TEXT NOT NULL,
    category TEXT NOT NULL,
    cycle TEXT NOT NULL,
    quantity INTEGER NOT NULL,                             -- as reported
    granted INTEGER NOT NULL,                              -- what the balance allowed (prepaid)
    charged INTEGER NOT NULL,                              -- fen
    start_at REAL NOT NULL,
    end_at REAL NOT NULL,
    rated_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_record_span ON usage_record (msisdn, category, start_at);
CREATE TABLE IF NOT EXISTS usage_reject (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    category TEXT NOT NULL,
    quantity INTEGER NOT NULL,                             -- the part not granted
    reason TEXT NOT NULL,                                  -- too_long | overlap | insufficient_balance | ...
    detail TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_reject_by_msisdn ON usage_reject (msisdn, id);
CREATE TABLE IF NOT EXISTS daily_charge (
    msisdn TEXT NOT NULL,
    day TEXT NOT NULL,                                     -- local ISO date
    amount INTEGER NOT NULL,                               -- fen of usage charged that day
    PRIMARY KEY (msisdn, day)
) WITHOUT ROWID;
-- Credit control (gateway/credit/): the machine's state and the facts of a protective restore.
CREATE TABLE IF NOT EXISTS credit (
    msisdn TEXT PRIMARY KEY,
    state TEXT NOT NULL,                                   -- active | protected | suspended | terminated
    since REAL NOT NULL,                                   -- when it entered the state
    reason TEXT NOT NULL DEFAULT '',                       -- why (operator: not lifted or ended by credit rules)
    floor INTEGER NOT NULL DEFAULT 0,                      -- fen: available balance may go down to this
    restore_until REAL,                                    -- protective restore: its time limit
    guard_until REAL,                                      -- no automatic suspension before this
    protected_at REAL                                      -- the last protective restore
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS credit_by_state ON credit (state, since);
CREATE TABLE IF NOT EXISTS status_change (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS status_change_by_msisdn ON status_change (msisdn, id);
-- Pushes (gateway/pushes/): one row per reminder per trigger; the unique key makes it once.
CREATE TABLE IF NOT EXISTS push (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    kind TEXT NOT NULL,
    trigger TEXT NOT NULL,                                 -- what caused it: a cycle, a day, a status change
    due_at REAL NOT NULL,                                  -- not before (quiet hours move it to the morning)
    status TEXT NOT NULL DEFAULT 'pending',                -- pending | queued | dropped
    reason TEXT,                                           -- why it was dropped
    mt_id INTEGER,                                         -- the outbox message it became
    campaign INTEGER,
    created_at REAL NOT NULL,
    UNIQUE (msisdn, kind, trigger)
);
CREATE INDEX IF NOT EXISTS push_due ON push (due_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS push_by_campaign ON push (campaign, status);
CREATE TABLE IF NOT EXISTS campaign (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    started_at REAL NOT NULL,
    selected INTEGER NOT NULL DEFAULT 0,
    finished_at REAL                                       -- when the selection was complete
);
CREATE TABLE IF NOT EXISTS push_opt_out (
    msisdn TEXT PRIMARY KEY,
    since REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedule_run (
    job TEXT NOT NULL,
    day TEXT NOT NULL,                                     -- the local day the dated job ran for
    PRIMARY KEY (job, day)
) WITHOUT ROWID;
"""
"""The ledger's tables. Money columns are integer fen, data integer KB, instants epoch seconds,
days ISO dates in the operator's time zone, cycles ``'YYYY-MM'``."""


POSTGRESQL_SPELLING = (
    (r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bREAL\b", "DOUBLE PRECISION"),  # epoch seconds: a PostgreSQL REAL has a 24-bit mantissa
    (r"\bBLOB\b", "BYTEA"),
    (r"\)\s*WITHOUT ROWID$", ")"),
)
"""SQLite's words and PostgreSQL's for the same thing. Not run against PostgreSQL until issue 15."""


def upgrade() -> None:
    bind = op.get_bind()
    _add_missing_columns(sa.inspect(bind))
    for statement in _statements(INBOX_OUTBOX + LEDGER):
        op.execute(_in_dialect(statement, bind.dialect.name))


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: restore a backup of the file instead")


def _add_missing_columns(tables: sa.Inspector) -> None:
    """A file of an earlier gateway: the columns its tables lack (a table it lacks is created whole below)."""
    for table, column, kind in COLUMNS_ADDED_BEFORE_MIGRATIONS:
        if tables.has_table(table) and column not in {c["name"] for c in tables.get_columns(table)}:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";\n") if statement.strip()]


def _in_dialect(statement: str, dialect: str) -> str:
    if dialect == "sqlite":
        return statement
    if dialect != "postgresql":
        raise NotImplementedError(f"no baseline for {dialect}")
    for sqlite, postgresql in POSTGRESQL_SPELLING:
        statement = re.sub(sqlite, postgresql, statement)
    return statement
