"""One database connection owned by one thread of ours: a whole piece of work runs there in one trip.

aiosqlite sends each statement to its thread and back, so a unit of work of a dozen statements is a
dozen trips while everything else on the loop waits its turn. Here the caller hands over a plain
function of the connection (:meth:`DatabaseThread.call`); the thread runs it whole, statements and all,
and answers once. Results reach the event loop with ``call_soon_threadsafe``; a loop that has closed
meanwhile is not an error of the thread's (the task that asked is gone with it).

The connection is SQLite's (:meth:`DatabaseThread.open`), or any with its few calls (``execute`` returning
a cursor, ``executemany``, ``in_transaction``, ``close``): PostgreSQL's
(:class:`gateway.db.postgres.SyncConnection`), whose driver releases the GIL while it waits on the socket.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = object()


class DatabaseThread:
    """A thread that owns a connection; every use of the connection goes through :meth:`call`."""

    def __init__(self, connect: Callable[[], Any], *, name: str = "database") -> None:
        self._connect = connect
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._opened: asyncio.Future[None] | None = None
        self._closed = False
        self._connection: Any = None  # once the thread has connected
        self._in_hand = 0  # jobs handed to the thread whose end the loop has not heard of yet

    @classmethod
    async def open(cls, path: str, *, name: str = "database") -> DatabaseThread:
        """The thread of ``sqlite3.connect(path)`` (autocommit: transactions are begun by statements)."""
        return await cls.start(lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False), name=name)

    @classmethod
    async def start(cls, connect: Callable[[], Any], *, name: str = "database") -> DatabaseThread:
        """Start the thread and ``connect()`` there; a connect that fails raises here and leaves no thread running."""
        opened = cls(connect, name=name)
        loop = asyncio.get_running_loop()
        opened._opened = loop.create_future()
        opened._thread.start()
        try:
            await asyncio.shield(opened._opened)
        except asyncio.CancelledError:  # the thread still finishes connecting: close what it opened
            await asyncio.gather(opened._opened, return_exceptions=True)
            await opened.close()
            raise
        except BaseException:
            opened._closed = True
            await asyncio.to_thread(opened._thread.join)
            raise
        return opened

    async def call(self, work: Callable[..., T], *args: Any, here: bool = False) -> T:
        """Run ``work(connection, *args)`` on the thread and return what it returns (or raise what it raised).

        ``here``: run it on the caller's thread instead, at once, when the thread has nothing in hand (so the
        connection is never used by both): for short work on a connection that does not wait on a socket
        (SQLite's), the GIL is not handed back and forth around each of its statements."""
        if self._closed:
            raise sqlite3.ProgrammingError("the database thread is closed")
        if here and not self._in_hand and self._connection is not None:
            return work(self._connection, *args)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._in_hand += 1
        self._jobs.put((future, work, args))
        return await future

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """One query, one trip: its rows."""
        return await self.call(_fetch, sql, params)

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """One statement, one trip: the number of rows it changed."""
        return await self.call(_execute, sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each row of parameters, in one trip."""
        await self.call(_execute_many, sql, list(rows))

    async def close(self) -> None:
        """Finish the work already handed over, close the connection and end the thread."""
        if self._closed:
            return
        self._closed = True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, _STOP, ()))
        await asyncio.shield(future)
        await asyncio.to_thread(self._thread.join)

    # --- on the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._opened is not None
        try:
            connection = self._connect()
        except BaseException as exc:
            _answer(self._opened, None, exc)
            return
        self._connection = connection
        _answer(self._opened, None, None)
        try:
            while True:
                future, work, args = self._jobs.get()
                if work is _STOP:
                    break
                try:
                    result = work(connection, *args)
                except BaseException as exc:
                    self._done(future, None, exc)
                else:
                    self._done(future, result, None)
        finally:
            connection.close()
        _answer(future, None, None)

    def _done(self, future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
        """Hand a job's outcome to the loop, with word that the thread has it no longer (even if the caller
        has stopped waiting: the count is the connection's, not the caller's)."""
        with suppress(RuntimeError):  # "Event loop is closed": whoever awaited it is gone
            future.get_loop().call_soon_threadsafe(self._settle_job, future, result, exc)

    def _settle_job(self, future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
        self._in_hand -= 1
        _settle(future, result, exc)


def _answer(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    """Hand an outcome to the future's loop; nothing if that loop has closed meanwhile."""
    with suppress(RuntimeError):  # "Event loop is closed": whoever awaited it is gone
        future.get_loop().call_soon_threadsafe(_settle, future, result, exc)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # cancelled while the work ran
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _fetch(connection: sqlite3.Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
    return connection.execute(sql, params).fetchall()


def _execute(connection: sqlite3.Connection, sql: str, params: Any) -> int:
    return connection.execute(sql, params).rowcount


def _execute_many(connection: sqlite3.Connection, sql: str, rows: list[Sequence[Any]]) -> None:
    connection.executemany(sql, rows)
