"""A database connection opened and given up at once leaves no thread behind to answer into a closed loop.

aiosqlite runs each connection on a thread of its own, which hands every result back to the event loop.
A connect cancelled half-way (a store closed right after it opened, so its checkpointer is cancelled
while it connects) used to leave that thread to answer later, into a loop that by then was closed: an
"Event loop is closed" raised in the thread, reported against whatever test happened to run next.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gateway.db.database import run_checkpoints
from gateway.db.sqlite import connect
from gateway.db.store import Store


def in_fresh_loops(tries: int, body: object, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run ``body(i)`` in a new event loop ``tries`` times; what the connections' threads raised after."""
    raised: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: raised.append(repr(hook.exc_value)))
    before = set(threading.enumerate())
    for i in range(tries):
        asyncio.run(body(i))  # type: ignore[operator]
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
        assert not thread.is_alive(), f"{thread.name} still runs after its loop closed"
    return raised


def test_checkpoints_cancelled_while_they_connect_close_what_they_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(i: int) -> None:
        checkpoints = asyncio.create_task(run_checkpoints(str(tmp_path / f"{i}.db")))
        await asyncio.sleep(0)  # it has asked for its connection, which is not there yet
        checkpoints.cancel()
        await asyncio.gather(checkpoints, return_exceptions=True)
        assert checkpoints.cancelled()

    assert in_fresh_loops(30, body, monkeypatch) == []


def test_a_connect_cancelled_half_way_is_cancelled_and_closes_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(i: int) -> None:
        opening = asyncio.create_task(connect(str(tmp_path / f"{i}.db")))
        await asyncio.sleep(0)
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening

    assert in_fresh_loops(30, body, monkeypatch) == []


def test_a_store_closed_as_soon_as_it_opened_leaves_no_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(i: int) -> None:
        store = await Store.open(str(tmp_path / f"{i}.db"))
        await store.close()

    assert in_fresh_loops(10, body, monkeypatch) == []
