"""The schema as Alembic revisions (gateway/db/migrate.py, gateway/db/migrations/): a new file is made at the
newest revision exactly as the gateway made files before migrations; a file of an earlier gateway is brought
to it with every row kept and stamped, not rebuilt; once there, nothing more happens. Real files."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from support.process import ledger
from support.revisions import HEAD, HEAD_TITLE

from gateway.db import migrate
from gateway.db.database import open_database
from gateway.errors import StartupError

LATER_INDEXES = (
    "subscriber_not_active",
    "account_valid_until",
    "instance",
    "sqlite_autoindex_instance_1",
    "mo_new_by_instance",
    "mt_queued_by_instance",
    "ussd_session",
    "sqlite_autoindex_ussd_session_1",
    "ussd_session_seen",
    "renewal",
    "bill_choice",
    "recharge_card",
)
"""Made by the revisions after the baseline (0002, 0003, 0004, 0006, 0007)."""
LATER_COLUMNS = {
    "mo": ", instance TEXT",
    "mt": ", instance TEXT",
    "bill": ", points INTEGER DEFAULT 0",
    "subscriber": ", puk TEXT",
}
"""Added to the baseline's tables by the later revisions (0003, 0006, 0007), as SQLite appends them to the table's
SQL."""
REMADE = {
    "subscriber": (('CREATE TABLE "subscriber" (', "CREATE TABLE subscriber ("), (", 'supreme')", ")")),
    "fee": (('CREATE TABLE "fee" (', "CREATE TABLE fee ("), (", 'voice', 'mms')", ")")),
}
"""Tables a later revision made again (0005: the 至尊 level; 0007: voice and MMS pack fees), and how their SQL
reads against the baseline's."""
SCHEMA_BEFORE_MIGRATIONS = (Path(__file__).parent / "schema_before_migrations.sql").read_text(encoding="utf-8")

ADDED_LATER = (
    ("subscriber", "id_tail_hash"),
    ("payment", "reference"),
    ("mo", "ack_confirmed"),
    ("mo", "too_long"),
    ("mo", "redelivery_of"),
    ("mo", "effect"),
)
"""Columns that files made by the earliest gateways lack (the unique index on payment.reference with them)."""

ROWS: dict[str, dict[str, object]] = {
    "subscriber": {
        "msisdn": "13800138000",
        "name": "李明",
        "brand": "动感地带",
        "vip": "silver",
        "plan": "DGDD28",
        "status": "active",
        "password_hash": None,
        "id_hash": None,
        "created_on": "2023-01-12",
    },
    "account": {
        "msisdn": "13800138000",
        "cash": 5890,
        "gift": 2000,
        "gift_expires": None,
        "credit_limit": 0,
        "valid_until": "2099-12-31",
        "points": 1286,
    },
    "payment": {"id": 1, "msisdn": "13800138000", "amount": 5000, "channel": "支付宝", "paid_at": 1_700_000_000.0},
    "mo": {
        "id": 1,
        "source_addr": "13800138000",
        "destination_addr": "10086",
        "text": "102",
        "complete": 1,
        "received_at": 1_700_000_100.5,
        "status": "answered",
        "handled_at": 1_700_000_100.75,
    },
    "mt": {
        "id": 1,
        "mo_id": 1,
        "source_addr": "10086",
        "destination_addr": "13800138000",
        "text": "尊敬的客户，您的账户余额为58.90元。",
        "created_at": 1_700_000_100.75,
        "status": "sent",
        "sent_at": 1_700_000_101.0,
        "command_status": 0,
        "delivery_stat": "DELIVRD",
    },
}
"""A subscriber with 58.90元 in cash and a payment, one MO and its answer: in the columns every file has."""


def file_before_migrations(path: Path, *, older: bool = False) -> Path:
    """A file as the gateway made it before migrations, with :data:`ROWS`; ``older``: before :data:`ADDED_LATER`."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA_BEFORE_MIGRATIONS)
        if older:
            db.execute("DROP INDEX payment_by_reference")
            for table, column in ADDED_LATER:
                db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        for table, row in ROWS.items():
            names = ", ".join(row)
            db.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        db.commit()
    return path


def objects(path: Path) -> list[tuple[str, str, str, str | None]]:
    """Every table and index of the file (Alembic's own table aside), with the SQL that made it."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version' ORDER BY name"
        ).fetchall()


def as_at_baseline(found: list[tuple[str, str, str, str | None]]) -> list[tuple[str, str, str, str | None]]:
    """The objects without what the later revisions made or added."""
    kept = []
    for kind, name, table, sql in found:
        if name in LATER_INDEXES:
            continue
        if kind == "table" and name in LATER_COLUMNS and sql is not None:
            sql = sql.replace(LATER_COLUMNS[name], "")
        if kind == "table" and name in REMADE and sql is not None:
            for made, baseline in REMADE[name]:
                sql = sql.replace(made, baseline)
        kept.append((kind, name, table, sql))
    return kept


def shape(path: Path) -> dict[str, Any]:
    """What the gateway relies on: tables (rowid or not), their columns by name, the indexes and their SQL.

    Not the order of columns or a table's SQL text: a column added to a file is last, and its CREATE
    statement in ``sqlite_master`` is SQLite's rewrite.
    """
    found: dict[str, Any] = {}
    with closing(sqlite3.connect(path)) as db:
        for kind, name, table, sql in objects(path):
            if kind == "table":
                columns = db.execute(f"PRAGMA table_xinfo({name})").fetchall()
                rowid = not (sql or "").rstrip().endswith("WITHOUT ROWID")
                found[name] = (rowid, sorted(column[1:] for column in columns))
            else:
                info = [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
                found[name] = (kind, table, info, sql)
    return found


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """The table's rows in the columns of :data:`ROWS`."""
    names = ", ".join(ROWS[table])
    with closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT {names} FROM {table}").fetchall()


def stamp(path: Path) -> list[tuple[str]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_file_is_made_at_the_newest_revision_exactly_as_before_migrations(tmp_path: Path) -> None:
    before = tmp_path / "before.db"
    with closing(sqlite3.connect(before)) as db:
        db.executescript(SCHEMA_BEFORE_MIGRATIONS)
    new = str(tmp_path / "new.db")

    assert migrate.current(new) is None
    assert not Path(new).exists()  # looking made no file
    assert migrate.upgrade(new) == migrate.head() == HEAD

    assert stamp(Path(new)) == [(HEAD,)]
    assert migrate.current(new) == HEAD
    assert migrate.title("0001") == "baseline"
    assert migrate.title(HEAD) == HEAD_TITLE
    made = objects(Path(new))
    assert as_at_baseline(made) == objects(before)  # the same SQL made them
    assert sorted(o[1] for o in made if o[1] in LATER_INDEXES) == sorted(LATER_INDEXES)
    assert len([kind for kind, *_ in objects(before) if kind == "table"]) == 25


def test_a_file_made_before_migrations_is_stamped_and_kept_as_it_was(tmp_path: Path) -> None:
    path = file_before_migrations(tmp_path / "gateway.db")
    unmigrated = objects(path)

    assert migrate.current(str(path)) is None
    assert migrate.upgrade(str(path)) == HEAD

    assert stamp(path) == [(HEAD,)]
    kept = as_at_baseline(objects(path))
    assert kept == unmigrated  # nothing rebuilt, nothing added but the stamp and the later revisions' objects
    for table in ROWS:
        with closing(sqlite3.connect(path)) as db:
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (1,)
        assert rows(path, table) == [tuple(ROWS[table].values())]


def test_a_file_older_than_some_columns_gets_them_with_their_defaults_and_keeps_its_rows(tmp_path: Path) -> None:
    path = file_before_migrations(tmp_path / "gateway.db", older=True)
    kept = {table: rows(path, table) for table in ROWS}
    with closing(sqlite3.connect(path)) as db:  # the file really lacks them
        assert "effect" not in {column[1] for column in db.execute("PRAGMA table_info(mo)")}

    assert migrate.upgrade(str(path)) == HEAD

    assert stamp(path) == [(HEAD,)]
    assert {table: rows(path, table) for table in ROWS} == kept
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT ack_confirmed, too_long, redelivery_of, effect FROM mo").fetchall() == [
            (0, 0, None, 0)
        ]
        assert db.execute("SELECT id_tail_hash FROM subscriber").fetchall() == [(None,)]
        assert db.execute("SELECT reference FROM payment").fetchall() == [(None,)]
        db.execute("INSERT INTO mo (source_addr, destination_addr, text, received_at) VALUES ('1', '2', 'x', 0)")
        assert db.execute("SELECT ack_confirmed, effect FROM mo WHERE id = 2").fetchone() == (0, 0)
    new = tmp_path / "new.db"
    migrate.upgrade(str(new))
    assert shape(path) == shape(new)  # every column, type, default and index a new file has


def test_ledger_show_tells_the_same_of_an_older_file_migrated_at_open_or_by_the_command(tmp_path: Path) -> None:
    """Opened by a tool (as at start) or migrated by ``gateway ledger migrate`` first: the same ledger."""
    (tmp_path / "opened").mkdir()
    (tmp_path / "migrated").mkdir()
    file_before_migrations(tmp_path / "opened" / "gateway.db", older=True)
    shutil.copy(tmp_path / "opened" / "gateway.db", tmp_path / "migrated" / "gateway.db")

    shown_on_open = ledger(tmp_path / "opened", "show", "13800138000")
    migrated = ledger(tmp_path / "migrated", "migrate")
    again = ledger(tmp_path / "migrated", "migrate")
    shown_after = ledger(tmp_path / "migrated", "show", "13800138000")

    path = tmp_path / "migrated" / "gateway.db"
    assert (migrated.returncode, migrated.stdout, migrated.stderr) == (
        0,
        f"ledger {path}: at revision {HEAD} ({HEAD_TITLE})\n",
        "",
    )
    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        f"ledger {path}: already at revision {HEAD} ({HEAD_TITLE})\n",
        "",
    )
    assert (shown_on_open.returncode, shown_on_open.stderr) == (0, "")
    assert shown_on_open.stdout == shown_after.stdout
    assert "cash:         58.90元" in shown_after.stdout.splitlines()
    assert "  2023-11-15 06:13 50.00元 支付宝" in shown_after.stdout.splitlines()  # 1_700_000_000 in Asia/Shanghai
    assert stamp(tmp_path / "opened" / "gateway.db") == stamp(path) == [(HEAD,)]


def test_migrating_again_changes_nothing(tmp_path: Path) -> None:
    path = file_before_migrations(tmp_path / "gateway.db", older=True)
    migrate.upgrade(str(path))
    migrated = digest(path)

    assert migrate.upgrade(str(path)) == HEAD

    assert digest(path) == migrated
    assert stamp(path) == [(HEAD,)]


def test_a_baseline_that_fails_half_way_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """One transaction: columns added to ``mo`` before an index it cannot have fails are not left behind."""
    path = tmp_path / "gateway.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE mo (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")  # no status: mo_new fails
        db.execute("INSERT INTO mo (text) VALUES ('102')")
        db.commit()
    unmigrated = digest(path)

    with pytest.raises(StartupError) as failed:
        migrate.upgrade(str(path))

    assert str(failed.value) == f"cannot open the ledger {path}: no such column: status"
    assert digest(path) == unmigrated
    assert [name for _, name, _, _ in objects(path)] == ["mo"]


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    path.write_bytes(b"this is not a database\n" * 400)

    with pytest.raises(StartupError) as failed:
        migrate.upgrade(str(path))
    done = ledger(tmp_path, "migrate")

    assert str(failed.value) == f"cannot open the ledger {path}: file is not a database"
    assert (done.returncode, done.stdout) == (1, "")  # 1 as every ledger command whose ledger cannot be opened
    assert done.stderr == f"gateway: cannot open the ledger {path}: file is not a database\n"
    assert path.read_bytes() == b"this is not a database\n" * 400


async def test_a_file_of_a_newer_gateway_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    migrate.upgrade(str(path))
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE alembic_version SET version_num = '0999'")
        db.commit()

    with pytest.raises(StartupError) as failed:
        await open_database(str(path))

    assert str(failed.value) == (
        f"cannot open the ledger {path}: it is at schema revision 0999, which this gateway does not know"
        f" (its newest is {HEAD}); a newer gateway made it"
    )
    assert stamp(path) == [("0999",)]


async def test_open_database_migrates_then_sets_the_connection_up(tmp_path: Path) -> None:
    path = file_before_migrations(tmp_path / "gateway.db", older=True)

    db = await open_database(str(path))
    try:
        assert await db.fetch("PRAGMA journal_mode") == [("wal",)]
        assert await db.fetch("SELECT effect FROM mo") == [(0,)]
    finally:
        await db.close()
    assert stamp(path) == [(HEAD,)]


def test_two_openers_of_a_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = str(tmp_path / "gateway.db")
    with ThreadPoolExecutor(2) as pool:
        revisions = list(pool.map(migrate.upgrade, [path, path]))

    assert revisions == [HEAD, HEAD]
    assert stamp(Path(path)) == [(HEAD,)]


def test_files_opened_at_once_in_one_process_are_each_migrated(tmp_path: Path) -> None:
    """Alembic's globals are one per process: two threads running it at once mixed their files up."""
    paths = [str(tmp_path / f"ledger{n}.db") for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        revisions = list(pool.map(migrate.upgrade, paths))

    assert revisions == [HEAD] * 6
    made = shape(Path(paths[0]))
    assert len(made) > 25
    for path in paths:
        assert stamp(Path(path)) == [(HEAD,)]
        assert shape(Path(path)) == made
