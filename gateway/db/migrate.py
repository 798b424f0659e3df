"""Bringing a database file to the newest schema revision, at start and by ``gateway ledger migrate``.

The revisions are Alembic's, in :mod:`gateway.db.migrations`, configured here in code (no alembic.ini).
One upgrade is one transaction, begun with the file's write lock held (``BEGIN IMMEDIATE``), so a file is
never left half-migrated and two processes starting at once migrate it once. A file is stamped with its
revision in ``alembic_version``; one without the table (new, or made before migrations) is at none.

Alembic keeps the running migration in module globals (``alembic.op``, ``alembic.context``) and loads the
revision modules as it goes, so in one process only one thread at a time uses it (:data:`_ALEMBIC`):
two ledgers opened at once (``gateway converse --jobs``) are migrated one after the other.

Alembic and SQLAlchemy are imported only in this package, and take a third of a second to import: a
caller that may not need them imports this module when it does.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from gateway.db.target import is_url, shown
from gateway.errors import StartupError

log = logging.getLogger("gateway.db.migrate")

MIGRATIONS = Path(__file__).with_name("migrations")

_ALEMBIC = threading.RLock()


def upgrade(path: str) -> str:
    """Bring the ledger (a file at ``path``, made if missing, or a ``postgresql://`` URL) to the newest
    revision; the revision it is at now.

    Raises :class:`StartupError`, naming the file, if it cannot be opened, is not a database, or was
    stamped by a newer gateway with a revision this one does not know.
    """
    with _ALEMBIC, _connection(path) as connection:
        before = _revision(connection)
        if before is not None and before not in _known():
            raise StartupError(
                f"cannot open the ledger {shown(path)}: it is at schema revision {before}, which this gateway does not"
                " know"
                f" (its newest is {head()}); a newer gateway made it"
            )
        if before is not None and before == _scripts().get_current_head():  # up to date: nothing to run
            return before
        command.upgrade(_config(connection), "head")
        now = _revision(connection)
    assert now is not None  # there is at least the baseline
    if now != before:
        log.info("ledger %s migrated from revision %s to %s", shown(path), before or "none", now)
    return now


def current(path: str) -> str | None:
    """The revision the ledger is stamped with; None for one without a stamp (new, or made before migrations)."""
    if not is_url(path) and not Path(path).exists():  # a file is not made here by merely looking
        return None
    with _ALEMBIC, _connection(path) as connection:
        return _revision(connection)


def head() -> str:
    """The newest revision this gateway has."""
    with _ALEMBIC:
        newest = _scripts().get_current_head()
    assert newest is not None  # there is at least the baseline
    return newest


def title(revision: str) -> str:
    """The few words that say what a revision does: ``"baseline"``."""
    with _ALEMBIC:
        script = _scripts().get_revision(revision)
    assert script is not None
    return script.doc


@contextmanager
def _connection(ledger: str) -> Iterator[Connection]:
    """A transaction on the ledger that holds its migration lock; committed if the block ends without an error.

    A SQLite file's lock is its write lock; a PostgreSQL database's, an advisory lock held to the end of the
    transaction, so two instances starting at once migrate it once (PostgreSQL's DDL is transactional).
    """
    try:
        engine = _engine(ledger)
    except sqlalchemy.exc.ArgumentError as exc:
        raise StartupError(f"cannot open the ledger {shown(ledger)}: the URL does not read as one") from exc
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            yield connection
    except sqlalchemy.exc.DBAPIError as exc:  # not a database, cannot be made, locked past the timeout
        reason = str(exc.orig).replace(ledger, shown(ledger))
        raise StartupError(f"cannot open the ledger {shown(ledger)}: {reason}") from exc
    finally:
        engine.dispose()


_MIGRATION_LOCK = 0x6761_7465  # "gate": the advisory lock key the migrations of a PostgreSQL ledger take


def _engine(ledger: str) -> sqlalchemy.Engine:
    if is_url(ledger):
        url = sqlalchemy.engine.make_url(ledger).set(drivername="postgresql+psycopg")
        return sqlalchemy.create_engine(url, poolclass=NullPool)
    engine = sqlalchemy.create_engine(sqlalchemy.URL.create("sqlite", database=ledger), poolclass=NullPool)
    # The driver would begin no transaction before DDL (so Alembic could not make the upgrade one):
    # it is left to begin none, and the transaction is begun here, with the lock.
    sqlalchemy.event.listen(engine, "connect", _no_implicit_transactions)
    sqlalchemy.event.listen(engine, "begin", _begin_immediate)
    return engine


def _no_implicit_transactions(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))  # ini-style option
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection  # env.py runs the revisions on it
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The revisions, read once a process (callers hold :data:`_ALEMBIC`)."""
    return ScriptDirectory(str(MIGRATIONS))


def _known() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}
