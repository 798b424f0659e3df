"""gateway/db/thread.py: a piece of work runs whole on the database thread, in one trip, and its outcome
comes back; nothing is left running or raised in the thread when the caller or its loop goes away."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.db.thread import DatabaseThread


def count_and_add(connection: sqlite3.Connection, value: int) -> tuple[int, str]:
    connection.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
    connection.execute("INSERT INTO t VALUES (?)", (value,))
    total = connection.execute("SELECT COUNT(*), SUM(v) FROM t").fetchone()
    return total[0], threading.current_thread().name


async def test_a_work_runs_whole_on_the_thread_and_returns_its_result(tmp_path: Path) -> None:
    db = await DatabaseThread.open(str(tmp_path / "a.db"), name="db-test")
    try:
        assert await db.call(count_and_add, 5) == (1, "db-test")
        assert await asyncio.gather(*(db.call(count_and_add, i) for i in range(3))) == [
            (2, "db-test"),
            (3, "db-test"),
            (4, "db-test"),
        ]
    finally:
        await db.close()


async def test_work_asked_to_run_here_runs_on_the_callers_thread_only_when_the_thread_holds_nothing(
    tmp_path: Path,
) -> None:
    db = await DatabaseThread.open(str(tmp_path / "a.db"), name="db-test")
    here = threading.current_thread().name
    started, release = threading.Event(), threading.Event()

    def held(connection: sqlite3.Connection) -> tuple[int, str]:
        started.set()
        release.wait(5)
        return count_and_add(connection, 1)

    try:
        assert await db.call(count_and_add, 5, here=True) == (1, here)
        in_hand = asyncio.ensure_future(db.call(held))
        await asyncio.to_thread(started.wait, 5)
        after = asyncio.ensure_future(db.call(count_and_add, 7, here=True))  # behind the one in hand, there
        await asyncio.sleep(0.05)
        assert not after.done()
        release.set()
        assert await in_hand == (2, "db-test")
        assert await after == (3, "db-test")
        assert await db.call(count_and_add, 9, here=True) == (4, here)  # the thread has nothing again
    finally:
        release.set()
        await db.close()


async def test_a_work_that_raises_raises_in_the_caller_and_the_thread_goes_on(tmp_path: Path) -> None:
    db = await DatabaseThread.open(str(tmp_path / "a.db"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table: missing"):
            await db.call(lambda c: c.execute("SELECT * FROM missing").fetchall())
        assert await db.call(lambda c: c.execute("SELECT 41 + 1").fetchone()[0]) == 42
    finally:
        await db.close()


async def test_close_finishes_what_was_handed_over_then_refuses_more(tmp_path: Path) -> None:
    db = await DatabaseThread.open(str(tmp_path / "a.db"))
    pending = [asyncio.ensure_future(db.call(count_and_add, i)) for i in range(5)]
    await asyncio.sleep(0)  # handed over
    await db.close()
    assert [count for count, _ in await asyncio.gather(*pending)] == [1, 2, 3, 4, 5]
    with pytest.raises(sqlite3.ProgrammingError, match="the database thread is closed"):
        await db.call(count_and_add, 6)
    await db.close()  # a second close is nothing
    assert sqlite3.connect(tmp_path / "a.db").execute("SELECT COUNT(*) FROM t").fetchone() == (5,)


async def test_a_file_that_cannot_be_opened_raises_and_leaves_no_thread(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        await DatabaseThread.open(str(tmp_path / "no such folder" / "a.db"), name="db-unopened")
    assert [t for t in threading.enumerate() if t.name == "db-unopened"] == []


def test_nothing_is_raised_in_the_thread_when_the_loop_closes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's loop ends while a work runs (the caller was cancelled): the answer has nowhere to go."""
    raised: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: raised.append(repr(hook.exc_value)))
    release = threading.Event()
    opened: list[DatabaseThread] = []

    def slow(connection: sqlite3.Connection) -> int:
        release.wait(5)
        return 1

    async def body() -> None:
        db = await DatabaseThread.open(str(tmp_path / "a.db"))
        opened.append(db)
        running = asyncio.ensure_future(db.call(slow))
        await asyncio.sleep(0.05)
        running.cancel()

    asyncio.run(body())  # the loop is closed now, the work still runs
    release.set()

    async def close() -> None:
        await opened[0].close()

    asyncio.run(close())
    assert raised == []


async def test_an_open_cancelled_half_way_closes_the_connection(tmp_path: Path) -> None:
    opening = asyncio.ensure_future(DatabaseThread.open(str(tmp_path / "a.db"), name="db-cancelled"))
    await asyncio.sleep(0)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert [t for t in threading.enumerate() if t.name == "db-cancelled"] == []
