"""Stored MO → committed answer, one way for every MO: one unit of work in the next group commit.

Follow one MO: :meth:`Router.route` finds its catalog entry and builds its context; the unit
(:meth:`Dialogs.handle` inside :meth:`Store.transact`) reads the subscriber's pending dialog, runs the
query (:meth:`Router.answer`, the one plain-command path) or the dialog's start or next step, writes the
ledger change and the dialog, and queues the answer in the outbox; all of it commits together, on the
database thread in one trip. Slow hashing is done before, by :meth:`Dialogs.prepare`, so the batch does
not wait for it. Only what needs no command (a too-long or incomplete text, a silenced sender) is answered
without one. The new outbox rows go to :class:`Outbox`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, NoReturn

from gateway.clock import Clock
from gateway.db import messages
from gateway.db.store import Store, Then
from gateway.db.unit import Tx, Work
from gateway.dialog.engine import Dialogs, Outcome
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Hashed
from gateway.errors import LedgerError, NotYourTurn
from gateway.outbox import Outbox
from gateway.ratelimit import RateLimiter, Verdict
from gateway.router import Route, Router
from gateway.tasks import Background
from gateway.templates import Templates
from gateway.types import InboundMessage, OutboundMessage, Reply

log = logging.getLogger("gateway.responder")

TURN_RETRY = 0.005  # seconds before a unit that was not its sender's turn is tried again
TURN_WAIT = 60.0  # seconds an MO waits at most for an earlier one of its sender on another instance


class Responder:
    def __init__(
        self,
        *,
        router: Router,
        dialogs: Dialogs,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        templates: Templates,
        limiter: RateLimiter,
        incomplete_notice_window: float = 600.0,
    ) -> None:
        self._router = router
        self._dialogs = dialogs
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._templates = templates
        self._limiter = limiter
        self._windows = limiter.windows
        self._notice_window = incomplete_notice_window
        self._told_incomplete: dict[str, float] = {}  # sender → until when no second such notice goes
        self.rate_limited = 0
        self.deduplicated = 0  # MOs that were the SMSC's second delivery of one with an effect
        self.waited = 0  # units tried again because another instance had their sender in hand
        self._tasks = Background("responder")  # the long ways

    def answer(self, mo: InboundMessage, finished: Callable[[bool], None]) -> None:
        """Answer one stored MO exactly once (the dispatcher calls this, one MO per subscriber at a time);
        ``finished(answered)`` once its answer is committed, or even the system-error answer could not be.

        Most MOs go the short way: their one unit is handed to the writer with a callback, no task made. An
        MO that may be a redelivery, is over the rate limit, is not whole, or needs hashing first, and any
        failure, go the long way (:meth:`_long_way`), one task each.
        """
        try:
            if mo.redelivery_of is not None:
                self._long(mo, self._maybe_redelivered(mo), finished)
                return
            verdict = self._limiter.check(mo.source_addr, self._clock.now())
            if verdict is not Verdict.ALLOW:
                self._long(mo, self._limited(mo, verdict), finished)
                return
            route = self._router.route(mo)
            plain = self._plain(mo, route)
            if plain is None:
                self._long(mo, self._answer(mo, route), finished)
                return
            unit = self._unit(mo, plain, Hashed())
        except Exception as exc:
            self._long(mo, _raise(exc), finished)
            return
        self._hand(mo, unit, finished)

    def at_once(
        self,
        mo: InboundMessage,
        stored: Then,
        *,
        finished: Callable[[InboundMessage, bool], None],
        usual: Callable[[InboundMessage], None],
    ) -> bool:
        """Store a new MO and answer it in the same commit, if it is a whole text for a number we serve, its
        sender is within the rate limit and it needs no hashing; False if not (it is stored, then answered).

        ``stored(ok, value)`` is told once the MO is committed, as by :meth:`Store.add_mo_then`; then
        ``finished(mo, answered)`` once its answer is (also when the answer's unit failed and it was answered
        the long way), or ``usual(mo)`` when the stored MO may be the SMSC's second delivery of one another
        instance had (the look-back of :func:`gateway.db.messages.add_mo`): to be answered as any stored MO.
        """
        now = self._clock.now()
        if mo.redelivery_of is not None or mo.destination_addr not in self._router.catalogs:
            return False  # (a number we do not serve is told of once, on the usual way)
        if not self._limiter.allows(mo.source_addr, now):
            return False
        route = self._plain(mo, self._router.route(mo))
        if route is None:
            return False
        self._limiter.check(mo.source_addr, now)  # counted: it is let through
        kept: list[InboundMessage] = []  # on the loop: the MO once committed

        def answer(stored: InboundMessage) -> Work:
            if stored.redelivery_of is not None:
                raise _Usual()  # on the database thread: this unit writes nothing, the MO stays stored
            return self._unit(stored, route, Hashed())

        def after_store(ok: bool, value: Any) -> None:
            if ok:
                kept.append(value)
            stored(ok, value)

        def after_answer(ok: bool, value: Any) -> None:
            if not kept:  # not stored: the deliver_sm was answered with an error, and will come again
                finished(mo, False)
                return
            done = kept[0]
            if not ok and isinstance(value, _Usual):
                self._limiter.uncount(mo.source_addr, now)  # judged (and counted) again the usual way
                usual(done)
                return
            self._committed(done, answer(done), ok, value, lambda answered: finished(done, answered))

        self._store.add_mo_answered(mo, after_store, answer, after_answer)
        return True

    def _plain(self, mo: InboundMessage, route: Route | None) -> Route | None:
        """The route, if the MO's one unit can be handed over as it is: a whole text, routed, needing no hashing."""
        if route is None or mo.too_long or not mo.complete or self._dialogs.may_need_preparing(route.ctx):
            return None
        return route

    def _hand(self, mo: InboundMessage, unit: Work, finished: Callable[[bool], None]) -> None:
        self._store.transact_then(unit, lambda ok, value: self._committed(mo, unit, ok, value, finished))

    def _committed(
        self, mo: InboundMessage, unit: Work, ok: bool, value: Any, finished: Callable[[bool], None]
    ) -> None:
        if not ok and isinstance(value, NotYourTurn):  # another instance has its sender in hand: again, shortly
            self.waited += 1
            asyncio.get_running_loop().call_later(TURN_RETRY, self._hand, mo, unit, finished)
            return
        if not ok and isinstance(value, OverLimit):  # counted across instances
            self._long(mo, self._limited(mo, value.verdict), finished)
            return
        if not ok:
            refused = isinstance(value, LedgerError)  # e.g. not a subscriber: nothing was written
            self._long(mo, self._refused(mo, value) if refused else _raise(value), finished)
            return
        outcome, outbound = value
        try:
            self._dialogs.settle(outcome)
            self._send(mo, outbound)
        finally:  # the answer is committed: the subscriber's next MO goes on whatever sending it met
            finished(True)

    def _long(
        self, mo: InboundMessage, work: Coroutine[Any, Any, list[OutboundMessage]], finished: Callable[[bool], None]
    ) -> None:
        self._tasks.spawn(self._long_way(mo, work, finished))

    async def _long_way(
        self, mo: InboundMessage, work: Awaitable[list[OutboundMessage]], finished: Callable[[bool], None]
    ) -> None:
        """``work``'s answers sent; if it fails, the system-error answer (never silence)."""
        try:
            try:
                outbound = await work
            except Exception:
                log.exception("command failed", extra={"mo_id": mo.id})
                text = self._templates.render("system_error")
                outbound = await self._store.finish_mo(mo, [self._router.reply(mo, text)], now=self._clock.now())
        except BaseException:
            finished(False)
            raise
        try:
            self._send(mo, outbound)
        finally:
            finished(True)

    def _send(self, mo: InboundMessage, outbound: Sequence[OutboundMessage]) -> None:
        # Never the MO's text: it may be a password or an ID number.
        log.debug("mo answered", extra={"mo_id": mo.id, "msisdn": mo.source_addr, "answers": len(outbound)})
        for mt in outbound:
            self._outbox.send(mt)

    async def _maybe_redelivered(self, mo: InboundMessage) -> list[OutboundMessage]:
        if await self._store.redelivered(mo):
            self.deduplicated += 1
            log.info("mo delivered again after a lost acknowledgement: not handled twice", extra={"mo_id": mo.id})
            await self._store.drop_redelivery(mo, now=self._clock.now())
            return []
        verdict = self._limiter.check(mo.source_addr, self._clock.now())
        if verdict is not Verdict.ALLOW:
            return await self._limited(mo, verdict)
        return await self._answer(mo, self._router.route(mo))

    async def _limited(self, mo: InboundMessage, verdict: Verdict) -> list[OutboundMessage]:
        self.rate_limited += 1
        text = self._templates.render("rate_limited")
        replies = [self._router.reply(mo, text)] if verdict is Verdict.WARN else []
        return await self._store.finish_mo(mo, replies, now=self._clock.now())

    async def _refused(self, mo: InboundMessage, refusal: LedgerError) -> list[OutboundMessage]:
        route = self._router.route(mo)
        text = self._router.refusal(refusal, business=route is not None and self._router.is_business(route.entry))
        return await self._store.finish_mo(mo, [self._router.reply(mo, text)], now=self._clock.now())

    async def _answer(self, mo: InboundMessage, route: Route | None) -> list[OutboundMessage]:
        if route is None:
            return await self._store.finish_mo(mo, [], now=self._clock.now())
        if mo.too_long and not self._dialogs.involved((mo.source_addr, mo.destination_addr), route.entry):
            text = self._templates.render("message_too_long")
        elif not mo.complete and not mo.too_long:
            if not self._first_incomplete_notice(mo.source_addr):
                return await self._store.finish_mo(mo, [], now=self._clock.now())
            text = self._templates.render("incomplete_message")
        else:  # a too-long text in a dialog is a reply like any other: "其他内容" declines an order
            return await self._step(mo, route)
        return await self._store.finish_mo(mo, [self._router.reply(mo, text)], now=self._clock.now())

    def _first_incomplete_notice(self, sender: str) -> bool:
        """At most one "not all parts came" answer per sender per window: parts that never complete must
        not become a stream of notices."""
        now = self._clock.now()
        if len(self._told_incomplete) > 1000:
            self._told_incomplete = {k: until for k, until in self._told_incomplete.items() if until > now}
        if self._told_incomplete.get(sender, 0.0) > now:
            return False
        self._told_incomplete[sender] = now + self._notice_window
        return True

    async def _step(self, mo: InboundMessage, route: Route) -> list[OutboundMessage]:
        """The MO's one unit of work: a query, or a dialog's start or next step, with its answer."""
        try:
            hashed = await self._dialogs.prepare(route.ctx, route.entry)  # slow work: before the batch, not in it
            unit = self._unit(mo, route, hashed)
            while True:
                try:
                    outcome, outbound = await self._store.transact(unit)
                    break
                except NotYourTurn:
                    self.waited += 1
                    await asyncio.sleep(TURN_RETRY)
        except OverLimit as over:
            return await self._limited(mo, over.verdict)
        except LedgerError as refusal:  # e.g. not a subscriber: nothing was written, answer it plainly
            return await self._refused(mo, refusal)
        self._dialogs.settle(outcome)
        return list(outbound)

    def _unit(self, mo: InboundMessage, route: Route, hashed: Hashed) -> Work:
        """The MO's step, its answer, and (for a password or an ID number) its text blanked: one unit."""

        async def work(tx: Tx) -> tuple[Outcome, list[OutboundMessage]]:
            counts = await messages.take_turn(tx, mo, since=self._clock.now() - TURN_WAIT, windows=self._windows)
            if counts is None:
                raise NotYourTurn()
            verdict = self._limiter.judge(counts) if counts else Verdict.ALLOW
            if verdict is not Verdict.ALLOW:
                raise OverLimit(verdict)
            outcome = await self._dialogs.handle(tx, route.ctx, route.entry, hashed)
            if outcome.secret:  # a password or an ID number is not kept in the inbox
                await messages.forget_text(tx, mo)
            outbound = await messages.finish_mo(
                tx, mo, [self._router.reply(mo, outcome.text)], now=self._clock.now(), effect=outcome.effect
            )
            return outcome, outbound

        return work

    async def expire_dialogs(self) -> None:
        """Send the short notice of every dialog whose window has passed, and end it."""
        if not self._store.shared and not self._dialogs.due(self._clock.now()):
            return  # on a shared database another instance's dialogs are not in this one's index

        def notice(record: DialogRecord, text: str) -> Reply:
            return Reply(text=text, destination_addr=record.msisdn, source_addr=record.service_number)

        async def work(tx: Tx) -> Any:
            return await self._dialogs.expire(tx, notice)

        for mt, outcome in await self._store.transact(work):
            self._dialogs.settle(outcome)
            if mt is not None:
                self._outbox.send(mt)

    async def load(self) -> None:
        await self._store.transact(self._dialogs.load)


class OverLimit(Exception):
    """The MO's sender is over the rate limit counted across instances; the unit wrote nothing."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.value)
        self.verdict = verdict


class _Usual(Exception):
    """The MO stored with its answer's unit may be a second delivery: it is answered as any stored MO."""


async def _raise(exc: Exception) -> NoReturn:
    """A failure met outside a coroutine, handed to :meth:`Responder._long_way` to be answered."""
    raise exc
