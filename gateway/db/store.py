"""The durable inbox and outbox, and the gateway's writer: every change is a unit of work in a group commit.

One writer task takes all the units waiting and hands them to the database thread
(:mod:`gateway.db.thread`) in one trip, where they run one after another inside one transaction, each
whole (see :mod:`gateway.db.unit`), and the transaction commits once (on SQLite a batch of quick units
runs so on the loop's own thread, when the database thread holds nothing: :meth:`_ThreadEngine.run_batch`);
then, in the next turn of the loop
(the writer has handed the next batch over by then), their callers are told: an awaited future resolved,
or a callback called (:meth:`Store.transact_then`, :meth:`Store.add_mo_then`: no task on the hot path).
A plain query's MO is stored and answered in one unit after the other in the same transaction
(:meth:`Store.add_mo_answered`): one commit, one trip.
A caller told of its unit therefore knows its writes are on disk. A unit that may fail (a dialog's
step, a payment) runs under a savepoint: if it raises, its writes are undone, the exception reaches its
caller and the rest of the batch commits. The outbox's own small writes (:mod:`gateway.db.messages`: MTs
sent, acknowledgements confirmed, receipts) run first, in a commit of their own, so an MT the SMSC accepted
is recorded as sent without waiting for anyone's ledger work; MOs are stored in the commit of the answers,
in the order they came.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.db import messages
from gateway.db.database import PREPARE, migrate, run_checkpoints
from gateway.db.errors import DatabaseError, EngineConflict
from gateway.db.messages import StoredPart
from gateway.db.sqlite import LOOKUP_SETTINGS
from gateway.db.target import is_url
from gateway.db.thread import DatabaseThread
from gateway.db.unit import Params, ThreadConnection, Tx, Work, run_unit
from gateway.types import InboundMessage, OutboundMessage, Reply

log = logging.getLogger("gateway.db.store")

T = TypeVar("T")


Then = Callable[[bool, Any], None]
"""Told ``(True, result)`` or ``(False, exception)`` once a unit's batch has committed (or failed)."""


@dataclass(slots=True)
class _Operation:
    """A unit of work, whether it runs under a savepoint (``guarded``), and who learns what came of it: an
    awaiting caller (``done``) or a callback (``then``), which costs the loop no task and no wake-up."""

    work: Work
    guarded: bool
    late: bool = False  # a receipt: after the MTs marked sent in the same batch, whose parts it looks up
    then: Then | None = None
    done: asyncio.Future[Any] | None = None
    with_next: bool = False  # the next operation reads what this one wrote: both go in the same batch
    quick: bool = True  # an MO's, an MT's: short work (a caller's unit of its own may not be)


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


class _ThreadEngine:
    """The connection on a thread of its own: a whole batch, every unit and statement, in one trip. SQLite's
    file, or PostgreSQL's socket (:class:`~gateway.db.postgres.SyncConnection`)."""

    def __init__(
        self, db: DatabaseThread, *, shared: bool, more: Sequence[DatabaseThread] = (), here: bool = False
    ) -> None:
        self._db = db
        self._writers = [db, *more]  # PostgreSQL: batches run on these side by side, each its own connection
        self.shared = shared  # other instances may write the same database (PostgreSQL)
        self.instance = ""  # whose MOs and MTs the units store
        self._here = here  # a batch of quick units may run on the loop's thread (SQLite: see run_batch)

    @property
    def writers(self) -> int:
        return len(self._writers)

    async def run_batch(
        self, parts: list[list[tuple[Work, bool]]], writer: int = 0, *, quick: bool = False
    ) -> list[Outcome]:
        """Each part in its own transaction. A batch of ``quick`` units on SQLite runs on the loop's own thread
        when the database thread has nothing in hand: the gateway is bound by the GIL, and its statements
        handed it back and forth with the loop, one wait each (35 % more MOs a second without)."""
        thread = self._writers[writer]
        return await thread.call(_run_batch, parts, self.instance, self.shared, here=self._here and quick)

    async def read(self, read: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._db.call(_read_on_thread, read, self.instance, self.shared)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return await self._db.fetch(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._db.execute(sql, params)

    async def close(self) -> None:
        for thread in self._writers:
            await thread.close()


class Store:
    def __init__(self, db: _ThreadEngine, *, batch_max: int, on_commit: Callable[[float], None] | None = None) -> None:
        self._db = db
        self._batch_max = batch_max
        self._on_commit = on_commit  # told how long each group commit took, in seconds
        self._waiting: list[_Operation] = []
        self._wakeup = asyncio.Event()
        self._unsettled = 0  # units handed over whose callers have not been told yet
        self._idle = asyncio.Event()  # set when that comes down to none
        self._writer_tasks: list[asyncio.Task[None]] = []
        self._checkpointer: asyncio.Task[None] | None = None
        self.commits = 0
        self.crashed = False  # the previous run did not close the store (killed, power lost)
        self.redelivery_window = 0.0  # seconds an MO another instance lost the acknowledgement of may come again
        self.recovering_from: tuple[str, ...] = ()  # shared ledger: the instances that died (their MOs may come again)

    @classmethod
    async def open(
        cls,
        ledger: str,
        *,
        instance: str = "",
        batch_max: int = 512,
        connections: int = 1,
        on_commit: Callable[[float], None] | None = None,
    ) -> Store:
        """The store on the SQLite file at ``ledger``, or on the PostgreSQL database a ``postgresql://`` URL
        names; ``instance``: the gateway instance whose MOs and MTs its units store; ``connections``: on
        PostgreSQL, how many batches may be committing at once, each on its own connection (a file has one
        writer)."""
        await migrate(ledger)  # every table in place
        if is_url(ledger):
            store = cls(await _open_postgres(ledger, connections), batch_max=batch_max, on_commit=on_commit)
        else:
            store = cls(await _open_file(ledger), batch_max=batch_max, on_commit=on_commit)
            store._checkpointer = asyncio.create_task(run_checkpoints(ledger))
        db = store._db
        db.instance = instance
        if not db.shared:  # on a shared database, whether an instance died is its lease's to say (db/instances.py)
            rows = await db.fetch("SELECT value FROM meta WHERE key = 'clean_shutdown'")
            store.crashed = bool(rows) and rows[0][0] != "1"  # a new file has no row: nothing to recover from
            await db.execute(_SHUTDOWN_MARK, {"value": "0"})
        store._writer_tasks = [asyncio.create_task(store._write_loop(i)) for i in range(db.writers)]
        return store

    @property
    def shared(self) -> bool:
        """Whether other instances may write the same database at the same time (PostgreSQL)."""
        return self._db.shared

    @property
    def instance(self) -> str:
        return self._db.instance

    async def close(self) -> None:
        if self._writer_tasks:
            while self._unsettled:  # every unit handed over is committed, and its caller told, first
                self._idle.clear()
                await self._idle.wait()
            for task in self._writer_tasks:
                task.cancel()
            await asyncio.gather(*self._writer_tasks, return_exceptions=True)
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        if not self._db.shared:
            with suppress(*DatabaseError):  # a connection already gone cannot record it
                await self._db.execute(_SHUTDOWN_MARK, {"value": "1"})
        await self._db.close()

    # --- writes -------------------------------------------------------------------------------

    async def transact(self, work: Work) -> Any:
        """Run the unit ``work(tx)`` in the next group commit, under a savepoint; what it returns.

        If it raises, its writes are undone, the exception reaches the caller, and the rest of the batch
        commits. It runs on the database thread and may await nothing but ``tx`` (see :mod:`gateway.db.unit`).
        """
        return await self._queue(work, guarded=True, quick=False)

    def transact_then(self, work: Work, then: Then) -> None:
        """:meth:`transact` for a caller that would rather be called back than await: ``then(ok, value)``
        runs on the loop once the unit's batch has committed (``value`` is the result, or the exception).
        For a quick unit (one MO's answer)."""
        self._hand_over(_Operation(work, True, then=then))

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
            id=0,
            source_addr=source_addr,
            destination_addr=destination_addr,
            text=text,
            received_at=received_at,
            complete=complete,
            too_long=too_long,
            redelivery_of=redelivery_of,
        )
        stored: InboundMessage = await self._queue(
            lambda tx: messages.add_mo(tx, mo, parts_done=parts_done, again_within=self.redelivery_window),
            guarded=True,
        )
        return stored

    def add_mo_then(self, mo: InboundMessage, then: Then) -> None:
        """Store ``mo`` (its ``id`` is not used) in the next commit; ``then(True, stored)`` with its id.

        MOs are stored in the commit of the units that answer MOs (each under its savepoint should one
        fail), in the order they came, so their ids follow their arrival whichever way each is answered."""
        again = self.redelivery_window
        self._hand_over(_Operation(lambda tx: messages.add_mo(tx, mo, again_within=again), True, then=then))

    def add_mo_answered(
        self, mo: InboundMessage, stored: Then, answer: Callable[[InboundMessage], Work], answered: Then
    ) -> None:
        """Store ``mo`` and run the unit ``answer(stored_mo)`` right after, in the same transaction: an MO
        and its answer in one commit. ``stored`` is told first, as by :meth:`add_mo_then`; then ``answered``
        what came of the answer's unit, which failing (under its savepoint) leaves the MO stored, not
        answered. If the MO could not be stored, both are told the failure."""
        again = self.redelivery_window
        kept: list[InboundMessage] = []  # on the database thread: the MO as this transaction stored it

        async def keep(tx: Tx) -> InboundMessage:
            kept.clear()  # a part run again (with savepoints) stores it again
            kept.append(await messages.add_mo(tx, mo, again_within=again))
            return kept[0]

        async def then_answer(tx: Tx) -> Any:
            if not kept:
                raise NotStored("the MO this answer is for could not be stored")
            return await answer(kept[0])(tx)

        self._hand_over(_Operation(keep, True, then=stored, with_next=True))
        self._hand_over(_Operation(then_answer, True, then=answered))

    async def add_part(self, part: StoredPart) -> None:
        await self._queue(lambda tx: messages.add_part(tx, part))

    async def finish_mo(self, mo: InboundMessage, replies: Sequence[Reply], *, now: float) -> list[OutboundMessage]:
        """Mark the MO handled and put its replies in the outbox, in one commit."""
        queued: list[OutboundMessage] = await self._queue(
            lambda tx: messages.finish_mo(tx, mo, replies, now=now, effect=False)
        )
        return queued

    async def drop_redelivery(self, mo: InboundMessage, *, now: float) -> None:
        """Mark an MO that was the SMSC's second delivery of one with an effect: handled, not answered."""
        await self._queue(lambda tx: messages.drop_redelivery(tx, mo, now=now))

    async def mt_sent(self, mt_id: int, message_ids: Iterable[str], *, now: float) -> None:
        await self.mts_sent([(mt_id, list(message_ids))], now=now)

    async def mts_sent(self, sent: Iterable[tuple[int, Sequence[str]]], *, now: float) -> None:
        """Mark MTs sent with their parts' message ids, in one unit of the next commit."""
        normal = [(mt_id, [normal_id(m) for m in message_ids]) for mt_id, message_ids in sent]
        await self._queue(lambda tx: messages.mts_sent(tx, normal, now=now))

    async def mt_failed(self, mt_id: int, command_status: int, *, now: float) -> None:
        await self._queue(lambda tx: messages.mt_failed(tx, mt_id, command_status, now=now))

    async def add_receipt(self, message_id: str, stat: str, *, now: float) -> None:
        keys = message_id_keys(message_id)  # the id exactly as given wins over its hex/decimal readings
        await self._queue(lambda tx: messages.add_receipt(tx, keys, stat, now=now), late=True)

    async def acks_lost(self, mo_ids: Sequence[int], *, sure: bool) -> None:
        """Record that these MOs' acknowledgements may not have reached the SMSC, for the other instances."""
        ids = list(mo_ids)
        await self._queue(lambda tx: messages.acks_lost(tx, ids, sure=sure))

    async def acks_confirmed(self, mo_ids: Sequence[int]) -> None:
        """Record that the SMSC surely read these MOs' acknowledgements: they will not come again."""
        ids = list(mo_ids)
        await self._queue(lambda tx: messages.acks_confirmed(tx, ids))

    # --- reads (start-up and inspection), on the writer's thread, outside its batches -------------

    async def unanswered_mos(self) -> list[InboundMessage]:
        return await self._read(messages.unanswered_mos)

    async def redelivered(self, mo: InboundMessage) -> bool:
        """Whether ``mo`` is surely the SMSC's second delivery of ``mo.redelivery_of``: that MO had an effect
        (it ran in a dialog's transaction) and is the last one its sender sent this service number before.

        Anything else is handled as new: a query is answered again, and a reply that came after another MO
        (a new order's ``是``) is that dialog's reply, not an old one delivered again.
        """
        return await self._read(lambda reads: messages.redelivered(reads, mo))

    async def recent_mos(self, window: float) -> list[tuple[int, str, str, str]]:
        """(id, source, destination, text) of the MOs stored within ``window`` seconds before the newest one
        whose acknowledgement was not known to have reached the SMSC, oldest first."""
        return await self._read(lambda reads: messages.recent_mos(reads, window, self.recovering_from))

    async def queued_mts(self) -> list[OutboundMessage]:
        return await self._read(messages.queued_mts)

    async def stored_parts(self) -> list[StoredPart]:
        return await self._read(messages.stored_parts)

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Read-only query for tools and tests."""
        return await self._db.fetch(sql, params)

    async def _read(self, read: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._db.read(read)

    # --- the writer ---------------------------------------------------------------------------

    async def _queue(self, work: Work, *, guarded: bool = False, late: bool = False, quick: bool = True) -> Any:
        done = asyncio.get_running_loop().create_future()
        self._hand_over(_Operation(work, guarded, late, done=done, quick=quick))
        return await done

    def _hand_over(self, operation: _Operation) -> None:
        self._unsettled += 1
        self._waiting.append(operation)
        self._wakeup.set()

    async def _write_loop(self, writer: int) -> None:
        """One writer: the units waiting when it is free go into its next batch. Several writers (PostgreSQL)
        commit side by side; the units of one caller that depend on each other are handed over one after the
        other's commit, so never sit in two batches at once."""
        while True:
            while not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
            size = self._batch_max
            while size < len(self._waiting) and self._waiting[size - 1].with_next:
                size += 1  # an MO and its answer are never split between two batches
            batch = self._waiting[:size]
            del self._waiting[:size]
            await self._commit(batch, writer)

    async def _commit(self, batch: list[_Operation], writer: int = 0) -> None:
        """The batch in one trip: the unguarded units in one commit, then the guarded ones in another."""
        started = time.perf_counter()
        plain = sorted((operation for operation in batch if not operation.guarded), key=lambda op: op.late)
        guarded = [operation for operation in batch if operation.guarded]
        parts = [part for part in (plain, guarded) if part]
        try:
            units = [[(op.work, op.guarded) for op in part] for part in parts]
            outcomes = await self._db.run_batch(units, writer, quick=all(op.quick for op in batch))
        except Exception as exc:  # e.g. the thread is gone: every waiter learns of it, the writer goes on
            outcomes = [exc] * len(parts)
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - started)

        # The callers are told in the next turn of the loop: the writer hands the next batch to the thread
        # first, so the database works on it while the loop answers for this one.
        asyncio.get_running_loop().call_soon(self._tell, parts, outcomes)

    def _tell(self, parts: list[list[_Operation]], outcomes: list[Outcome]) -> None:
        for part, outcome in zip(parts, outcomes, strict=True):
            self._unsettled -= len(part)
            if isinstance(outcome, BaseException):
                log.error("commit failed", exc_info=outcome)
                for operation in part:
                    _settle(operation, False, outcome)
                continue
            self.commits += 1
            for operation, (ok, value) in zip(part, outcome, strict=True):
                _settle(operation, ok, value)
        if not self._unsettled:
            self._idle.set()


_SHUTDOWN_MARK = (
    "INSERT INTO meta (key, value) VALUES ('clean_shutdown', :value) ON CONFLICT (key) DO UPDATE SET value = :value"
)

Outcome = list[tuple[bool, Any]] | BaseException


class NotStored(Exception):
    """The MO a unit was to answer in the same transaction was not stored (its unit failed)."""


def _settle(operation: _Operation, ok: bool, value: Any) -> None:
    """Tell the unit's caller what came of it (``value`` is the exception when not ``ok``)."""
    if operation.then is not None:
        try:
            operation.then(ok, value)
        except Exception:  # the caller's own failure: logged, and the rest of the batch still told
            log.exception("a unit's callback failed")
        return
    done = operation.done
    if done is None or done.done():
        return
    if ok:
        done.set_result(value)
    else:
        done.set_exception(value)


CONFLICT_RETRIES = 5
"""Times a part PostgreSQL ended for a deadlock (with a batch on another connection or instance) is run again."""


def _run_batch(
    connection: sqlite3.Connection, parts: list[list[tuple[Work, bool]]], instance: str, shared: bool
) -> list[Outcome]:
    """On the database thread: each part its own transaction; per part, each unit's outcome or the part's failure."""
    tx = Tx(ThreadConnection(connection), instance=instance, shared=shared, deferring=True)
    outcomes: list[Outcome] = []
    for part in parts:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                outcomes.append(_run_part(connection, tx, part))
                break
            except Exception as exc:
                with suppress(*DatabaseError):
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                if isinstance(exc, EngineConflict) and attempt < CONFLICT_RETRIES:
                    time.sleep(0.002 * (attempt + 1))  # the other transaction of the deadlock goes first
                    continue
                outcomes.append(exc)
                break
    return outcomes


class _UnitFailed(Exception):
    """A guarded unit failed in a part run without savepoints: the part is run again with them."""


def _run_part(connection: sqlite3.Connection, tx: Tx, units: list[tuple[Work, bool]]) -> list[tuple[bool, Any]]:
    """One transaction. Guarded units run first as if none will fail (no savepoint each: two statements,
    two round trips on PostgreSQL, saved per unit); if one does, everything is rolled back and the part runs
    again with a savepoint around each guarded unit, so the one that fails rolls back alone. A unit is a
    function of the database it reads: running it again is running it once. The writes the units left for
    the end (:meth:`Tx.at_end`) go just before the commit."""
    tx.drop_deferred()  # a part that failed before its end leaves none for this one
    if any(guarded for _, guarded in units):
        connection.execute("BEGIN")
        try:
            done = [(True, _run_hopeful(work, tx)) for work, _ in units]
            _run_hopeful(Tx.write_deferred, tx)
        except _UnitFailed:
            connection.execute("ROLLBACK")
            tx.drop_deferred()
        else:
            connection.execute("COMMIT")
            return done
    return _run_guarded(connection, tx, units)


def _run_hopeful(work: Work, tx: Tx) -> Any:
    try:
        return run_unit(work, tx)
    except EngineConflict:
        raise  # the whole part again (PostgreSQL ended the transaction for a deadlock)
    except Exception as exc:
        raise _UnitFailed() from exc


def _run_guarded(connection: sqlite3.Connection, tx: Tx, units: list[tuple[Work, bool]]) -> list[tuple[bool, Any]]:
    connection.execute("BEGIN")
    done: list[tuple[bool, Any]] = []
    for work, guarded in units:
        if not guarded:
            done.append((True, run_unit(work, tx)))  # a failure fails the whole part
            continue
        connection.execute("SAVEPOINT unit")
        mark = tx.deferred()
        try:
            done.append((True, run_unit(work, tx)))
        except EngineConflict:
            raise  # not this unit's failure: the whole part again
        except Exception as exc:
            connection.execute("ROLLBACK TO SAVEPOINT unit")
            tx.drop_deferred(mark)
            done.append((False, exc))
        connection.execute("RELEASE SAVEPOINT unit")
    run_unit(Tx.write_deferred, tx)  # a failure fails the whole part
    connection.execute("COMMIT")
    return done


async def _open_file(path: str) -> _ThreadEngine:
    db = await DatabaseThread.open(path, name="store")
    # Fold a large WAL left by an import or a seed back into the file now, not in the middle of traffic;
    # from then on the checkpoints (and their fsync) run on a connection of their own, so a commit never
    # waits for one.
    for setting in (*PREPARE, *LOOKUP_SETTINGS, "PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_autocheckpoint = 0"):
        await db.execute(setting)
    return _ThreadEngine(db, shared=False, here=True)


async def _open_postgres(url: str, connections: int) -> _ThreadEngine:
    from gateway.db import postgres  # psycopg takes 0.4 s to import: only a process that uses it pays

    threads = [
        await DatabaseThread.start(lambda: postgres.connect_sync(url), name=f"store-{i}") for i in range(connections)
    ]
    return _ThreadEngine(threads[0], shared=True, more=threads[1:])


def _read_on_thread(
    connection: sqlite3.Connection, read: Callable[[Tx], Awaitable[T]], instance: str, shared: bool
) -> T:
    return run_unit(read, Tx(ThreadConnection(connection), instance=instance, shared=shared))
