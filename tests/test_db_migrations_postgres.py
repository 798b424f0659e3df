"""The same Alembic revisions on PostgreSQL (issue 15's first step): a new database is made at the newest
revision with the tables, columns and indexes a new SQLite file gets; migrating again changes nothing; two
instances starting at once migrate it once; ``gateway ledger migrate`` takes ``ledger.url``, and no password
in a URL reaches an error, a line of output or a log. A real PostgreSQL 16 (pgserver), no mocks."""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from support.postgres import database_name, with_database
from support.process import ledger
from support.revisions import HEAD, HEAD_TITLE

from gateway.db import migrate
from gateway.errors import StartupError

PASSWORD = "s3cret-Pw-9x"


def sqlite_shape(path: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """(table, column) pairs and the names of the indexes we made, of a SQLite file."""
    with closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {(t, row[1]) for t in tables for row in db.execute(f"PRAGMA table_info({t})")}
        indexes = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            if not name.startswith("sqlite_autoindex_")
        }
    return columns, indexes


def postgres_shape(url: str) -> tuple[set[tuple[str, str]], set[str]]:
    with psycopg.connect(url) as db:
        columns = set(
            db.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            ).fetchall()
        )
        indexes = {name for (name,) in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    return columns, indexes


def stamp(url: str) -> list[tuple[str]]:
    with psycopg.connect(url) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchall()


def test_a_new_database_is_made_at_the_newest_revision_with_the_files_tables(postgres_url: str, tmp_path: Path) -> None:
    file = tmp_path / "gateway.db"
    migrate.upgrade(str(file))

    assert migrate.current(postgres_url) is None
    assert migrate.upgrade(postgres_url) == HEAD

    file_columns, file_indexes = sqlite_shape(file)
    columns, indexes = postgres_shape(postgres_url)
    assert columns == file_columns
    assert len(columns) > 100
    assert file_indexes <= indexes  # PostgreSQL also names the indexes of its keys (mo_pkey, ...)
    assert migrate.current(postgres_url) == HEAD
    assert stamp(postgres_url) == [(HEAD,)]


def test_ids_epoch_seconds_and_blobs_keep_their_meaning(postgres_url: str) -> None:
    """The few words the engines spell differently: ids from the database, seconds as doubles, bytes."""
    migrate.upgrade(postgres_url)
    with psycopg.connect(postgres_url) as db:
        ids = [
            db.execute(
                "INSERT INTO mo (source_addr, destination_addr, text, received_at) VALUES (%s, '10001', '102', %s)"
                " RETURNING id",
                (msisdn, 1_796_306_832.00689),
            ).fetchone()
            for msisdn in ("13800138000", "13800138001")
        ]
        db.execute(
            "INSERT INTO mo_part (source_addr, destination_addr, reference, total, seqno, data_coding, payload,"
            " received_at) VALUES ('13800138000', '10001', 7, 2, 1, 8, %s, 1.5)",
            (b"\x00\xff\x4f\x60",),
        )
        received = db.execute("SELECT received_at FROM mo ORDER BY id").fetchall()
        payload = db.execute("SELECT payload FROM mo_part").fetchone()
    assert ids == [(1,), (2,)]
    assert received == [(1_796_306_832.00689,), (1_796_306_832.00689,)]  # not cut to a 24-bit REAL
    assert payload == (b"\x00\xff\x4f\x60",)


def test_migrating_again_changes_nothing(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    before = postgres_shape(postgres_url)

    assert migrate.upgrade(postgres_url) == HEAD

    assert postgres_shape(postgres_url) == before
    assert stamp(postgres_url) == [(HEAD,)]


def test_two_instances_starting_at_once_migrate_it_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(2) as pool:
        revisions = list(pool.map(migrate.upgrade, [postgres_url, postgres_url]))

    assert revisions == [HEAD, HEAD]
    assert stamp(postgres_url) == [(HEAD,)]


def test_ledger_migrate_takes_the_url_and_shows_it_without_its_password(postgres_url: str, tmp_path: Path) -> None:
    url = with_database(postgres_url, database_name(postgres_url), password=PASSWORD)

    first = ledger(tmp_path, "migrate", GATEWAY_LEDGER__URL=url)
    again = ledger(tmp_path, "migrate", GATEWAY_LEDGER__URL=url)

    shown = url.replace(PASSWORD, "***")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"ledger {shown}: at revision {HEAD} ({HEAD_TITLE})\n"
    assert again.stdout == f"ledger {shown}: already at revision {HEAD} ({HEAD_TITLE})\n"
    assert not (tmp_path / "gateway.db").exists()  # with a URL, nothing is written to a local file
    assert stamp(postgres_url) == [(HEAD,)]


def test_a_database_that_cannot_be_opened_is_one_line_without_the_password(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = with_database(postgres_url, "no_such_database", password=PASSWORD)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(StartupError) as failed:
        migrate.upgrade(url)
    done = ledger(tmp_path, "migrate", GATEWAY_LEDGER__URL=url)

    message = str(failed.value)
    assert message.startswith(f"cannot open the ledger {url.replace(PASSWORD, '***')}: ")
    assert 'database "no_such_database" does not exist' in message
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"gateway: {message}\n"
    assert PASSWORD not in message + done.stderr + caplog.text


def test_a_ledger_url_that_is_not_postgresql_is_a_config_error_that_does_not_show_it(tmp_path: Path) -> None:
    done = ledger(tmp_path, "migrate", GATEWAY_LEDGER__URL=f"mysql://gateway:{PASSWORD}@db/gateway")

    assert done.returncode == 2
    assert "ledger.url" in done.stderr
    assert "must be empty (SQLite at ledger.path) or a postgresql:// URL" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
