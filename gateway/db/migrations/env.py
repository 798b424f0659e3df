"""How Alembic runs the revisions: on the connection :func:`gateway.db.migrate.upgrade` hands in, in its transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the migrations with `gateway ledger migrate` (gateway.db.migrate), not by hand")
context.configure(connection=connection)
with context.begin_transaction():  # the caller's transaction: the revisions and their stamp commit together
    context.run_migrations()
