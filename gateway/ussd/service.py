"""USSD sessions: kept in memory while they last, each driven by the navigator, answered from the ledger.

A session is keyed by the transport's id (the HTTP aggregator's ``sessionId``; over SMPP the subscriber
and ``its_session_info``). It ends with its last screen, when the subscriber aborts or the network
releases it, or after ``ussd.timeout`` seconds without input. Queries run the SMS commands (same texts);
an order runs :func:`gateway.ledger.orders.order` in its own transaction after the confirmation, so it
is charged once however often a transport repeats a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from commands.format import yuan
from commands.orders import package_content, place_order, this_month
from commands.queries import ordered_packages
from gateway.catalog import Catalog, CodeEntry
from gateway.clock import Clock
from gateway.errors import (
    LedgerError,
    SubscriberTerminated,
    UnknownSubscriber,
)
from gateway.router import Route, Router
from gateway.store import Store, Tx
from gateway.templates import Templates
from gateway.ussd.navigation import Navigator, Quote, Reply, UssdSession

log = logging.getLogger("gateway.ussd")


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
        return await self._router.answer(Route(catalog=self._catalog, entry=entry, ctx=ctx))

    async def quote(self, msisdn: str, product: str) -> Quote:
        ctx = self._router.context(msisdn, self._catalog, "")
        package = ctx.ledger.products.packages[product]
        try:
            subscriber, _ = await ctx.holder()
        except LedgerError as refusal:
            return Quote(self._router.refusal(refusal), False)
        if subscriber.status == "suspended":
            return Quote(self._templates.render("order_suspended"), False)
        if package in await ordered_packages(ctx):
            return Quote(self._templates.render("order_already", name=package.name), False)
        prompt = self._templates.render(
            "ussd_order_prompt",
            name=package.name,
            fee=yuan(package.monthly_fee_fen),
            content=package_content(ctx, package, package.quota_kb, package.quota_sms),
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
            return self._router.refusal(refusal)
        log.info("ussd order", extra={"msisdn": msisdn, "product": product})
        return done


class UssdSessions:
    def __init__(self, *, navigator: Navigator, services: LedgerServices, clock: Clock, timeout: float) -> None:
        self.navigator = navigator
        self._services = services
        self._clock = clock
        self._timeout = timeout
        self._sessions: dict[str, UssdSession] = {}
        self._ended: dict[str, UssdSession] = {}  # kept for a time-out, to answer a retry of the last request
        self.started = 0
        self.expired = 0

    @property
    def service_code(self) -> str:
        return self.navigator.tree.service_code

    @property
    def open_sessions(self) -> int:
        return len(self._sessions)

    def begin(self, key: str, msisdn: str) -> UssdAnswer:
        """A new session (dialling the service code): the home menu."""
        session = UssdSession(id=key, msisdn=msisdn, seen=self._clock.now())
        self._sessions[key] = session
        self.started += 1
        return self._answer(session, self.navigator.open(session))

    def get(self, key: str) -> UssdSession | None:
        self.expire()
        return self._sessions.get(key)

    def ended(self, key: str) -> UssdSession | None:
        """A session that closed within the time-out (its last screen can be shown again)."""
        return self._ended.get(key)

    async def input(self, session: UssdSession, text: str) -> UssdAnswer | None:
        """The subscriber's input; a session's inputs are taken one at a time (two transports' retries or
        two quick answers never run one step twice at once). None: the session was ended meanwhile."""
        async with session.lock:
            session.seen = self._clock.now()
            reply = await self.navigator.step(session, text, self._services)
            return self._answer(session, reply) if reply is not None else None

    def release(self, key: str) -> None:
        """The subscriber aborted or the network released the session."""
        session = self._sessions.pop(key, None)
        if session is not None:
            self.navigator.end(session)

    def expire(self) -> None:
        """End the sessions idle for longer than the time-out; forget ended ones as old."""
        limit = self._clock.now() - self._timeout
        for key in [k for k, s in self._sessions.items() if s.seen <= limit]:
            self.expired += 1
            self.release(key)
        for key in [k for k, s in self._ended.items() if s.seen <= limit]:
            del self._ended[key]

    def _answer(self, session: UssdSession, reply: Reply) -> UssdAnswer:
        if reply.end:
            self._sessions.pop(session.id, None)
            self._ended[session.id] = session
        return UssdAnswer(text=reply.text, end=reply.end)
