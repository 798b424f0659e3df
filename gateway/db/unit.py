"""The persistence port: a unit of work (:class:`Tx`) for writes, :class:`Reads` for reads outside one.

A unit of work is written as a coroutine of its transaction handle (``async def work(tx) -> result``)
whose only awaits are the handle's statements. In the gateway's store it runs whole on the database
thread, in one trip: there every statement is answered at once, so the coroutine never suspends and
:func:`run_unit` drives it to its end with a single ``send``. A unit that awaits anything else (a lock,
a sleep, a read on another connection) is a mistake: it is stopped and :class:`UnitSuspended` raised.
Tools beside the gateway run the same units on a connection of their own (:class:`DirectWriter` on a
:class:`Database`), and the gateway's store on PostgreSQL runs them on its connection: there the awaits are
real.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import CoroutineType
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

Params = Sequence[Any] | Mapping[str, Any]  # positional (``?``) or named (``:name``, the portable form)
Work = Callable[["Tx"], Awaitable[Any]]


class UnitSuspended(RuntimeError):
    """A unit of work awaited something other than its own transaction's statements."""


class Connection(Protocol):
    """What :class:`Tx` needs of a connection: the database thread's (:class:`ThreadConnection`), an
    aiosqlite one (:class:`~gateway.db.sqlite.AioConnection`) or a PostgreSQL one
    (:class:`~gateway.db.postgres.PgConnection`)."""

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None: ...


class ThreadConnection:
    """The database thread's own connection, seen by a unit that runs there: each call is answered at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._connection.executemany(sql, rows)


Flush = Callable[["Tx", list[Any]], Awaitable[None]]
"""Writes the rows handed to :meth:`Tx.at_end`, all in one statement (or one per chunk)."""


class Tx:
    """What a unit of work sees of the transaction it runs in."""

    def __init__(self, db: Connection, *, instance: str = "", shared: bool = False, deferring: bool = False) -> None:
        self._db = db
        self.instance = instance  # the gateway instance it runs for: the owner of the MOs and MTs it stores
        self.shared = shared  # other instances may write the same database at the same time (PostgreSQL)
        self._deferred: list[tuple[Flush, Any]] | None = [] if deferring else None

    async def at_end(self, flush: Flush, row: Any) -> None:
        """Write ``row`` with ``flush``, together with the other rows handed to the same ``flush`` in this
        transaction, once at its end (:meth:`write_deferred`): one statement for the rows of a whole batch
        of units, not one each. For a write that nothing in the transaction reads back. A transaction that
        is not ``deferring`` (a tool's) writes it at once."""
        if self._deferred is None:
            await flush(self, [row])
        else:
            self._deferred.append((flush, row))

    def deferred(self) -> int:
        """How many rows wait for the end: a mark to :meth:`drop_deferred` back to."""
        return len(self._deferred) if self._deferred is not None else 0

    def drop_deferred(self, mark: int = 0) -> None:
        """Forget the rows handed over since ``mark`` (the unit that handed them was rolled back)."""
        if self._deferred is not None:
            del self._deferred[mark:]

    async def write_deferred(self) -> None:
        """Write the rows that wait for the end, each ``flush`` once, in the order each was first used."""
        if not self._deferred:
            return
        rows: dict[Flush, list[Any]] = {}
        for flush, row in self._deferred:
            rows.setdefault(flush, []).append(row)
        self._deferred.clear()
        for flush, batch in rows.items():
            await flush(self, batch)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._db.fetch(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return await self._db.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each row of parameters."""
        await self._db.execute_many(sql, rows)


def run_unit(work: Callable[[Tx], Awaitable[T]], tx: Tx) -> T:
    """Run ``work(tx)`` to its end without an event loop (on the database thread); what it returns."""
    unit = work(tx)
    if type(unit) is not CoroutineType and not isinstance(unit, Coroutine):  # (the ABC's check is slow)
        raise TypeError(f"a unit of work must be a coroutine function, not {work!r}")
    return drive(cast(Coroutine[Any, Any, T], unit))


def drive(unit: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends; :class:`UnitSuspended` if it does."""
    try:
        awaited = unit.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    unit.close()
    raise UnitSuspended(f"a unit of work awaited {awaited!r}, which is not a statement of its transaction")


class Reads(Protocol):
    """Where a read-only query runs: a transaction (:class:`Tx`), or a read connection outside the writer,
    which sees only what is committed."""

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class Writer(Protocol):
    """Where ledger work runs: the gateway's :class:`~gateway.db.store.Store`, or a tool's :class:`DirectWriter`."""

    async def transact(self, work: Work) -> Any: ...

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class Database(Connection, Protocol):
    """A tool's connection beside the gateway, on either engine (:func:`gateway.db.database.open_database`)."""

    engine: str  # "sqlite" or "postgresql"

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Its statements in one transaction (SQLite: ``BEGIN IMMEDIATE``): committed at the end of the block,
        rolled back, and the exception passed on, if the block raises."""
        ...

    async def close(self) -> None: ...


class DirectWriter:
    """Ledger work straight on a connection, each piece its own transaction, for tools beside the gateway
    (``gateway ledger usage``, ``gateway push run``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def transact(self, work: Work) -> Any:
        async with self._db.transaction() as tx:
            return await work(tx)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._db.fetch(sql, params)
