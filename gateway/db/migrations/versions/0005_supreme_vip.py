"""至尊 as a VIP level

Seed 000 gives 金卡、钻卡及至尊卡 holders 5 days and 100元 of 紧急开机; the ledger only knew none, silver, gold
and diamond. The level is ``supreme``. SQLite cannot change a CHECK in place: the table is made again with it
and its rows copied (SQLite's own procedure for a schema change: a new table, the rows, the old one dropped, the
new one renamed), its index made again; PostgreSQL replaces the constraint.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = "msisdn, name, brand, vip, plan, status, password_hash, id_hash, id_tail_hash, created_on"

SUBSCRIBER = """CREATE TABLE subscriber_new (
    msisdn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    brand TEXT NOT NULL,                                   -- 全球通 / 动感地带 / 神州行
    vip TEXT NOT NULL DEFAULT 'none' CHECK (vip IN ('none', 'silver', 'gold', 'diamond', 'supreme')),
    plan TEXT NOT NULL,                                    -- a plan code of config/products.toml
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    password_hash TEXT,                                    -- salted hash of the service password
    id_hash TEXT,                                          -- salted hash of the ID number, never the number
    id_tail_hash TEXT,                                     -- salted hash of the ID number's last 6 characters
    created_on TEXT NOT NULL
) WITHOUT ROWID"""
"""The baseline's table, word for word, with ``supreme`` among the levels."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE subscriber DROP CONSTRAINT IF EXISTS subscriber_vip_check,"
            " ADD CONSTRAINT subscriber_vip_check CHECK (vip IN ('none', 'silver', 'gold', 'diamond', 'supreme'))"
        )
        return
    op.execute(SUBSCRIBER)
    op.execute(f"INSERT INTO subscriber_new ({COLUMNS}) SELECT {COLUMNS} FROM subscriber")
    op.execute("DROP TABLE subscriber")
    op.execute("ALTER TABLE subscriber_new RENAME TO subscriber")
    op.execute("CREATE INDEX IF NOT EXISTS subscriber_not_active ON subscriber (status) WHERE status != 'active'")


def downgrade() -> None:
    raise NotImplementedError("not undone: a supreme subscriber would not fit the old table; restore a backup")
