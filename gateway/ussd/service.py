"""USSD sessions: kept in memory while they last, each driven by the navigator, answered from the ledger.

A session is keyed by the transport's id (the HTTP aggregator's ``sessionId``; over SMPP the subscriber
and ``its_session_info``) in a dict. It ends with its last screen, when the subscriber aborts or the network
releases it, or after ``ussd.timeout`` seconds without input; the time-outs are kept by a timer wheel
(:mod:`gateway.ussd.deadlines`), so ending them touches only the sessions that are due. At most
``ussd.max_sessions`` are open: past it a dial is answered "busy" and closed (counted in ``refused``).
Queries run the SMS commands (same texts); an order runs :func:`gateway.ledger.orders.order` in its own
transaction after the confirmation, so it is charged once however often a transport repeats a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any

from commands.orders import package_content, place_order, this_month
from commands.queries import ordered_packages
from gateway.catalog import Catalog, CodeEntry
from gateway.clock import Clock
from gateway.db import ussd as ussd_repo
from gateway.db.store import Store
from gateway.db.unit import Tx
from gateway.db.ussd import StoredSession
from gateway.errors import (
    LedgerError,
    SubscriberTerminated,
    UnknownSubscriber,
)
from gateway.format import yuan
from gateway.router import Router
from gateway.templates import Templates
from gateway.ussd.deadlines import Deadlines
from gateway.ussd.navigation import Navigator, Quote, Reply, UssdSession

log = logging.getLogger("gateway.ussd")

DEFAULT_MAX_SESSIONS = 10_000  # as ussd.max_sessions


@dataclass(frozen=True, slots=True, kw_only=True)
class UssdAnswer:
    text: str
    end: bool


class LedgerServices:
    """What the navigator asks of the ledger, in the SMS commands' words."""

    def __init__(self, *, router: Router, catalog: Catalog, store: Store, templates: Templates, clock: Clock) -> None:
        self._router = router
        self._catalog = catalog
        self._store = store
        self._templates = templates
        self._clock = clock

    async def query(self, msisdn: str, command: str) -> str:
        entry = CodeEntry(code="", summary="", command=command, listed=False)
        ctx = self._router.context(msisdn, self._catalog, "")
        return await self._router.answer(ctx, entry)

    async def quote(self, msisdn: str, product: str) -> Quote:
        ctx = self._router.context(msisdn, self._catalog, "")
        package = ctx.ledger.products.packages[product]
        try:
            subscriber, _ = await ctx.holder()
        except LedgerError as refusal:
            return Quote(self._router.refusal(refusal, business=True), False)
        if subscriber.status == "suspended":
            return Quote(self._templates.render("order_suspended"), False)
        if package in await ordered_packages(ctx):
            return Quote(self._templates.render("order_already", name=package.name), False)
        prompt = self._templates.render(
            "ussd_order_prompt",
            name=package.name,
            fee=yuan(package.monthly_fee_fen),
            content=package_content(ctx, package),
            this_month=this_month(ctx, package, self._clock.now()),
        )
        return Quote(prompt, True, package.name)

    async def order(self, msisdn: str, product: str) -> str:
        """The order after 1 确认, in its own transaction, answered as the SMS confirmation is."""
        ctx = self._router.context(msisdn, self._catalog, "")
        package = ctx.ledger.products.packages[product]
        now = self._clock.now()

        async def work(tx: Tx) -> str:
            return await place_order(tx, ctx=ctx, package=package, now=now)

        try:
            done: str = await self._store.transact(work)
        except (UnknownSubscriber, SubscriberTerminated) as refusal:
            return self._router.refusal(refusal, business=True)
        log.info("ussd order", extra={"msisdn": msisdn, "product": product})
        return done


class UssdSessions:
    """The open sessions (at most ``max_sessions``), and the ones ended within the time-out (as many at most:
    the oldest goes first), whose last screen a retry is shown again."""

    def __init__(
        self,
        *,
        navigator: Navigator,
        services: LedgerServices,
        clock: Clock,
        timeout: float,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        shared: Store | None = None,
    ) -> None:
        self.navigator = navigator
        self._shared = shared  # a ledger other instances share: each session is a row there as well
        self._services = services
        self._clock = clock
        self._timeout = timeout
        self.max_sessions = max_sessions
        self._sessions: dict[str, UssdSession] = {}
        self._deadlines: Deadlines[str] = Deadlines()  # when each open session times out
        self._ended: OrderedDict[str, UssdSession] = OrderedDict()  # in the order they ended
        self._cap_logged_at = -float("inf")
        self.started = 0
        self.expired = 0
        self.refused = 0  # dials answered "busy": max_sessions were open

    @property
    def service_code(self) -> str:
        return self.navigator.tree.service_code

    @property
    def open_sessions(self) -> int:
        return len(self._sessions)

    def begin(self, key: str, msisdn: str) -> UssdAnswer:
        """A new session (dialling the service code): the home menu; "busy" when ``max_sessions`` are open.
        A session open under the same key (a new dial on the same SMPP session number) ends first."""
        self.expire()
        self.release(key)
        now = self._clock.now()
        if len(self._sessions) >= self.max_sessions:
            return self._refuse(now)
        session = UssdSession(id=key, msisdn=msisdn, seen=now)
        self._sessions[key] = session
        self._deadlines.set(key, now + self._timeout)
        self.started += 1
        return self._answer(session, self.navigator.open(session))

    def get(self, key: str) -> UssdSession | None:
        self.expire()
        session = self._sessions.get(key)
        if session is not None and self._timed_out(session):  # due within this second: the wheel is to the second
            self.expired += 1
            self.release(key)
            return None
        return session

    def ended(self, key: str) -> UssdSession | None:
        """A session that closed within the time-out (its last screen can be shown again)."""
        session = self._ended.get(key)
        return None if session is None or self._timed_out(session) else session

    async def input(self, session: UssdSession, text: str) -> UssdAnswer | None:
        """The subscriber's input; a session's inputs are taken one at a time (two transports' retries or
        two quick answers never run one step twice at once). None: the session was ended meanwhile."""
        if session.lock is None:
            session.lock = asyncio.Lock()
        async with session.lock:
            session.seen = self._clock.now()
            if self._sessions.get(session.id) is session:  # not one that ended meanwhile
                self._deadlines.set(session.id, session.seen + self._timeout)
            reply = await self.navigator.step(session, text, self._services)
            return self._answer(session, reply) if reply is not None else None

    async def sync(self, key: str) -> None:
        """On a shared ledger, before an input: the session as the ledger has it (the last request may have
        reached another instance). The caller takes a session's inputs one at a time."""
        if self._shared is None:
            return
        stored = await self._shared.transact(lambda tx: ussd_repo.load(tx, key))
        self._sessions.pop(key, None)
        self._deadlines.discard(key)
        self._ended.pop(key, None)
        if stored is None:
            return
        session = UssdSession(id=key, msisdn=stored.msisdn, **_from_row(stored.data))
        if stored.open:
            self._sessions[key] = session
            self._deadlines.set(key, session.seen + self._timeout)
        else:
            session.state = "closed"  # ended with its last screen, or released on another instance
            self._ended[key] = session

    async def keep(self, key: str) -> None:
        """On a shared ledger, after an input: the session as it now stands, for the other instances."""
        if self._shared is None:
            return
        session = self._sessions.get(key)
        is_open = session is not None
        session = session or self._ended.get(key)
        if session is None:
            return
        stored = StoredSession(key=key, msisdn=session.msisdn, data=_to_row(session), seen=session.seen, open=is_open)
        await self._shared.transact(lambda tx: ussd_repo.save(tx, stored))

    async def released(self, key: str) -> None:
        """:meth:`release`, and on a shared ledger the session's row ended as well."""
        self.release(key)
        if self._shared is not None:
            await self._shared.transact(lambda tx: ussd_repo.end(tx, key))

    async def forget_old(self) -> None:
        """On a shared ledger: drop the rows of sessions not seen for twice the time-out."""
        if self._shared is not None:
            before = self._clock.now() - 2 * self._timeout
            await self._shared.transact(lambda tx: ussd_repo.forget_before(tx, before))

    def release(self, key: str) -> None:
        """The subscriber aborted or the network released the session."""
        session = self._sessions.pop(key, None)
        if session is not None:
            self._deadlines.discard(key)
            self.navigator.end(session)

    def expire(self) -> None:
        """End the sessions idle for the time-out, and forget ended ones as old: only the due ones are touched."""
        now = self._clock.now()
        for key in self._deadlines.pop_due(now):
            self.expired += 1
            self.navigator.end(self._sessions.pop(key))
        while self._ended and self._timed_out(next(iter(self._ended.values())), now):
            self._ended.popitem(last=False)

    def _timed_out(self, session: UssdSession, now: float | None = None) -> bool:
        return session.seen <= (self._clock.now() if now is None else now) - self._timeout

    def _refuse(self, now: float) -> UssdAnswer:
        self.refused += 1
        if now >= self._cap_logged_at + self._timeout:  # once per time-out, not once per dial
            self._cap_logged_at = now
            log.warning("ussd sessions at the cap", extra={"max_sessions": self.max_sessions, "refused": self.refused})
        text = self.navigator.templates.render("ussd_too_many_sessions", code=self.service_code)
        return UssdAnswer(text=text, end=True)

    def _answer(self, session: UssdSession, reply: Reply) -> UssdAnswer:
        if reply.end:
            if self._sessions.get(session.id) is session:
                del self._sessions[session.id]
                self._deadlines.discard(session.id)
            self._ended.pop(session.id, None)
            self._ended[session.id] = session
            if len(self._ended) > self.max_sessions:
                self._ended.popitem(last=False)
        return UssdAnswer(text=reply.text, end=reply.end)


_KEPT = tuple(f.name for f in fields(UssdSession) if f.name not in ("id", "msisdn", "lock"))
"""The fields of a session that its row keeps."""


def _to_row(session: UssdSession) -> dict[str, Any]:
    return {name: getattr(session, name) for name in _KEPT}


def _from_row(data: dict[str, Any]) -> dict[str, Any]:
    """A row's fields as the session has them (JSON has lists where the session keeps tuples)."""
    found = {name: data[name] for name in _KEPT if name in data}
    for name in ("trail", "screens", "last_reply"):
        if name in found:
            found[name] = _tuples(found[name])
    return found


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
