"""Importing subscribers from CSV: exact fen values, every bad row named by its line, all or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiosqlite
import pytest

from gateway.config import PROJECT_ROOT
from gateway.db.database import open_database
from gateway.db.unit import Database
from gateway.errors import ImportRejected
from gateway.ledger.importer import import_subscribers, parse_subscribers, parse_yuan
from gateway.ledger.products import Products
from gateway.ledger.secrets import verify_secret
from gateway.model.ledger import NewSubscriber

TODAY = date(2026, 11, 18)
HEADER = (
    "msisdn,name,brand,vip,plan,balance,gift,gift_expires,credit_limit,valid_until,points,status,password,"
    "id_number,created_on"
)
GOOD = f"""{HEADER}
13811110001,张伟,神州行,none,,12.5,,,,2027-06-30,,,,,
13811110002,王芳,全球通,gold,QQT138,-3.20,5,2026-12-31,500,,1200,suspended,582947,110105198805161231,2020-03-15
13811110003, 李娜 ,动感地带,Silver,DGDD28,0.01,20.00,2027-01-31,,,0,,,31010419920814215x,
"""
ROW = {
    "msisdn": "13811110009",
    "name": "赵六",
    "brand": "神州行",
    "vip": "none",
    "plan": "SZX",
    "balance": "10",
}


@pytest.fixture(scope="module")
def products() -> Products:
    return Products.load(PROJECT_ROOT / "config" / "products.toml")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_database(str(tmp_path / "ledger.db"))
    yield connection
    await connection.close()


def parse(text: str, products: Products) -> list[NewSubscriber]:
    return parse_subscribers(text, products=products, today=TODAY)


def problems_of(text: str, products: Products) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        parse(text, products)
    return caught.value.problems


def csv_row(**cells: str) -> str:
    values = {**ROW, **cells}
    return ",".join(values.get(column, "") for column in HEADER.split(","))


def ledger_bytes(folder: Path) -> bytes:
    """The database file with its WAL and shared-memory files, if any are left."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("ledger.db*")))


async def count_rows(db: Database) -> tuple[int, int]:
    subscribers = await db.fetch("SELECT COUNT(*) FROM subscriber")
    accounts = await db.fetch("SELECT COUNT(*) FROM account")
    return next(iter(subscribers))[0], next(iter(accounts))[0]


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12.5", 1250), ("-3.20", -320), ("0.01", 1), ("0", 0), ("+7", 700), ("-0.5", -50), ("100.00", 10000)],
)
def test_yuan_become_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


async def test_a_good_file_imports_exactly_its_rows(db: Database, products: Products) -> None:
    assert await import_subscribers(db, parse(GOOD, products)) == 3

    people = await db.fetch("SELECT msisdn, name, brand, vip, plan, status, created_on FROM subscriber ORDER BY msisdn")
    assert list(people) == [
        ("13811110001", "张伟", "神州行", "none", "SZX", "active", "2026-11-18"),
        ("13811110002", "王芳", "全球通", "gold", "QQT138", "suspended", "2020-03-15"),
        ("13811110003", "李娜", "动感地带", "silver", "DGDD28", "active", "2026-11-18"),
    ]
    accounts = await db.fetch("SELECT * FROM account ORDER BY msisdn")
    assert list(accounts) == [
        ("13811110001", 1250, 0, None, 0, "2027-06-30", 0),
        ("13811110002", -320, 500, "2026-12-31", 50000, None, 1200),
        ("13811110003", 1, 2000, "2027-01-31", 0, None, 0),
    ]


async def test_secrets_are_stored_as_hashes_only(db: Database, products: Products, tmp_path: Path) -> None:
    await import_subscribers(db, parse(GOOD, products))

    rows = await db.fetch("SELECT msisdn, password_hash, id_hash FROM subscriber ORDER BY msisdn")
    (_, no_password, no_id), (_, password_hash, id_hash), (_, none, id_hash_3) = rows
    assert (no_password, no_id, none) == (None, None, None)
    assert verify_secret("582947", password_hash)
    assert not verify_secret("582948", password_hash)
    assert verify_secret("110105198805161231", id_hash)
    assert verify_secret("31010419920814215X", id_hash_3)  # a lower-case x is read as X
    await db.close()
    stored = ledger_bytes(tmp_path)
    assert b"13811110002" in stored
    for secret in (b"582947", b"110105198805161231", b"31010419920814215"):
        assert secret not in stored


def test_an_empty_plan_is_the_default_plan(products: Products) -> None:
    (subscriber,) = parse(f"{HEADER}\n{csv_row(plan='')}\n", products)
    assert subscriber.plan == products.default_plan == "SZX"


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"msisdn": "1381111000"}, "msisdn '1381111000' must be 11 digits starting with 1"),
        ({"msisdn": "23811110009"}, "msisdn '23811110009' must be 11 digits starting with 1"),
        ({"msisdn": "1381111000x"}, "msisdn '1381111000x' must be 11 digits starting with 1"),
        ({"name": ""}, "name is empty"),
        ({"brand": "联通"}, "brand '联通' must be one of 全球通, 动感地带, 神州行"),
        ({"brand": ""}, "brand is empty (one of 全球通, 动感地带, 神州行)"),
        ({"vip": "platinum"}, "vip 'platinum' must be one of none, silver, gold, diamond, supreme"),
        ({"plan": "NOPE"}, "plan 'NOPE' is not one of the plans (SZX, SJK, DGDD28, QQT88, QQT138)"),
        ({"balance": "12.345"}, "balance '12.345' has more than 2 decimals"),
        ({"balance": "abc"}, "balance 'abc' is not an amount in yuan (like 12.50 or -3.20)"),
        ({"balance": "1e3"}, "balance '1e3' is not an amount in yuan (like 12.50 or -3.20)"),
        ({"balance": "12."}, "balance '12.' is not an amount in yuan (like 12.50 or -3.20)"),
        ({"balance": "1234567890"}, "balance '1234567890' is too large"),
        ({"balance": ""}, "balance is empty (write 0 for none)"),
        ({"gift": "-1"}, "gift '-1' must not be negative"),
        ({"gift_expires": "2026-02-30"}, "gift_expires '2026-02-30' is not a date (YYYY-MM-DD)"),
        ({"gift_expires": "2026/12/31"}, "gift_expires '2026/12/31' is not a date (YYYY-MM-DD)"),
        ({"credit_limit": "-5"}, "credit_limit '-5' must not be negative"),
        ({"credit_limit": "100"}, "credit_limit must be 0 on the prepaid plan SZX"),
        ({"valid_until": "tomorrow"}, "valid_until 'tomorrow' is not a date (YYYY-MM-DD)"),
        ({"points": "-5"}, "points '-5' must be a whole number, 0 or more"),
        ({"points": "1.5"}, "points '1.5' must be a whole number, 0 or more"),
        ({"status": "closed"}, "status 'closed' must be one of active, suspended, terminated"),
        ({"password": "98765a"}, "password must be 6 digits"),
        ({"password": "1234567"}, "password must be 6 digits"),
        ({"id_number": "11010519880516123Y"}, "id_number must be 18 characters: 17 digits, then a digit or X"),
        ({"id_number": "1101051988051612"}, "id_number must be 18 characters: 17 digits, then a digit or X"),
        ({"created_on": "2026-11-19"}, "created_on 2026-11-19 is after today"),
    ],
)
def test_a_bad_row_is_named_by_its_line(products: Products, cells: dict[str, str], problem: str) -> None:
    text = f"{HEADER}\n{csv_row(msisdn='13811110001')}\n{csv_row(**cells)}\n{csv_row(msisdn='13811110002')}\n"
    assert problems_of(text, products) == [f"line 3: {problem}"]  # exact: a password or ID is never quoted


def test_every_bad_row_is_listed_with_every_problem(products: Products) -> None:
    text = "\n".join(
        [
            HEADER,
            csv_row(balance="1.001"),  # line 2
            csv_row(msisdn="13811110001"),  # line 3: good
            "",  # line 4: blank lines are skipped but counted
            csv_row(msisdn="13811110002", vip="x", status="gone"),  # line 5
            "13811110003,钱七,神州行",  # line 6
        ]
    )
    assert problems_of(text, products) == [
        "line 2: balance '1.001' has more than 2 decimals",
        "line 5: vip 'x' must be one of none, silver, gold, diamond, supreme",
        "line 5: status 'gone' must be one of active, suspended, terminated",
        "line 6: 3 fields, the header has 15",
    ]


def test_a_quoted_cell_over_two_lines_counts_both(products: Products) -> None:
    text = 'msisdn,name,brand,vip,plan,balance\n13811110001,"张\n伟",神州行,none,,1\n13811110002,王芳,神州行,none,,x\n'
    assert problems_of(text, products) == [
        "line 2: name must be one line of printable characters",
        "line 4: balance 'x' is not an amount in yuan (like 12.50 or -3.20)",
    ]


async def test_one_bad_row_among_good_ones_leaves_the_ledger_unchanged(db: Database, products: Products) -> None:
    await import_subscribers(db, parse(GOOD, products))
    before = await count_rows(db)
    text = "\n".join([HEADER, csv_row(msisdn="13811110004"), csv_row(msisdn="13811110005", balance="7.777")])

    with pytest.raises(ImportRejected) as caught:
        await import_subscribers(db, parse(text, products))

    assert caught.value.problems == ["line 3: balance '7.777' has more than 2 decimals"]
    assert await count_rows(db) == before == (3, 3)


async def test_a_failing_insert_rolls_back_the_rows_before_it(db: Database) -> None:
    good = NewSubscriber(msisdn="13811110001", name="张伟", brand="神州行", plan="SZX", created_on=TODAY)
    bad = NewSubscriber(msisdn="13811110002", name="王芳", brand="神州行", plan="SZX", created_on=TODAY, gift=-1)

    with pytest.raises(aiosqlite.IntegrityError):
        await import_subscribers(db, [good, bad])

    assert await count_rows(db) == (0, 0)
    async with db.transaction():  # the failed import's transaction was rolled back, not left open
        pass


def test_a_number_twice_in_the_file_is_named_with_both_lines(products: Products) -> None:
    text = "\n".join(
        [HEADER, csv_row(msisdn="13811110001"), csv_row(msisdn="13811110002"), csv_row(msisdn="13811110001")]
    )
    assert problems_of(text, products) == ["line 4: msisdn 13811110001 is also on line 2"]


async def test_a_number_already_in_the_ledger_is_rejected_before_any_insert(db: Database, products: Products) -> None:
    await import_subscribers(db, parse(GOOD, products))
    text = "\n".join(
        [HEADER, csv_row(msisdn="13811110007"), csv_row(msisdn="13811110003"), csv_row(msisdn="13811110001")]
    )

    with pytest.raises(ImportRejected) as caught:
        await import_subscribers(db, parse(text, products))

    assert caught.value.problems == [
        "line 3: msisdn 13811110003 is already in the ledger",
        "line 4: msisdn 13811110001 is already in the ledger",
    ]
    assert await count_rows(db) == (3, 3)


async def test_subscribers_given_twice_without_a_file_are_rejected(db: Database) -> None:
    one = NewSubscriber(msisdn="13811110001", name="张伟", brand="神州行", plan="SZX", created_on=TODAY)
    with pytest.raises(ImportRejected) as caught:
        await import_subscribers(db, [one, one])
    assert caught.value.problems == ["msisdn 13811110001 is given twice"]
    assert await count_rows(db) == (0, 0)


def test_an_unknown_column_is_named(products: Products) -> None:
    text = f"msisdn,name,brand,vip,plan,balance,nickname,Remark\n{ROW['msisdn']},赵六,神州行,none,,1,六子,x\n"
    assert problems_of(text, products) == ["line 1: unknown column 'nickname'", "line 1: unknown column 'remark'"]


def test_missing_columns_stop_at_the_header(products: Products) -> None:
    text = "msisdn,name,plan,balance,balance\n13811110001,赵六,,1,2\n"
    assert problems_of(text, products) == [
        "line 1: column 'balance' appears twice",
        "line 1: missing columns brand, vip",
    ]


def test_an_empty_file_says_what_the_header_must_be(products: Products) -> None:
    assert problems_of("", products) == [
        "line 1: the file is empty; the header must be msisdn,name,brand,vip,plan,balance"
    ]


def test_a_header_only_file_has_no_subscribers(products: Products) -> None:
    assert parse(HEADER + "\n", products) == []


def test_a_byte_order_mark_and_crlf_lines_are_read(products: Products) -> None:
    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    assert [s.msisdn for s in parse(text, products)] == ["13811110001", "13811110002", "13811110003"]


def test_trailing_empty_cells_are_allowed(products: Products) -> None:
    (subscriber,) = parse(f"{HEADER}\n{csv_row()},,\n", products)
    assert subscriber.cash == 1000


def test_the_rejection_message_never_shows_a_secret(products: Products) -> None:
    text = "\n".join([HEADER, csv_row(password="12345", id_number="11010519880516123")])
    with pytest.raises(ImportRejected) as caught:
        parse(text, products)
    assert "12345" not in str(caught.value)
    assert str(caught.value) == (
        "2 problems: line 2: password must be 6 digits; "
        "line 2: id_number must be 18 characters: 17 digits, then a digit or X"
    )
