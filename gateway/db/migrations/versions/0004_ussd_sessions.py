"""USSD sessions in the ledger, for instances that share it

An aggregator's load balancer may send each request of a USSD session to another gateway instance, and an
SMSC may hand a session's next PDU to another bind. On a shared ledger each session is a row: where it is
in the menus, what it last showed, when it was last seen.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    seconds = "DOUBLE PRECISION" if op.get_bind().dialect.name == "postgresql" else "REAL"
    op.execute(
        "CREATE TABLE IF NOT EXISTS ussd_session ("
        " key TEXT PRIMARY KEY, msisdn TEXT NOT NULL, data TEXT NOT NULL,"
        f" seen {seconds} NOT NULL, open INTEGER NOT NULL)"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ussd_session_seen ON ussd_session (seen)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ussd_session_seen")
    op.execute("DROP TABLE IF EXISTS ussd_session")
