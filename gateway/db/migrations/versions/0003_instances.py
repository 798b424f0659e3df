"""instances that share the ledger, and which of them owns each MO and MT

Several gateway instances may run on one PostgreSQL database. Each keeps a row in ``instance`` with the time
its lease runs out, renewed while it lives; each MO and MT is its instance's to answer or send. When a lease
has run out (the instance died) or its row is gone (it stopped with work left), another instance takes the
rows over. On SQLite there is one instance per file; the rows are kept the same way.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    seconds = "DOUBLE PRECISION" if postgresql else "REAL"  # PostgreSQL's REAL has 4 bytes: not enough for a time
    op.execute(
        "CREATE TABLE IF NOT EXISTS instance ("
        f" name TEXT PRIMARY KEY, started_at {seconds} NOT NULL, lease_until {seconds} NOT NULL)"
    )
    op.execute("ALTER TABLE mo ADD COLUMN instance TEXT")
    op.execute("ALTER TABLE mt ADD COLUMN instance TEXT")
    op.execute("CREATE INDEX IF NOT EXISTS mo_new_by_instance ON mo (instance) WHERE status = 'new'")
    op.execute("CREATE INDEX IF NOT EXISTS mt_queued_by_instance ON mt (instance) WHERE status = 'queued'")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS mt_queued_by_instance")
    op.execute("DROP INDEX IF EXISTS mo_new_by_instance")
    op.execute("ALTER TABLE mt DROP COLUMN instance")
    op.execute("ALTER TABLE mo DROP COLUMN instance")
    op.execute("DROP TABLE IF EXISTS instance")
