"""indexes for the daily jobs

The scheduler's daily jobs looked for their few subscribers by reading every one: the numbers not active
that credit control does not know yet (a full scan of ``subscriber`` inside a write transaction, 126 ms on a
ledger of 1,000,000, every answer's commit waiting for it) and the prepaid numbers whose validity date has
passed (a scan joined with ``account``, 154 ms). A partial index on the few subscribers who are not active and
an index on the validity date make both a search.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS subscriber_not_active ON subscriber (status) WHERE status != 'active'")
    op.execute("CREATE INDEX IF NOT EXISTS account_valid_until ON account (valid_until)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS account_valid_until")
    op.execute("DROP INDEX IF EXISTS subscriber_not_active")
