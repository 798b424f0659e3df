"""PostgreSQL through psycopg 3: the engine of several gateway instances on one ledger (``ledger.url``).

The repositories' statements are the ones SQLite runs: positional ``?`` and named ``:name`` placeholders,
which :func:`translated` turns into psycopg's ``%s`` and ``%(name)s`` (once per statement text). Every
connection is in autocommit mode, so a transaction is begun and ended by statements (``BEGIN``,
``SAVEPOINT``, ``COMMIT``), as on SQLite, and the same code drives both. A Python ``bool`` is sent as the
integer the columns hold (SQLite has no other kind).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.types.numeric import Int2Dumper

from gateway.db.errors import EngineConflict, EngineError, EngineIntegrityError
from gateway.db.target import shown
from gateway.db.unit import Params, Tx
from gateway.errors import StartupError

_TOKEN = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|\?|%")


@lru_cache(maxsize=4096)
def translated(sql: str) -> str:
    """``sql`` with SQLite's placeholders in psycopg's spelling (``?`` → ``%s``, ``:name`` → ``%(name)s``) and
    a literal ``%`` doubled; quoted strings keep their ``?`` and ``:``."""
    return _TOKEN.sub(_swap, sql)


def _swap(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("'"):
        return text.replace("%", "%%")
    if text == "?":
        return "%s"
    if text == "%":
        return "%%"
    return f"%({match.group(1)})s"


class PgConnection:
    """One autocommit psycopg connection with the calls :class:`~gateway.db.unit.Tx` makes of a connection."""

    engine = "postgresql"

    def __init__(self, connection: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self.connection = connection

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = await self.connection.execute(translated(sql), params)
            return await cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise _engine_error(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = await self.connection.execute(translated(sql), params)
        except psycopg.Error as exc:
            raise _engine_error(exc) from exc
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            async with self.connection.cursor() as cursor:
                await cursor.executemany(translated(sql), list(rows))
        except psycopg.Error as exc:
            raise _engine_error(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Its statements in one transaction (:class:`~gateway.db.unit.Database`)."""
        await self.execute("BEGIN")
        try:
            yield Tx(self, shared=True)
        except BaseException:
            await self.execute("ROLLBACK")
            raise
        await self.execute("COMMIT")

    async def close(self) -> None:
        await self.connection.close()


class SyncConnection:
    """A blocking psycopg connection as the store's database thread drives it (:mod:`gateway.db.thread`):
    the calls of a ``sqlite3.Connection`` it makes, with SQLite's placeholders. The driver releases the GIL
    while it waits for the server, so the event loop runs meanwhile.

    A connection the server closed (a restart, a failover, an administrator) is opened again before the next
    statement that begins a transaction: the batch that met the loss fails (its callers are told, nothing
    of it is committed or it all is, as the server decided), the next one runs on the new connection."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]], url: str = "") -> None:
        self._connection = connection
        self._url = url
        self.reconnects = 0

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        self._alive()
        try:
            return self._connection.execute(translated(sql), params)
        except psycopg.Error as exc:
            raise _engine_error(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._alive()
        try:
            with self._connection.cursor() as cursor:
                cursor.executemany(translated(sql), list(rows))
        except psycopg.Error as exc:
            raise _engine_error(exc) from exc

    def _alive(self) -> None:
        if not (self._url and (self._connection.closed or self._connection.broken)):
            return
        try:
            self._connection = _open_sync(self._url)
        except psycopg.Error as exc:
            raise EngineError(
                f"the ledger {shown(self._url)} cannot be reached: {_without(str(exc), self._url)}"
            ) from None
        self.reconnects += 1

    @property
    def in_transaction(self) -> bool:
        return self._connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._connection.close()


def connect_sync(url: str) -> SyncConnection:
    """:func:`connect` for a thread of its own (the store's writer)."""
    try:
        connection = _open_sync(url)
    except psycopg.Error as exc:
        raise StartupError(f"cannot open the ledger {shown(url)}: {_without(str(exc), url)}") from None
    return SyncConnection(connection, url)


def _open_sync(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    connection = psycopg.connect(url, autocommit=True)
    connection.adapters.register_dumper(bool, Int2Dumper)
    return connection


async def connect(url: str, *, read_only: bool = False) -> PgConnection:
    """An autocommit connection to the database at ``url`` (``read_only``: it can change nothing).

    A StartupError names the database with its password masked when it cannot be reached.
    """
    try:
        connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise StartupError(f"cannot open the ledger {shown(url)}: {_without(str(exc), url)}") from None
    connection.adapters.register_dumper(bool, Int2Dumper)
    if read_only:
        await connection.execute("SET default_transaction_read_only = on")
    return PgConnection(connection)


def _engine_error(exc: psycopg.Error) -> EngineError:
    kind: type[EngineError] = EngineError
    if isinstance(exc, psycopg.IntegrityError):
        kind = EngineIntegrityError
    elif exc.sqlstate in _CONFLICTS:
        kind = EngineConflict
    text = str(exc).strip()
    return kind(text.splitlines()[0] if text else type(exc).__name__)


_CONFLICTS = ("40P01", "40001")  # deadlock_detected, serialization_failure


def _without(message: str, url: str) -> str:
    """A driver's message, first line only, with the URL (and so its password) never in it."""
    first = message.strip().splitlines()[0] if message.strip() else "connection failed"
    return first.replace(url, shown(url))
