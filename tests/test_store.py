"""gateway.db.store: the inbox and outbox in SQLite, written with group commits (real aiosqlite, tmp files)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.db import messages
from gateway.db.errors import EngineError
from gateway.db.messages import StoredPart
from gateway.db.store import Store, message_id_keys, normal_id
from gateway.db.unit import Tx, Work
from gateway.types import InboundMessage, OutboundMessage, Reply

SUBSCRIBER = "13800138000"
OTHER = "13900139000"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    """A SQLite file, for the tests that open it beside the store with sqlite3 itself."""
    return str(tmp_path / "ledger.db")


@pytest.fixture
async def store(ledger_at: str) -> AsyncIterator[Store]:
    """The store on a new ledger, once on each engine."""
    async with _opened(ledger_at) as opened:
        yield opened


@pytest.fixture
async def file_store(db_path: str) -> AsyncIterator[Store]:
    """The store on the SQLite file at ``db_path`` (these tests also open the file with sqlite3 beside it)."""
    async with _opened(db_path) as opened:
        yield opened


@asynccontextmanager
async def _opened(ledger: str) -> AsyncIterator[Store]:
    opened = await Store.open(ledger)
    yield opened
    async with asyncio.timeout(5):
        await opened.close()


async def add(store: Store, text: str = "102", *, source: str = SUBSCRIBER, at: float = 100.0) -> InboundMessage:
    return await store.add_mo(source_addr=source, destination_addr="10001", text=text, received_at=at)


def reply_to(mo: InboundMessage, text: str) -> Reply:
    return Reply(text=text, destination_addr=mo.source_addr, source_addr=mo.destination_addr)


def part(seqno: int, *, reference: int = 7, total: int = 3, payload: bytes = b"", at: float = 100.0) -> StoredPart:
    return StoredPart(
        source_addr=SUBSCRIBER,
        destination_addr="10086",
        reference=reference,
        total=total,
        seqno=seqno,
        data_coding=8,
        payload=payload or f"第{seqno}段".encode("utf-16-be"),
        received_at=at + seqno,
    )


# --- MOs and MTs ---------------------------------------------------------------------------------


async def test_add_mo_finish_mo_round_trip(store: Store) -> None:
    first = await add(store, "102", at=100.0)
    second = await store.add_mo(
        source_addr=OTHER, destination_addr="12345", text="半条", received_at=101.5, complete=False
    )
    assert first == InboundMessage(
        id=1, source_addr=SUBSCRIBER, destination_addr="10001", text="102", received_at=100.0, complete=True
    )
    assert second == InboundMessage(
        id=2, source_addr=OTHER, destination_addr="12345", text="半条", received_at=101.5, complete=False
    )
    assert await store.unanswered_mos() == [first, second]
    assert await store.queued_mts() == []

    mts = await store.finish_mo(first, [reply_to(first, "余额10.00元"), reply_to(first, "谢谢")], now=102.0)
    assert mts == [
        OutboundMessage(id=1, source_addr="10001", destination_addr=SUBSCRIBER, text="余额10.00元"),
        OutboundMessage(id=2, source_addr="10001", destination_addr=SUBSCRIBER, text="谢谢"),
    ]
    assert await store.finish_mo(second, [], now=103.0) == []

    assert await store.unanswered_mos() == []
    assert await store.queued_mts() == mts
    assert await store.fetch("SELECT id, text, complete, status, handled_at FROM mo ORDER BY id") == [
        (1, "102", 1, "answered", 102.0),
        (2, "半条", 0, "ignored", 103.0),
    ]
    assert await store.fetch("SELECT id, mo_id, status, created_at, sent_at FROM mt ORDER BY id") == [
        (1, 1, "queued", 102.0, None),
        (2, 1, "queued", 102.0, None),
    ]


async def test_sent_and_failed_mts_leave_the_queue(store: Store) -> None:
    mo = await add(store)
    sent, failed = await store.finish_mo(mo, [reply_to(mo, "一"), reply_to(mo, "二")], now=1.0)
    await store.mt_sent(sent.id, ["1A", "1B"], now=2.0)
    await store.mt_failed(failed.id, 0x0B, now=3.0)
    assert await store.queued_mts() == []
    assert await store.fetch("SELECT id, status, sent_at, command_status FROM mt ORDER BY id") == [
        (1, "sent", 2.0, 0),
        (2, "failed", 3.0, 0x0B),
    ]
    assert await store.fetch("SELECT mt_id, seqno, message_id FROM mt_part ORDER BY seqno") == [
        (1, 1, "1a"),
        (1, 2, "1b"),
    ]


async def test_ids_continue_after_reopening(db_path: str) -> None:
    store = await Store.open(db_path)
    first = await add(store, "101")
    second = await add(store, "102")
    [mt] = await store.finish_mo(first, [reply_to(first, "话费")], now=5.0)
    await store.close()

    store = await Store.open(db_path)
    try:
        assert await store.unanswered_mos() == [second]
        assert await store.queued_mts() == [mt]
        third = await add(store, "103")
        assert third.id == 3
        [next_mt] = await store.finish_mo(second, [reply_to(second, "余额")], now=6.0)
        assert next_mt.id == 2
        assert await store.fetch("SELECT id, text FROM mo ORDER BY id") == [(1, "101"), (2, "102"), (3, "103")]
    finally:
        await store.close()


# --- group commits -------------------------------------------------------------------------------


async def test_concurrent_writes_share_commits(store: Store) -> None:
    senders = [f"1390000{n:04d}" for n in range(200)]
    async with asyncio.timeout(10):
        mos = await asyncio.gather(*(add(store, source=s) for s in senders))
    assert store.commits < 20
    assert sorted(mo.id for mo in mos) == list(range(1, 201))
    assert [mo.source_addr for mo in mos] == senders
    assert await store.fetch("SELECT COUNT(*), COUNT(DISTINCT source_addr), MIN(id), MAX(id) FROM mo") == [
        (200, 200, 1, 200)
    ]


async def test_a_commit_takes_at_most_batch_max_operations(db_path: str) -> None:
    store = await Store.open(db_path, batch_max=16)
    try:
        async with asyncio.timeout(10):
            await asyncio.gather(*(add(store, source=f"1390000{n:04d}") for n in range(200)))
        assert store.commits == 13  # ceil(200 / 16)
        assert await store.fetch("SELECT COUNT(*) FROM mo") == [(200,)]
    finally:
        await store.close()


# --- an MO and its answer in one commit ---------------------------------------------------------


async def test_the_mos_finished_in_one_batch_are_marked_together_each_as_its_unit_said(store: Store) -> None:
    """The marks wait for the end of the transaction (one statement for the batch); a unit that fails after
    finishing its MO leaves no mark, the others keep theirs."""
    mos = [await add(store, str(n), source=f"1390000000{n}") for n in range(4)]

    def finishing(mo: InboundMessage, texts: list[str], at: float, *, effect: bool, fails: bool = False) -> Work:
        async def work(tx: Tx) -> list[OutboundMessage]:
            sent = await messages.finish_mo(tx, mo, [reply_to(mo, t) for t in texts], now=at, effect=effect)
            if fails:
                raise LookupError("not a subscriber")
            return sent

        return work

    commits = store.commits
    outcomes = await asyncio.gather(
        store.transact(finishing(mos[0], ["好"], 201.5, effect=False)),
        store.transact(finishing(mos[1], [], 202.25, effect=False)),
        store.transact(finishing(mos[2], ["已订购"], 203.0, effect=True)),
        store.transact(finishing(mos[3], ["不会发出"], 204.0, effect=True, fails=True)),
        return_exceptions=True,
    )
    assert store.commits == commits + 1
    assert isinstance(outcomes[3], LookupError)
    assert await store.fetch("SELECT id, status, handled_at, effect FROM mo ORDER BY id") == [
        (mos[0].id, "answered", 201.5, 0),
        (mos[1].id, "ignored", 202.25, 0),
        (mos[2].id, "answered", 203.0, 1),
        (mos[3].id, "new", None, 0),
    ]
    assert await store.fetch("SELECT mo_id, text FROM mt ORDER BY id") == [(mos[0].id, "好"), (mos[2].id, "已订购")]


async def test_on_sqlite_an_mos_units_run_on_the_loops_thread_and_a_callers_own_on_the_database_thread(
    file_store: Store,
) -> None:
    async def where(tx: Tx) -> str:
        return threading.current_thread().name

    told = await stored_and_answered(file_store, new_mo("102"), lambda mo: where)
    assert told[1][1:] == (True, threading.current_thread().name)  # a batch of quick units: no GIL handed over
    assert await file_store.transact(where) == "store"  # a unit of any size: the loop is not held up by it


def new_mo(text: str, source: str = SUBSCRIBER) -> InboundMessage:
    return InboundMessage(id=0, source_addr=source, destination_addr="10001", text=text, received_at=100.0)


async def stored_and_answered(store: Store, mo: InboundMessage, answer: Any) -> list[tuple[str, bool, Any]]:
    """What ``stored`` and ``answered`` were told, in order, once both have been."""
    told: list[tuple[str, bool, Any]] = []
    done = asyncio.get_running_loop().create_future()

    def stored(ok: bool, value: Any) -> None:
        told.append(("stored", ok, value))

    def answered(ok: bool, value: Any) -> None:
        told.append(("answered", ok, value))
        done.set_result(None)

    store.add_mo_answered(mo, stored, answer, answered)
    async with asyncio.timeout(5):
        await done
    return told


def replying(text: str) -> Callable[[InboundMessage], Work]:
    def answer(mo: InboundMessage) -> Work:
        return lambda tx: messages.finish_mo(tx, mo, [reply_to(mo, text)], now=1.0, effect=False)

    return answer


async def test_an_mo_and_its_answer_commit_together_the_mo_told_first(store: Store) -> None:
    await add(store, "first")
    commits = store.commits
    told = await stored_and_answered(store, new_mo("102"), replying("您的余额为10.00元"))
    assert [(what, ok) for what, ok, _ in told] == [("stored", True), ("answered", True)]
    assert told[0][2].id == 2 and [mt.text for mt in told[1][2]] == ["您的余额为10.00元"]
    assert store.commits == commits + 1
    assert await store.fetch("SELECT m.id, m.status, t.mo_id FROM mo m JOIN mt t ON t.mo_id = m.id") == [
        (2, "answered", 2)
    ]


async def test_an_answer_that_fails_leaves_its_mo_stored_and_unanswered(store: Store) -> None:
    def answer(mo: InboundMessage) -> Work:
        async def work(tx: Tx) -> None:
            await messages.finish_mo(tx, mo, [reply_to(mo, "不会发出")], now=1.0, effect=False)
            raise LookupError("not a subscriber")

        return work

    told = await stored_and_answered(store, new_mo("102"), answer)
    assert [(what, ok, type(value)) for what, ok, value in told] == [
        ("stored", True, InboundMessage),
        ("answered", False, LookupError),
    ]
    stored = told[0][2]  # (PostgreSQL's sequence moved on in the run that was undone: its id may not be 1)
    assert await store.fetch("SELECT id, status FROM mo") == [(stored.id, "new")]  # for the usual way to answer
    assert await store.fetch("SELECT COUNT(*) FROM mt") == [(0,)]


async def test_an_mo_the_database_refuses_is_not_answered(file_store: Store, db_path: str) -> None:
    refuse_texts(db_path, "clash")
    ran: list[int] = []

    def answer(mo: InboundMessage) -> Work:
        ran.append(mo.id)
        return replying("不会发出")(mo)

    told = await stored_and_answered(file_store, new_mo("clash"), answer)
    assert [(what, ok, type(value).__name__) for what, ok, value in told] == [
        ("stored", False, "IntegrityError"),
        ("answered", False, "NotStored"),
    ]
    assert ran == [] and await file_store.fetch("SELECT COUNT(*) FROM mt") == [(0,)]


async def test_an_mo_and_its_answer_are_never_split_between_batches(db_path: str) -> None:
    store = await Store.open(db_path, batch_max=3)
    try:
        async with asyncio.timeout(10):
            results = await asyncio.gather(
                *(stored_and_answered(store, new_mo("102", f"1390000{n:04d}"), replying("好")) for n in range(10))
            )
        assert all(ok for told in results for _, ok, _ in told)
        assert await store.fetch("SELECT COUNT(*) FROM mo WHERE status = 'answered'") == [(10,)]
    finally:
        await store.close()


async def test_each_awaited_write_is_on_disk(file_store: Store, db_path: str) -> None:
    store = file_store
    await add(store, "CXYE")
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT id, text FROM mo").fetchall() == [(1, "CXYE")]
    other.close()


# --- parts of concatenated MOs ------------------------------------------------------------------


async def test_parts_are_stored_and_dropped_with_the_joined_mo(store: Store) -> None:
    await store.add_part(part(1))
    await store.add_part(part(2))
    await store.add_part(part(2))  # redelivered: replaces, does not add
    other = part(1, reference=8, at=200.0)
    await store.add_part(other)
    assert await store.stored_parts() == [part(1), part(2), other]

    mo = await store.add_mo(
        source_addr=SUBSCRIBER,
        destination_addr="10086",
        text="第1段第2段第3段",
        received_at=101.0,
        parts_done=part(1),
    )
    assert mo.id == 1
    assert await store.stored_parts() == [other]  # only reference 7's parts are gone
    assert await store.fetch("SELECT text, complete FROM mo") == [("第1段第2段第3段", 1)]


# --- message ids and receipts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [("0a1B", "a1b"), (" 00123 ", "123"), ("000", "0"), ("0", "0"), ("", ""), ("ABC-1", "abc-1")],
)
def test_normal_id(given: str, normal: str) -> None:
    assert normal_id(given) == normal


@pytest.mark.parametrize(
    ("given", "keys"),
    [
        ("1a", ("1a", "1a", "26")),
        ("26", ("26", "1a", "38")),
        ("0026", ("26", "1a", "38")),
        ("FF", ("ff", "ff", "255")),
        ("075BCD15", ("75bcd15", "75bcd15", "123456789")),
        ("123456789", ("123456789", "75bcd15", "4886718345")),
        ("0", ("0", "0", "0")),
        ("msg-1", ("msg-1", "msg-1", "msg-1")),
    ],
)
def test_message_id_keys(given: str, keys: tuple[str, str, str]) -> None:
    assert message_id_keys(given) == keys


async def sent_mts(store: Store, message_ids: list[str]) -> None:
    """One answered MO per id, each MT sent with that message id."""
    for n, message_id in enumerate(message_ids):
        mo = await add(store, source=f"1370000{n:04d}")
        [mt] = await store.finish_mo(mo, [reply_to(mo, "好")], now=1.0)
        await store.mt_sent(mt.id, [message_id], now=2.0)


@pytest.mark.parametrize(
    ("submitted", "in_receipt"),
    [
        ("1a", "1a"),  # as given
        ("1a", "26"),  # hex at submit, decimal in the receipt
        ("26", "1A"),  # decimal at submit, hex in the receipt
        ("0000001A", "26"),  # leading zeros at submit
        ("1a", "00001A"),  # leading zeros in the receipt
        ("075BCD15", "123456789"),
        ("123456789", "075bcd15"),
        ("msg-1", "MSG-1"),
    ],
)
async def test_a_receipt_finds_its_mt_by_hex_decimal_or_leading_zero_form(
    store: Store, submitted: str, in_receipt: str
) -> None:
    await sent_mts(store, ["ffff", submitted])  # a first MT the receipt must not match
    await store.add_receipt(in_receipt, "DELIVRD", now=3.0)
    assert await store.fetch("SELECT message_id, stat, mt_id, received_at FROM receipt") == [
        (normal_id(in_receipt), "DELIVRD", 2, 3.0)
    ]
    assert await store.fetch("SELECT id, delivery_stat FROM mt ORDER BY id") == [(1, None), (2, "DELIVRD")]


@pytest.mark.parametrize(
    ("ids", "in_receipt", "mt_id"),
    [
        (["10", "16"], "16", 2),  # decimal SMSC: "16" is also the decimal reading of hex "10"
        (["10", "16"], "10", 1),
        (["a", "10"], "a", 1),  # hex SMSC: "a" is also the hex reading of decimal "10"
        (["a", "10"], "10", 2),
    ],
)
async def test_the_id_exactly_as_given_wins_over_its_other_readings(
    store: Store, ids: list[str], in_receipt: str, mt_id: int
) -> None:
    await sent_mts(store, ids)
    await store.add_receipt(in_receipt, "UNDELIV", now=3.0)
    assert await store.fetch("SELECT message_id, mt_id FROM receipt") == [(in_receipt, mt_id)]
    assert await store.fetch("SELECT id FROM mt WHERE delivery_stat = 'UNDELIV'") == [(mt_id,)]


async def test_a_receipt_for_an_unknown_id_is_kept_without_an_mt(store: Store) -> None:
    await sent_mts(store, ["1a"])
    await store.add_receipt("00FFEE", "EXPIRED", now=4.0)
    assert await store.fetch("SELECT id, message_id, stat, mt_id, received_at FROM receipt") == [
        (1, "ffee", "EXPIRED", None, 4.0)
    ]
    assert await store.fetch("SELECT delivery_stat FROM mt") == [(None,)]


async def test_every_receipt_for_one_id_is_kept_and_the_last_stat_wins(store: Store) -> None:
    await sent_mts(store, ["1a"])
    await store.add_receipt("1a", "ENROUTE", now=3.0)
    await store.add_receipt("26", "DELIVRD", now=4.0)
    assert await store.fetch("SELECT message_id, stat, mt_id FROM receipt ORDER BY id") == [
        ("1a", "ENROUTE", 1),
        ("26", "DELIVRD", 1),
    ]
    assert await store.fetch("SELECT delivery_stat FROM mt") == [("DELIVRD",)]


# --- failures ------------------------------------------------------------------------------------


def refuse_texts(db_path: str, *texts: str) -> None:
    """Make the database itself refuse an MO with one of these texts (a trigger), as a full disk would."""
    marks = ", ".join(f"'{t}'" for t in texts)
    with sqlite3.connect(db_path) as other:
        other.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON mo WHEN NEW.text IN ({marks})"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    other.close()


async def test_a_failing_statement_reaches_its_caller_and_the_writer_goes_on(file_store: Store, db_path: str) -> None:
    store = file_store
    await add(store, "first")
    refuse_texts(db_path, "clash")
    async with asyncio.timeout(5):
        with pytest.raises(sqlite3.IntegrityError, match=r"^refused$"):
            await add(store, "clash")  # under its savepoint: undone alone
    assert await store.fetch("SELECT text FROM mo") == [("first",)]
    commits = store.commits

    async with asyncio.timeout(5):
        later = await add(store, "later")
        [mt] = await store.finish_mo(later, [reply_to(later, "好")], now=1.0)
    assert (later.id, mt.id) == (2, 1)
    assert store.commits == commits + 2
    assert await store.fetch("SELECT id, text, status FROM mo ORDER BY id") == [
        (1, "first", "new"),
        (2, "later", "answered"),
    ]


async def test_ids_come_from_the_database_so_another_writer_takes_none_of_ours(file_store: Store, db_path: str) -> None:
    store = file_store
    await add(store, "first")
    with sqlite3.connect(db_path) as other:  # a second writer on the same file (another instance, a tool)
        other.execute("INSERT INTO mo (source_addr, destination_addr, text, received_at) VALUES ('x', 'y', 'z', 0)")
        other.execute("INSERT INTO mt (source_addr, destination_addr, text, created_at) VALUES ('y', 'x', 'w', 0)")
    other.close()
    async with asyncio.timeout(5):
        later = await add(store, "later")
        [mt] = await store.finish_mo(later, [reply_to(later, "好")], now=1.0)
    assert (later.id, mt.id) == (3, 2)
    assert await store.fetch("SELECT id, text FROM mo ORDER BY id") == [(1, "first"), (2, "z"), (3, "later")]


async def test_an_mo_the_database_refuses_fails_alone_and_the_others_in_its_batch_are_stored(
    file_store: Store, db_path: str
) -> None:
    store = file_store
    await add(store, "first")
    refuse_texts(db_path, "three")
    async with asyncio.timeout(5):
        outcomes = await asyncio.gather(add(store, "two"), add(store, "three"), return_exceptions=True)
    assert [type(o) for o in outcomes] == [InboundMessage, sqlite3.IntegrityError]
    assert await store.fetch("SELECT id, text FROM mo ORDER BY id") == [(1, "first"), (2, "two")]
    async with asyncio.timeout(5):
        assert (await add(store, "four")).id == 3


async def test_a_failed_plain_part_is_rolled_back_for_every_operation_in_it(file_store: Store, db_path: str) -> None:
    """The outbox's and the parts' small writes share one transaction without savepoints: one refused fails them all."""
    store = file_store
    with sqlite3.connect(db_path) as other:
        other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON mo_part WHEN NEW.seqno = 3"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    other.close()
    async with asyncio.timeout(5):
        outcomes = await asyncio.gather(store.add_part(part(2)), store.add_part(part(3)), return_exceptions=True)
    assert [type(o) for o in outcomes] == [sqlite3.IntegrityError, sqlite3.IntegrityError]
    assert await store.fetch("SELECT seqno FROM mo_part") == []
    async with asyncio.timeout(5):
        await store.add_part(part(1))
    assert await store.fetch("SELECT seqno FROM mo_part") == [(1,)]


async def test_a_closed_connection_fails_the_callers_instead_of_hanging(store: Store) -> None:
    await add(store, "first")
    await store._db.close()  # the database goes away underneath the writer
    async with asyncio.timeout(5):
        with pytest.raises(sqlite3.ProgrammingError, match=r"^the database thread is closed$"):
            await add(store, "lost")
        with pytest.raises(sqlite3.ProgrammingError, match=r"^the database thread is closed$"):  # still there
            await store.add_receipt("1a", "DELIVRD", now=1.0)


async def test_two_batches_that_deadlock_on_postgresql_both_commit_once(postgres_url: str) -> None:
    """Batches commit side by side on two connections (``ledger.connections``); two that take the same rows
    in opposite order deadlock, PostgreSQL ends one, and the store runs that one again: both commit, each
    once."""
    store = await Store.open(postgres_url, connections=2)
    try:
        await store.transact(lambda tx: tx.execute("INSERT INTO meta (key, value) VALUES ('x', '0'), ('y', '0')"))

        def crossing(first: str, second: str) -> Work:
            async def work(tx: Tx) -> str:
                await tx.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = :k", {"k": first}
                )
                await tx.fetch("SELECT pg_sleep(0.3)")
                await tx.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = :k", {"k": second}
                )
                return first + second

            return work

        one = asyncio.ensure_future(store.transact(crossing("x", "y")))
        await asyncio.sleep(0.1)  # the first batch is on its connection, holding x
        two = asyncio.ensure_future(store.transact(crossing("y", "x")))
        assert list(await asyncio.wait_for(asyncio.gather(one, two), 20)) == ["xy", "yx"]  # a list, typed a tuple
        assert await store.fetch("SELECT key, value FROM meta WHERE key IN ('x', 'y') ORDER BY key") == [
            ("x", "2"),
            ("y", "2"),
        ]
    finally:
        await store.close()


async def test_a_connection_the_postgresql_server_closed_is_opened_again_for_the_next_batch(
    postgres_url: str,
) -> None:
    """An administrator (or a restart) ends the store's connection: the batch that meets it fails and is
    told so; the next one runs on a new connection."""
    store = await Store.open(postgres_url)
    try:
        await store.transact(lambda tx: tx.execute("INSERT INTO meta (key, value) VALUES ('n', '1')"))
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        assert ended and all(ok for (ok,) in ended)

        with pytest.raises(EngineError):
            await store.transact(lambda tx: tx.execute("UPDATE meta SET value = '2' WHERE key = 'n'"))
        await store.transact(lambda tx: tx.execute("UPDATE meta SET value = '3' WHERE key = 'n'"))
        assert await store.fetch("SELECT value FROM meta WHERE key = 'n'") == [("3",)]
    finally:
        await store.close()
