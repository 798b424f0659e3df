"""voice and MMS packs, bill choices, PUK codes and recharge cards

The 10001 list (seed 004) needs: fees of voice-minute and MMS packs (``fee.category`` takes ``voice`` and
``mms``: SQLite's table is made again with the CHECK, its rows and ids copied; PostgreSQL replaces the
constraint); how a subscriber wants the bill (``bill_choice``: by SMS, 381; as an e-bill, 385); each number's
PUK code (``subscriber.puk``, from the import; told only to its own number, never logged); and the operator's
recharge cards (``recharge_card``, imported; 701 tells a card's state by its serial).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

CATEGORIES = "('plan', 'data', 'sms', 'vas', 'voice', 'mms')"

FEE = f"""CREATE TABLE fee_new (
    id INTEGER PRIMARY KEY,
    msisdn TEXT NOT NULL,
    cycle TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN {CATEGORIES}),
    product TEXT NOT NULL,
    amount INTEGER NOT NULL,
    charged_at REAL NOT NULL
)"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    seconds = "DOUBLE PRECISION" if postgresql else "REAL"
    rowid = "" if postgresql else " WITHOUT ROWID"
    if postgresql:
        op.execute(
            "ALTER TABLE fee DROP CONSTRAINT IF EXISTS fee_category_check,"
            f" ADD CONSTRAINT fee_category_check CHECK (category IN {CATEGORIES})"
        )
    else:
        op.execute(FEE)
        columns = "id, msisdn, cycle, category, product, amount, charged_at"
        op.execute(f"INSERT INTO fee_new ({columns}) SELECT {columns} FROM fee")
        op.execute("DROP TABLE fee")
        op.execute("ALTER TABLE fee_new RENAME TO fee")
        op.execute("CREATE INDEX IF NOT EXISTS fee_by_msisdn ON fee (msisdn, cycle)")
    op.execute("ALTER TABLE subscriber ADD COLUMN puk TEXT")
    op.execute(
        "CREATE TABLE IF NOT EXISTS bill_choice ("
        " msisdn TEXT PRIMARY KEY, by_sms INTEGER NOT NULL DEFAULT 1, ebill INTEGER NOT NULL DEFAULT 0,"
        f" changed_at {seconds} NOT NULL){rowid}"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS recharge_card ("
        " serial TEXT PRIMARY KEY, value INTEGER NOT NULL CHECK (value > 0),"
        " state TEXT NOT NULL CHECK (state IN ('unused', 'used', 'void')),"
        f" expires TEXT NOT NULL, used_by TEXT, used_at {seconds}){rowid}"
    )


def downgrade() -> None:
    raise NotImplementedError("not undone: a voice or MMS pack's fee would not fit the old table; restore a backup")
