"""the monthly cycle: renewals once per subscriber and month, points on each bill

On the 1st the plan's fee and each running package's fee are charged for the new month (gateway/usecases/
month.py). ``renewal`` holds one row per subscriber and month renewed, written in the same transaction as the
charges, so a job stopped half-way (kill -9) and run again charges nobody twice. ``bill.points`` is what the
bill earned; NULL while the bill is being closed, so the points of a bill are credited once (bills already
there earned nothing: 0).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    seconds = "DOUBLE PRECISION" if postgresql else "REAL"
    rowid = "" if postgresql else " WITHOUT ROWID"
    op.execute(
        "CREATE TABLE IF NOT EXISTS renewal ("
        f" msisdn TEXT NOT NULL, cycle TEXT NOT NULL, renewed_at {seconds} NOT NULL,"
        f" PRIMARY KEY (msisdn, cycle)){rowid}"
    )
    op.execute("ALTER TABLE bill ADD COLUMN points INTEGER DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE bill DROP COLUMN points")
    op.execute("DROP TABLE IF EXISTS renewal")
