"""The durable inbox and outbox (SQLite in WAL mode, on a database thread of its own), written with group commits.

Every change is an *operation*: a few rows for a few fixed statements, and a future. One writer task
takes all the operations waiting, runs each statement once over all their rows (``executemany``, in
the fixed order of ``_STATEMENTS``), commits once, then resolves the futures. A caller that awaits its
operation therefore knows its rows are on disk. Row ids are handed out here, in memory, so no
statement needs to read anything back. A batch's rows go to the database thread
(:mod:`gateway.db.thread`) in one trip, with the commit when nothing else is in the batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiosqlite

from gateway.db.database import PREPARE, migrate, run_checkpoints
from gateway.db.sqlite import AioConnection
from gateway.db.thread import DatabaseThread
from gateway.types import InboundMessage, OutboundMessage, Reply

log = logging.getLogger("gateway.db.store")

_STATEMENTS: dict[str, str] = {
    "insert_part": "INSERT OR REPLACE INTO mo_part VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "delete_parts": (
        "DELETE FROM mo_part WHERE source_addr = ? AND destination_addr = ? AND reference = ? AND total = ?"
    ),
    "insert_mo": (
        "INSERT INTO mo (id, source_addr, destination_addr, text, complete, too_long, received_at, redelivery_of)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "finish_mo": "UPDATE mo SET status = ?, handled_at = ?, effect = ? WHERE id = ?",
    "ack_confirmed": "UPDATE mo SET ack_confirmed = 1 WHERE id = ?",
    "insert_mt": (
        "INSERT INTO mt (id, mo_id, source_addr, destination_addr, text, created_at) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "mt_done": "UPDATE mt SET status = ?, sent_at = ?, command_status = ? WHERE id = ?",
    "insert_mt_part": "INSERT OR REPLACE INTO mt_part VALUES (?, ?, ?)",
    "insert_receipt": (
        "INSERT INTO receipt (message_id, stat, received_at, mt_id) VALUES (?, ?, ?,"
        " (SELECT mt_id FROM mt_part WHERE message_id IN (?, ?, ?) ORDER BY message_id <> ? LIMIT 1))"
    ),
    "mt_delivered": (
        "UPDATE mt SET delivery_stat = ?"
        " WHERE id = (SELECT mt_id FROM mt_part WHERE message_id IN (?, ?, ?) ORDER BY message_id <> ? LIMIT 1)"
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPart:
    source_addr: str
    destination_addr: str
    reference: int
    total: int
    seqno: int
    data_coding: int
    payload: bytes
    received_at: float


Rows = list[tuple[str, tuple[Any, ...]]]
Params = Sequence[Any] | Mapping[str, Any]  # positional (``?``) or named (``:name``, the portable form)
Work = Callable[["Tx"], Awaitable[Any]]


@dataclass(slots=True)
class _Operation:
    """Rows for the fixed statements, or a piece of work that runs inside the batch's transaction."""

    rows: Rows
    work: Work | None = None
    result: Any = None
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Connection(Protocol):
    """What :class:`Tx` needs of a connection: the database thread, or an aiosqlite one (:class:`AioConnection`)."""

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int: ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Tx:
    """What a piece of work sees of the transaction it runs in (see :meth:`Store.transact`)."""

    def __init__(self, store: Store | None, db: Connection) -> None:
        self._store = store  # None: outside the gateway (DirectWriter), where no MO or MT is written
        self._db = db

    @property
    def store(self) -> Store:
        assert self._store is not None, "inbox and outbox work runs in the gateway's Store"
        return self._store

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._db.fetch(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return await self._db.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        await self._db.execute_many(sql, rows)

    async def finish_mo(self, mo: InboundMessage, replies: Sequence[Reply], *, now: float) -> list[OutboundMessage]:
        """Mark the MO handled and put its replies in the outbox, as part of this transaction: a dialog's
        transaction, so the MO is marked as one with an effect (see :meth:`Store.redelivered`)."""
        rows, outbound = self.store.finish_rows(mo, replies, now=now, effect=True)
        for name, params in rows:
            await self._db.execute(_STATEMENTS[name], params)
        return outbound

    async def forget_text(self, mo: InboundMessage) -> None:
        """Blank the stored text of an MO that carried a secret, as part of this transaction."""
        await self._db.execute("UPDATE mo SET text = '' WHERE id = ?", (mo.id,))

    async def queue_mt(self, reply: Reply, *, now: float) -> OutboundMessage:
        """An MT that answers no MO (a dialog's expiry notice), as part of this transaction."""
        mt = self.store.new_mt(reply)
        await self._db.execute(
            _STATEMENTS["insert_mt"], (mt.id, None, mt.source_addr, mt.destination_addr, mt.text, now)
        )
        return mt


def message_id_keys(message_id: str) -> tuple[str, str, str]:
    """The forms one SMSC message id can take in a receipt: as given, as hex, as decimal.

    Ids are stored in :func:`normal_id` form; a receipt's id is looked up under all three, so an SMSC
    that answers submit_sm with a hex id and reports it in decimal in the receipt (or the other way
    round) is still matched.
    """
    given = normal_id(message_id)
    as_hex = as_dec = given
    if given and all(c in "0123456789" for c in given):  # not str.isdigit: "²" is a digit to it
        as_hex = format(int(given), "x")
    if given and all(c in "0123456789abcdef" for c in given):
        as_dec = str(int(given, 16))
    return given, as_hex, as_dec


def normal_id(message_id: str) -> str:
    stripped = message_id.strip().lower().lstrip("0")
    return stripped or ("0" if message_id.strip() else "")


class Store:
    def __init__(self, db: DatabaseThread, *, batch_max: int, on_commit: Callable[[float], None] | None = None) -> None:
        self._db = db
        self._batch_max = batch_max
        self._on_commit = on_commit  # told how long each group commit took, in seconds
        self._waiting: list[_Operation] = []
        self._committing: list[_Operation] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._next_mo = 1
        self._next_mt = 1
        self.commits = 0
        self.crashed = False  # the previous run did not close the store (killed, power lost)

    @classmethod
    async def open(cls, path: str, *, batch_max: int = 512, on_commit: Callable[[float], None] | None = None) -> Store:
        await migrate(path)  # every table in place
        db = await DatabaseThread.open(path, name="store")
        # Fold a large WAL left by an import or a seed back into the file now, not in the middle of traffic;
        # from then on the checkpoints (and their fsync) run on a connection of their own, so a commit never
        # waits for one.
        for setting in (*PREPARE, "PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_autocheckpoint = 0"):
            await db.execute(setting)
        store = cls(db, batch_max=batch_max, on_commit=on_commit)
        store._checkpointer = asyncio.create_task(run_checkpoints(path))
        store._next_mo = await store._scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM mo")
        store._next_mt = await store._scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM mt")
        rows = await db.fetch("SELECT value FROM meta WHERE key = 'clean_shutdown'")
        store.crashed = bool(rows) and rows[0][0] != "1"  # a new file has no row: nothing to recover from
        await db.execute("INSERT OR REPLACE INTO meta VALUES ('clean_shutdown', '0')")
        store._writer = asyncio.create_task(store._write_loop())
        return store

    async def close(self) -> None:
        if self._writer is not None:
            unfinished = [operation.done for operation in self._waiting + self._committing]
            await asyncio.gather(*unfinished, return_exceptions=True)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        with suppress(sqlite3.Error):  # a connection already gone cannot record it
            await self._db.execute("INSERT OR REPLACE INTO meta VALUES ('clean_shutdown', '1')")
        await self._db.close()

    # --- writes -------------------------------------------------------------------------------

    async def add_mo(
        self,
        *,
        source_addr: str,
        destination_addr: str,
        text: str,
        received_at: float,
        complete: bool = True,
        too_long: bool = False,
        redelivery_of: int | None = None,
        parts_done: StoredPart | None = None,
    ) -> InboundMessage:
        """Store an MO (and, for a joined concatenated one, drop its parts in the same commit).

        ``redelivery_of``: the stored MO this one may be a second delivery of (same content, its
        acknowledgement not known to have been read); the responder decides (:meth:`redelivered`).
        """
        mo = InboundMessage(
            id=self._next_mo,
            source_addr=source_addr,
            destination_addr=destination_addr,
            text=text,
            received_at=received_at,
            complete=complete,
            too_long=too_long,
            redelivery_of=redelivery_of,
        )
        self._next_mo += 1
        rows: list[tuple[str, tuple[Any, ...]]] = [
            (
                "insert_mo",
                (mo.id, source_addr, destination_addr, text, int(complete), int(too_long), received_at, redelivery_of),
            )
        ]
        if parts_done is not None:
            rows.append(
                (
                    "delete_parts",
                    (
                        parts_done.source_addr,
                        parts_done.destination_addr,
                        parts_done.reference,
                        parts_done.total,
                    ),
                )
            )
        await self._apply(rows)
        return mo

    async def add_part(self, part: StoredPart) -> None:
        await self._apply(
            [
                (
                    "insert_part",
                    (
                        part.source_addr,
                        part.destination_addr,
                        part.reference,
                        part.total,
                        part.seqno,
                        part.data_coding,
                        part.payload,
                        part.received_at,
                    ),
                )
            ]
        )

    async def finish_mo(self, mo: InboundMessage, replies: Sequence[Reply], *, now: float) -> list[OutboundMessage]:
        """Mark the MO handled and put its replies in the outbox, in one commit."""
        rows, outbound = self.finish_rows(mo, replies, now=now)
        await self._apply(rows)
        return outbound

    async def drop_redelivery(self, mo: InboundMessage, *, now: float) -> None:
        """Mark an MO that was the SMSC's second delivery of one with an effect: handled, not answered."""
        await self._apply([("finish_mo", ("duplicate", now, 1, mo.id))])

    async def transact(self, work: Work) -> Any:
        """Run ``work(tx)`` inside the next group commit and return what it returns.

        The work reads and writes through ``tx`` on the writer's connection, under a savepoint: if it
        raises, its writes are undone, the exception reaches the caller, and the rest of the batch
        commits. Keep it short: the batch waits for it.
        """
        operation = _Operation([], work=work)
        self._waiting.append(operation)
        self._wakeup.set()
        await operation.done
        return operation.result

    def new_mt(self, reply: Reply) -> OutboundMessage:
        mt = OutboundMessage(
            id=self._next_mt, source_addr=reply.source_addr, destination_addr=reply.destination_addr, text=reply.text
        )
        self._next_mt += 1
        return mt

    def finish_rows(
        self, mo: InboundMessage, replies: Sequence[Reply], *, now: float, effect: bool = False
    ) -> tuple[Rows, list[OutboundMessage]]:
        """The rows that mark ``mo`` handled and queue its replies (their outbox ids are taken here)."""
        outbound = [self.new_mt(reply) for reply in replies]
        rows: Rows = [("finish_mo", ("answered" if replies else "ignored", now, int(effect), mo.id))]
        rows += [("insert_mt", (mt.id, mo.id, mt.source_addr, mt.destination_addr, mt.text, now)) for mt in outbound]
        return rows, outbound

    async def mt_sent(self, mt_id: int, message_ids: Iterable[str], *, now: float) -> None:
        await self.mts_sent([(mt_id, list(message_ids))], now=now)

    async def mts_sent(self, sent: Iterable[tuple[int, Sequence[str]]], *, now: float) -> None:
        """Mark MTs sent with their parts' message ids, in one operation of the next commit."""
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for mt_id, message_ids in sent:
            rows.append(("mt_done", ("sent", now, 0, mt_id)))
            rows += [("insert_mt_part", (mt_id, seqno, normal_id(mid))) for seqno, mid in enumerate(message_ids, 1)]
        await self._apply(rows)

    async def mt_failed(self, mt_id: int, command_status: int, *, now: float) -> None:
        await self._apply([("mt_done", ("failed", now, command_status, mt_id))])

    async def add_receipt(self, message_id: str, stat: str, *, now: float) -> None:
        keys = message_id_keys(message_id)  # the id exactly as given wins over its hex/decimal readings
        await self._apply(
            [("insert_receipt", (keys[0], stat, now, *keys, keys[0])), ("mt_delivered", (stat, *keys, keys[0]))]
        )

    # --- reads (start-up and inspection) ------------------------------------------------------

    async def unanswered_mos(self) -> list[InboundMessage]:
        rows = await self._db.fetch(
            "SELECT id, source_addr, destination_addr, text, received_at, complete, too_long, redelivery_of"
            " FROM mo WHERE status = 'new' ORDER BY id"
        )
        return [
            InboundMessage(
                id=r[0],
                source_addr=r[1],
                destination_addr=r[2],
                text=r[3],
                received_at=r[4],
                complete=bool(r[5]),
                too_long=bool(r[6]),
                redelivery_of=r[7],
            )
            for r in rows
        ]

    async def redelivered(self, mo: InboundMessage) -> bool:
        """Whether ``mo`` is surely the SMSC's second delivery of ``mo.redelivery_of``: that MO had an effect
        (it ran in a dialog's transaction) and is the last one its sender sent this service number before.

        Anything else is handled as new: a query is answered again, and a reply that came after another MO
        (a new order's ``是``) is that dialog's reply, not an old one delivered again.
        """
        rows = list(
            await self._db.fetch(
                "SELECT id, effect FROM mo WHERE source_addr = ? AND destination_addr = ? AND id < ?"
                " ORDER BY id DESC LIMIT 1",
                (mo.source_addr, mo.destination_addr, mo.id),
            )
        )
        return bool(rows) and rows[0][0] == mo.redelivery_of and rows[0][1] == 1

    async def acks_confirmed(self, mo_ids: Sequence[int]) -> None:
        """Record that the SMSC surely read these MOs' acknowledgements: they will not come again."""
        await self._apply([("ack_confirmed", (mo_id,)) for mo_id in mo_ids])

    async def recent_mos(self, window: float) -> list[tuple[int, str, str, str]]:
        """(id, source, destination, text) of the MOs stored within ``window`` seconds before the newest one
        whose acknowledgement was not known to have reached the SMSC, oldest first."""
        rows = await self._db.fetch(
            "SELECT id, source_addr, destination_addr, text FROM mo"
            " WHERE received_at >= (SELECT MAX(received_at) FROM mo) - ? AND complete = 1 AND ack_confirmed = 0"
            " ORDER BY id",
            (window,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def queued_mts(self) -> list[OutboundMessage]:
        rows = await self._db.fetch(
            "SELECT id, source_addr, destination_addr, text FROM mt WHERE status = 'queued' ORDER BY id"
        )
        return [OutboundMessage(id=r[0], source_addr=r[1], destination_addr=r[2], text=r[3]) for r in rows]

    async def stored_parts(self) -> list[StoredPart]:
        rows = await self._db.fetch("SELECT * FROM mo_part ORDER BY received_at")
        return [
            StoredPart(
                source_addr=r[0],
                destination_addr=r[1],
                reference=r[2],
                total=r[3],
                seqno=r[4],
                data_coding=r[5],
                payload=r[6],
                received_at=r[7],
            )
            for r in rows
        ]

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Read-only query for tools and tests."""
        return await self._db.fetch(sql, params)

    # --- the writer ---------------------------------------------------------------------------

    async def _apply(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        operation = _Operation(rows)
        self._waiting.append(operation)
        self._wakeup.set()
        await operation.done

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting:
                self._committing = self._waiting[: self._batch_max]
                del self._waiting[: self._batch_max]
                await self._commit(self._committing)
                self._committing = []

    async def _commit(self, batch: list[_Operation]) -> None:
        """Commit a batch; rows first, in a commit of their own when the batch also holds work, so an MT
        the SMSC accepted is recorded as sent without waiting for a dialog's ledger work (a crash in that
        wait would send it again at the restart)."""
        rows = [operation for operation in batch if operation.work is None]
        if rows and len(rows) < len(batch):
            await self._commit_part(rows)
            await self._commit_part([operation for operation in batch if operation.work is not None])
        else:
            await self._commit_part(batch)

    async def _commit_part(self, batch: list[_Operation]) -> None:
        started = time.perf_counter()
        by_statement: dict[str, list[tuple[Any, ...]]] = {}
        for operation in batch:
            for name, params in operation.rows:
                by_statement.setdefault(name, []).append(params)
        statements = [(sql, by_statement[name]) for name, sql in _STATEMENTS.items() if name in by_statement]
        works = [operation for operation in batch if operation.work is not None]
        try:
            await self._db.call(_write_rows, statements, not works)  # rows, and the commit if that is all
            if works:
                for operation in works:
                    await self._run_work(operation)
                await self._db.execute("COMMIT")
        except Exception as exc:  # every waiter learns of the failure; the writer goes on
            log.exception("commit failed")
            with suppress(Exception):  # e.g. the connection is gone: the waiters still get ``exc``
                await self._db.call(_roll_back)
            for operation in batch:
                if not operation.done.done():
                    operation.done.set_exception(exc)
            return
        self.commits += 1
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - started)
        for operation in batch:
            if not operation.done.done():
                operation.done.set_result(None)

    async def _run_work(self, operation: _Operation) -> None:
        assert operation.work is not None
        await self._db.execute("SAVEPOINT work")
        try:
            operation.result = await operation.work(Tx(self, self._db))
        except Exception as exc:
            await self._db.execute("ROLLBACK TO work")
            operation.done.set_exception(exc)
        finally:
            await self._db.execute("RELEASE work")

    async def _scalar(self, sql: str) -> int:
        rows = await self._db.fetch(sql)
        return int(rows[0][0]) if rows else 0


def _write_rows(connection: sqlite3.Connection, statements: list[tuple[str, list[Any]]], commit: bool) -> None:
    """On the database thread: open the batch's transaction, write its rows, and commit if told to."""
    if not connection.in_transaction:
        connection.execute("BEGIN")
    for sql, rows in statements:
        connection.executemany(sql, rows)
    if commit:
        connection.execute("COMMIT")


def _roll_back(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")


class Reads(Protocol):
    """Where a read-only query runs: a transaction (:class:`Tx`), or the ledger's read connection outside the
    writer (:class:`~gateway.ledger.reads.Ledger`), which sees only what is committed."""

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class Writer(Protocol):
    """Where ledger work runs: the gateway's :class:`Store`, or a tool's :class:`DirectWriter`."""

    async def transact(self, work: Work) -> Any: ...

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class DirectWriter:
    """Ledger work straight on a connection, each piece its own transaction, for tools beside the gateway
    (``gateway ledger usage``, ``gateway push run``). It writes no MO or MT: the running gateway's outbox
    numbers those in memory."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._connection = AioConnection(db)

    async def transact(self, work: Work) -> Any:
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            result = await work(Tx(None, self._connection))
        except BaseException:
            await self._db.rollback()
            raise
        await self._db.commit()
        return result

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._connection.fetch(sql, params)
