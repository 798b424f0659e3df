"""A real PostgreSQL 16 for the tests, started by the test run itself from the pip package ``pgserver``.

One server per test process (each xdist worker has its own), in a temporary folder, listening on a Unix
socket only; each test that asks gets a database of its own, made empty. The server is stopped when the
session ends.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgserver
import psycopg
import pytest
import sqlalchemy

_names = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    """As root, pgserver runs PostgreSQL as the system user ``pgserver``, which it adds if missing: done here
    once, before the xdist workers start, so that two of them do not both add it (on a fresh machine one then
    gets a folder owned by a uid that is not the user's, and its server cannot start)."""
    if os.geteuid() == 0 and not hasattr(config, "workerinput"):
        from pgserver.utils import ensure_user_exists

        ensure_user_exists("pgserver")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("postgres")
    server = pgserver.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: Any) -> str:
    """The URL of a new, empty database on the test server (``postgresql://postgres@/name?host=…``)."""
    return _new_database(postgres_server.get_uri())


@pytest.fixture(scope="session")
def _migrated_template(postgres_server: Any) -> str:
    """A database at the newest schema revision, made once per test process, that new ones are copied from."""
    from gateway.db.migrate import upgrade

    admin = postgres_server.get_uri()
    upgrade(_new_database(admin, name="migrated_template"))
    return "migrated_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a storage test's ledger is, once on each engine: a new SQLite file, or a new PostgreSQL database
    already at the newest revision (copied from a migrated template: a migration per test would be slow)."""
    if request.param == "sqlite":
        return str(tmp_path / "t.db")
    server = request.getfixturevalue("postgres_server")
    return _new_database(server.get_uri(), template=request.getfixturevalue("_migrated_template"))


def _new_database(admin: str, *, name: str | None = None, template: str | None = None) -> str:
    name = name or f"test_{next(_names)}"
    copied = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{copied}')
    return with_database(admin, name)


def with_database(url: str, name: str, *, password: str | None = None) -> str:
    """``url`` naming another database (and, if given, another password)."""
    parsed = sqlalchemy.engine.make_url(url).set(database=name)
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def database_name(url: str) -> str:
    return str(sqlalchemy.engine.make_url(url).database)


def socket_folder(url: str) -> Path:
    return Path(str(sqlalchemy.engine.make_url(url).query["host"]))
