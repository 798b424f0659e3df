"""Runs an MO that starts, continues or interrupts a dialog, inside one transaction with its answer.

The gateway sends an MO here (instead of the plain query path) when the subscriber has a dialog pending
on that service number, or when the code starts one (KT…, QX…, 0000, 0, 502, 503). Everything the MO
causes (ledger change, dialog transition, answer in the outbox) commits together, or none of it does.
An index of pending dialogs in memory (loaded at start, changed only after a commit) makes that choice
without a query, and tells the expiry sweep when there is something to expire.

Slow CPU work (hashing a password) is done before the transaction, by :meth:`Dialogs.prepare`, from the
dialog and the facts as committed; the transaction uses each result only if what it was worked out from
is still what it finds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.catalog import CodeEntry
from gateway.clock import Clock
from gateway.context import CommandContext
from gateway.db import dialogs, messages
from gateway.db.unit import Tx
from gateway.dialog import records
from gateway.dialog.machines import TRANSITIONS
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Continuation, Hashed, Preparation, Starter, Step, Turn
from gateway.templates import Templates
from gateway.types import OutboundMessage
from gateway.types import Reply as Answer

log = logging.getLogger("gateway.dialog")

Key = tuple[str, str]  # (msisdn, service number)
Plain = Callable[[CommandContext, CodeEntry | None], Awaitable[str]]
"""The plain-command path (:meth:`gateway.router.Router.answer`): a query, the help, or 'nothing to confirm'."""

LIST_KINDS = frozenset({"pick", "exchange_pick", "menu_pick"})
"""Dialogs that wait for the number of an item of a list they showed."""

QUIET_KINDS = LIST_KINDS
"""Dialogs that end without a word: a 0000 list that was only looked at neither times out aloud nor adds a
note to the next answer (once a number is picked, the cancellation's confirmation is a dialog of its own)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The answer text, and how the pending-dialog index changes once it is committed."""

    text: str
    pending: tuple[Key, float | None]  # the key and its new expiry (None: no dialog pending)
    kind: str = ""  # the pending dialog's kind, if one is pending
    secret: bool = False  # the MO carried a password or an ID number
    effect: bool = True  # it ran a dialog's start or step (which may change the ledger), not a plain query


class Dialogs:
    def __init__(
        self,
        *,
        starters: dict[str, Starter],
        continuations: dict[str, Continuation],
        preparations: dict[str, Preparation],
        plain: Plain,
        templates: Templates,
        clock: Clock,
        window: float,
    ) -> None:
        self._starters = starters
        self._continuations = continuations
        self._preparations = preparations
        self._plain = plain
        self._templates = templates
        self._clock = clock
        self._window = window
        self._pending: dict[Key, tuple[float, str]] = {}  # (expires_at, kind)

    # --- the index ------------------------------------------------------------------------------

    async def load(self, tx: Tx) -> None:
        self._pending = {(m, s): (expires, kind) for m, s, expires, kind in await dialogs.all_pending(tx)}

    def involved(self, key: Key, entry: CodeEntry | None) -> bool:
        """Whether this MO must go through a dialog transaction."""
        return key in self._pending or (entry is not None and entry.command in self._starters)

    def settle(self, outcome: Outcome) -> None:
        """Apply a committed outcome to the index."""
        key, expires = outcome.pending
        if expires is None:
            self._pending.pop(key, None)
        else:
            self._pending[key] = (expires, outcome.kind)

    @property
    def pending(self) -> int:
        """How many dialogs wait for the subscriber's next MO."""
        return len(self._pending)

    def due(self, now: float) -> bool:
        return any(expires <= now for expires, _ in self._pending.values())

    # --- one MO ---------------------------------------------------------------------------------

    def may_need_preparing(self, ctx: CommandContext) -> bool:
        """Whether :meth:`prepare` may have hashing to do for this MO (most need nothing worked out)."""
        pending = self._pending.get((ctx.msisdn, ctx.catalog.service_number))
        return pending is not None and pending[1] in self._preparations

    async def prepare(self, ctx: CommandContext, entry: CodeEntry | None) -> Hashed:
        """Outside the writer, before :meth:`handle`: the hashing the MO's continuation will need, worked out
        from the dialog as the read side sees it (committed: this subscriber's MOs come one at a time)."""
        key = (ctx.msisdn, ctx.catalog.service_number)
        if not self.may_need_preparing(ctx):
            return Hashed()
        record = await records.load(ctx.ledger, *key)
        if record is None or not _continues(record, entry, ctx.text) or record.kind not in self._preparations:
            return Hashed()
        return await self._preparations[record.kind](ctx, record, self._clock.now())

    async def handle(self, tx: Tx, ctx: CommandContext, entry: CodeEntry | None, hashed: Hashed) -> Outcome:
        """The MO's step in ``tx``, with what :meth:`prepare` worked out for it."""
        now = self._clock.now()
        ctx = ctx.within(tx)
        turn = Turn(ctx=ctx, tx=tx, now=now, window=self._window, hashed=hashed)
        key = (ctx.msisdn, ctx.catalog.service_number)
        # One writer: the index knows every pending dialog, so most MOs need no read; shared: another
        # instance may have started one.
        record = await records.load(tx, *key) if tx.shared or key in self._pending else None
        note = ""
        if record is not None and _continues(record, entry, ctx.text):
            step = await self._continuations[record.kind](turn, record)
        else:
            interrupted = record is not None and record.expires_at > now and record.kind not in QUIET_KINDS
            if record is not None and interrupted:  # a new command while a dialog waits: it ends, and is told
                note = self._templates.render("dialog_interrupted", what=_what(self._templates, record))
            step = await self._start(turn, entry)
        if step.dialog is not None:
            await records.save(tx, step.dialog)
        elif record is not None:
            await dialogs.delete(tx, *key)
        if step.dialog is None:
            effect = record is not None or (entry is not None and entry.command in self._starters)
            return Outcome(text=step.text + note, pending=(key, None), secret=step.secret, effect=effect)
        pending = (key, step.dialog.expires_at)
        return Outcome(text=step.text + note, pending=pending, kind=step.dialog.kind, secret=step.secret)

    async def _start(self, turn: Turn, entry: CodeEntry | None) -> Step:
        if entry is not None and entry.command in self._starters:
            return await self._starters[entry.command](turn, entry.argument)
        return Step(text=await self._plain(turn.ctx, entry))

    # --- expiry -----------------------------------------------------------------------------------

    async def expire(
        self, tx: Tx, answer: Callable[[DialogRecord, str], Answer]
    ) -> list[tuple[OutboundMessage | None, Outcome]]:
        """End every dialog whose window has passed, each with its short notice queued in the outbox
        (none for a quiet one: the 0000 list that was only looked at)."""
        now = self._clock.now()
        done = []
        for msisdn, service_number, _expires, _ in await dialogs.expired(tx, now):
            record = await records.load(tx, msisdn, service_number)
            if record is None:
                continue
            TRANSITIONS[record.kind].send(record, "expire")
            text = self._templates.render(f"{record.kind}_expired", name=record.data.get("name", ""))
            if not await dialogs.delete(tx, msisdn, service_number):
                continue  # another instance ended it meanwhile, and told the subscriber
            mt = None if record.kind in QUIET_KINDS else await messages.queue_mt(tx, answer(record, text), now=now)
            done.append((mt, Outcome(text=text, pending=((msisdn, service_number), None))))
        return done


def _continues(record: DialogRecord, entry: CodeEntry | None, text: str) -> bool:
    """Whether the MO is the pending dialog's next reply (rather than a command that ends it)."""
    return entry is None or _answers(record, text)


def _answers(record: DialogRecord, text: str) -> bool:
    """Whether a text that is also a command code is this dialog's answer rather than a new command."""
    if record.kind in LIST_KINDS:  # "0" and the list's numbers; 8 after a list of two is 8
        count = int(record.data["count"]) if "count" in record.data else len(record.data["products"])
        return text.isdigit() and (text == "0" or 1 <= int(text) <= count)
    if record.kind in ("password_change", "password_reset"):
        return len(text) >= 6  # passwords and ID numbers; codes are shorter
    return False


def _what(templates: Templates, record: DialogRecord) -> str:
    return templates.render(f"dialog_kind_{record.kind}", name=record.data.get("name", ""))
