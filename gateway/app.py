"""The gateway process: wires deliver_sm → inbox → dispatcher → router → outbox → submit_sm.

Follow one message: :class:`Link` hands a deliver_sm to :class:`Inbox`, which stores it and answers
the SMSC; the stored MO goes to the :class:`Dispatcher`, which calls :meth:`Gateway.answer`: the
:class:`Responder`'s one unit of work commits the answer with the MO's "answered" mark, and the new
outbox row goes to :class:`Outbox`, which gives its parts to the link (``docs/architecture.md``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress

from commands.lookup import preload as preload_place_names
from commands.registry import BUSINESS, COMMANDS, CONTINUATIONS, DIALOG_STARTERS, KNOWN, PREPARATIONS
from gateway.admin import AdminApi, AdminReads
from gateway.admin.billing import BillingApi
from gateway.catalog import load_catalogs
from gateway.clock import Clock, ManualClock, SystemClock
from gateway.config import Config
from gateway.console.handset import Handset
from gateway.console.live import Console
from gateway.console.simulator import Simulator
from gateway.control import Control
from gateway.db.errors import DatabaseError
from gateway.db.health import write_ready_probe
from gateway.db.instances import Takeover
from gateway.db.store import Store, Then
from gateway.db.unit import Tx
from gateway.dialog.engine import Dialogs
from gateway.dispatch import Dispatcher
from gateway.errors import ConfigError
from gateway.http import HttpServer
from gateway.inbox import Inbox, InboxLimits, expire_periodically
from gateway.instances import Instance
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.reads import Ledger
from gateway.link import DeliverHandle, Link, LinkSettings
from gateway.metrics import Metrics, Watched
from gateway.outbox import Addressing, Outbox
from gateway.pushes.campaigns import Campaigns
from gateway.pushes.compose import Composer
from gateway.pushes.schedule import Scheduler
from gateway.pushes.sender import Pusher
from gateway.pushes.sweeps import Sweeps
from gateway.ratelimit import RateLimiter
from gateway.responder import Responder
from gateway.router import Router
from gateway.smpp.codec import ShortMessage
from gateway.smpp.session import SessionConfig
from gateway.smpp.text import Concat
from gateway.templates import Templates
from gateway.types import InboundMessage
from gateway.usecases.month import MonthlyCycle
from gateway.usecases.rate_usage import UsageRating
from gateway.ussd.http import UssdHttp
from gateway.ussd.menus import MenuTree
from gateway.ussd.navigation import Navigator
from gateway.ussd.screen import Screen
from gateway.ussd.service import LedgerServices, UssdSessions
from gateway.ussd.smpp import UssdOps, UssdSmpp

log = logging.getLogger("gateway")

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FORCED = 130
GC_YOUNG = 10_000  # allocations between two passes of the collector over the youngest objects (Python: 700)


class Gateway:
    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        self.config = config
        self.ledger_target = config.ledger_target()  # the SQLite file, or the PostgreSQL database of ledger.url
        self.clock = clock or (ManualClock(time.time()) if config.gateway.clock == "manual" else SystemClock())
        g = config.gateway
        self.templates = Templates.load(config.resolve(g.templates))
        self.products = Products.load(config.resolve(g.products))
        self.catalogs = load_catalogs(config.resolve(g.catalogs), g.service_numbers, KNOWN, self.products)
        self.calendar = Calendar.named(g.timezone)
        self.menus = MenuTree.load(config.resolve(config.ussd.menus), commands=COMMANDS, products=self.products)
        self.ussd_ops = UssdOps.load(config.resolve(config.ussd.profiles), config.ussd.profile)
        if self.menus.catalog not in self.catalogs:
            raise ConfigError(f"ussd.menus: catalog {self.menus.catalog!r} is not one of gateway.service_numbers")
        self.rating = UsageRating.of(config, self.products, self.calendar)
        self.credit = self.rating.credit
        self.policy = self.rating.policy
        self.link = Link(_link_settings(config), self)
        self.dispatcher = Dispatcher(self.answer)
        self.metrics = Metrics()
        self.store: Store
        self.ledger: Ledger
        self.admin: AdminApi
        self.router: Router
        self.responder: Responder
        self.inbox: Inbox
        self.limiter: RateLimiter
        self.outbox: Outbox
        self.instance: Instance
        self._tasks: list[asyncio.Task[None]] = []
        self.stopped = False
        self.handset: Handset | None = None  # the browser's handset (http.console)
        self.console: Console | None = None  # the operator's live console (http.console)

    async def start(self) -> None:
        """Open the ledger, serve HTTP, recover, bind. If any of it fails, what was opened is closed again
        (so the process can exit) and the error goes to the caller."""
        async with AsyncExitStack() as undo:
            await self._start(undo)
            undo.pop_all()  # started: stop() closes all of it

    async def _start(self, undo: AsyncExitStack) -> None:
        config = self.config
        path = self.ledger_target
        name = config.instance_name()
        self.store = await Store.open(
            path,
            instance=name,
            batch_max=config.ledger.batch_max,
            connections=config.ledger.connections,
            on_commit=self.metrics.ledger_committed,
        )
        undo.push_async_callback(self.store.close)
        self.store.redelivery_window = config.gateway.redelivery_window
        self.instance = Instance(store=self.store, name=name, lease=config.gateway.lease, take=self._take_over)
        self.ledger = await Ledger.open(path, products=self.products, calendar=self.calendar)
        undo.push_async_callback(self.ledger.close)
        self.router = Router(
            catalogs=self.catalogs,
            commands=COMMANDS,
            templates=self.templates,
            clock=self.clock,
            ledger=self.ledger,
            credit=self.credit,
            business=BUSINESS,
        )
        dialogs = Dialogs(
            starters=DIALOG_STARTERS,
            continuations=CONTINUATIONS,
            preparations=PREPARATIONS,
            plain=self.router.answer,
            templates=self.templates,
            clock=self.clock,
            window=config.gateway.dialog_window,
        )
        g = config.gateway
        self.limiter = limiter = RateLimiter([(g.rate_limit_per_minute, 60.0), (g.rate_limit_per_hour, 3600.0)])
        self.inbox = Inbox(
            store=self.store,
            clock=self.clock,
            answer=self.link.answer_deliver,
            dispatch=self._stored,
            limits=InboxLimits(
                reassembly_timeout=g.reassembly_timeout,
                redelivery_window=g.redelivery_window,
                max_mo_octets=g.max_mo_octets,
                max_parts_per_sender=g.max_parts_per_sender,
                max_parts=g.max_parts,
            ),
            silenced=limiter.silenced,
            at_once=self._at_once,
        )
        s = config.smpp
        addressing = Addressing(
            source_addr_ton=s.source_addr_ton,
            source_addr_npi=s.source_addr_npi,
            dest_addr_ton=s.dest_addr_ton,
            dest_addr_npi=s.dest_addr_npi,
            registered_delivery=s.registered_delivery,
            concat=Concat(s.long_messages),
        )
        self.outbox = Outbox(store=self.store, link=self.link, clock=self.clock, addressing=addressing)
        self.responder = Responder(
            router=self.router,
            dialogs=dialogs,
            store=self.store,
            outbox=self.outbox,
            clock=self.clock,
            templates=self.templates,
            limiter=limiter,
            incomplete_notice_window=g.incomplete_notice_window,
        )
        await self.responder.load()
        sweeps = Sweeps(store=self.store, setup=self.rating.setup)
        self.monthly = MonthlyCycle(store=self.store, setup=self.rating.setup, credit=self.credit, sweeps=sweeps)
        self.scheduler = Scheduler(
            store=self.store,
            credit=self.credit,
            sweeps=sweeps,
            calendar=self.calendar,
            clock=self.clock,
            leads=lambda: self.instance.leading,
            monthly=self.monthly,
        )
        self.campaigns = Campaigns(store=self.store, sweeps=sweeps, clock=self.clock)
        composer = Composer(templates=self.templates, setup=self.rating.setup)
        self.pusher = Pusher(
            store=self.store,
            outbox=self.outbox,
            clock=self.clock,
            composer=composer,
            policy=self.policy,
            tps=config.pushes.tps,
            source=config.pushes.source,
            hold=self.scheduler.busy,
        )
        self.ussd = self._ussd()
        self.control = Control(
            clock=self.clock, calendar=self.calendar, on_moved=self.time_moved, readiness=self.readiness
        )
        self.admin = AdminApi(
            reads=await AdminReads.open(path),
            store=self.store,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
            calendar=self.calendar,
            products=self.products,
            service_numbers=config.gateway.service_numbers,
            tokens=config.http.tokens,
            credit=self.credit,
            billing=BillingApi(
                store=self.store,
                rating=self.rating,
                credit=self.credit,
                campaigns=self.campaigns,
                clock=self.clock,
                calendar=self.calendar,
            ),
        )
        auth = self.admin.auth
        self.metrics.watch(
            Watched(
                link=self.link,
                inbox=self.inbox,
                responder=self.responder,
                outbox=self.outbox,
                dialogs=dialogs,
                pusher=self.pusher,
                ussd=self.ussd,
                unauthorized=lambda: auth.refused,
                instance=self.instance,
            )
        )
        if not self.admin.auth.configured:
            log.info("http.tokens is empty: the admin API (/api/v1/) refuses every call")
        routes = self.control.routes() + self.metrics.routes() + self.admin.routes() + self.ussd_http.routes()
        if config.http.console:
            self.handset = Handset(
                ledger=self.ledger,
                clock=self.clock,
                simulator=Simulator(config.http.console_smsc),
                ops=self.ussd_ops,
                service_numbers=config.gateway.service_numbers,
            )
            undo.push_async_callback(self.handset.close)
            self.console = Console(
                registry=self.metrics.registry,
                auth=self.admin.auth,
                reads=self.ledger,
                binds=self.link.binds,
            )
            undo.push_async_callback(self.console.close)
            routes += self.handset.routes() + self.console.routes()
        self.http = HttpServer(routes, self.admin.middlewares())
        undo.push_async_callback(self.admin.close)
        await self.http.start(config.http.host, config.http.port)
        undo.push_async_callback(self.http.stop)
        await self.monthly.begin(now=self.clock.now())
        await self._recover()
        self._tasks = [
            asyncio.create_task(self.link.run()),
            asyncio.create_task(expire_periodically(self.inbox)),
            asyncio.create_task(_every_second(self.time_moved)),
            asyncio.create_task(self.pusher.run()),
            asyncio.create_task(self.instance.run()),
        ]
        log.info(
            "gateway started",
            extra={
                "smsc": f"{s.host}:{s.port}",
                "http": f"{config.http.host}:{self.http.port}",
                "service_numbers": config.gateway.service_numbers,
            },
        )

    async def _recover(self) -> None:
        """Sign on; answer the MOs and send the MTs left by an earlier run (or by an instance gone)."""
        taken = await self.instance.start()
        await self.inbox.recover()
        self._take_over(taken)
        if taken.mts or taken.mos:
            log.info("resuming after restart", extra={"unanswered_mos": len(taken.mos), "queued_mts": len(taken.mts)})

    def _take_over(self, taken: Takeover) -> None:
        for mt in taken.mts:
            self.outbox.send(mt)
        for mo in taken.mos:
            self.dispatcher.put(mo)

    async def time_moved(self) -> None:
        """The time-based work: dialog expiry, then credit control's and the reminders' dated jobs."""
        self.ussd.expire()
        await self.ussd.forget_old()
        self.limiter.sweep(self.clock.now())
        try:
            await self.responder.expire_dialogs()
        finally:
            await self.scheduler.tick()

    def _ussd(self) -> UssdSessions:
        u = self.config.ussd
        catalog = self.catalogs[self.menus.catalog]
        navigator = Navigator(tree=self.menus, templates=self.templates, screen=Screen(u.screen_gsm, u.screen_ucs2))
        services = LedgerServices(
            router=self.router, catalog=catalog, store=self.store, templates=self.templates, clock=self.clock
        )
        sessions = UssdSessions(
            navigator=navigator,
            services=services,
            clock=self.clock,
            timeout=u.timeout,
            max_sessions=u.max_sessions,
            shared=self.store if self.store.shared else None,
        )
        self.ussd_http = UssdHttp(sessions=sessions, templates=self.templates)
        self.ussd_smpp = UssdSmpp(sessions=sessions, link=self.link, ops=self.ussd_ops, templates=self.templates)
        return sessions

    async def readiness(self) -> str | None:
        """None while the SMPP link is bound and the ledger writable; else why not."""
        if not self.link.bound:
            return "the SMPP link is not bound" + (
                f" (last refusal: {self.link.last_bind_error})" if self.link.last_bind_error else ""
            )
        try:
            await self.store.transact(_write_probe)
        except Exception as exc:
            return f"the ledger is not writable: {exc}"
        return None

    @property
    def deduplicated(self) -> int:
        """MOs taken for the SMSC's second delivery and not handled again (at arrival or by the responder)."""
        return self.inbox.deduplicated + self.responder.deduplicated

    def _stored(self, mo: InboundMessage) -> None:
        self.metrics.mo_stored(mo)
        self.dispatcher.put(mo)

    def _at_once(self, mo: InboundMessage, stored: Then) -> bool:
        """A new MO stored and answered in one commit, in its sender's turn, if it is free and the MO can be."""
        sender = mo.source_addr
        if not self.dispatcher.claim(sender):
            return False  # an earlier MO of theirs is in hand: stored, and answered after it

        def finished(mo: InboundMessage, answered: bool) -> None:
            if answered:
                self.metrics.mo_stored(mo)  # stored and answered together: the answer took no time after
            self.metrics.answering(mo)(answered)
            self.dispatcher.release(sender)

        def usual(mo: InboundMessage) -> None:
            self.metrics.mo_stored(mo)
            self.dispatcher.hand_on(mo)

        if self.responder.at_once(mo, stored, finished=finished, usual=usual):
            return True
        self.dispatcher.release(sender)
        return False

    def answer(self, mo: InboundMessage, finished: Callable[[], None]) -> None:
        counted = self.metrics.answering(mo)

        def ended(answered: bool) -> None:
            counted(answered)
            finished()

        self.responder.answer(mo, ended)

    async def stop(self) -> None:
        """Stop taking MOs, finish what is in hand, drain the window, unbind, close the store."""
        self.inbox.accepting = False
        await self.inbox.drain()
        await self.dispatcher.drain()
        await self.link.stop(self.config.gateway.shutdown_timeout)
        await self.outbox.drain()
        await self.ussd_smpp.drain()
        await self.campaigns.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with suppress(*DatabaseError):  # a database gone cannot be told: the lease runs out instead
            await self.instance.stop()
        await self.http.stop()
        await self.admin.close()
        if self.handset is not None:
            await self.handset.close()
        if self.console is not None:
            await self.console.close()
        await self.ledger.close()
        await self.store.close()
        self.stopped = True
        log.info("gateway stopped")

    async def run_until_signalled(self) -> None:
        """Run until SIGINT or SIGTERM; a second signal exits at once."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _on_signal, stop)
        await self.start()
        await asyncio.to_thread(preload_place_names)  # 0.3 s, in a thread: the link is up and may bring MOs
        # What was built to start (modules, SQLAlchemy's and Alembic's among them, templates, catalogs) lives
        # as long as the process: kept out of the collector's full passes, each of which would otherwise walk
        # it all again and hold every answer up for some 50 ms.
        gc.collect()
        gc.freeze()
        # At saturation the default threshold (700) ran the young pass some 190 times a second, each walking the
        # MOs in flight (their PDUs, rows, answers, futures), 2.4 % of the process's time in all; with 10,000 it
        # runs a few times a run: the objects of an MO are freed by their count before it comes round.
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        await stop.wait()
        log.info("shutting down")
        await self.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(ValueError):
                loop.remove_signal_handler(sig)

    # --- LinkHandler ------------------------------------------------------------------------------

    def deliver_received(self, handle: DeliverHandle, message: ShortMessage) -> None:
        if UssdSmpp.wants(message):
            self.ussd_smpp.deliver(handle, message)
        else:
            self.inbox.deliver_received(handle, message)

    def submit_accepted(self, ref: int, message_id: str) -> None:
        if not self.ussd_smpp.settled(ref):
            self.outbox.submit_accepted(ref, message_id)

    def submit_failed(self, ref: int, command_status: int) -> None:
        if not self.ussd_smpp.settled(ref, command_status):
            self.outbox.submit_failed(ref, command_status)

    def acks_uncertain(self, tokens: list[object]) -> None:
        self.inbox.acks_uncertain(tokens)

    def acks_unsent(self, tokens: list[object]) -> None:
        self.inbox.acks_unsent(tokens)

    def acks_confirmed(self, tokens: list[object]) -> None:
        self.inbox.acks_confirmed(tokens)

    def bind_changed(self, bound: bool) -> None:
        self.inbox.link_bound(bound)
        if bound:  # a connection that ends is told by the link's own "link down" line, with why and when next
            log.info("link up")


async def _write_probe(tx: Tx) -> None:
    await write_ready_probe(tx)


async def _every_second(job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(1.0)
        try:
            await job()
        except Exception:
            log.exception("periodic job failed")


def _on_signal(stop: asyncio.Event) -> None:
    if stop.is_set():
        log.warning("second signal: exiting without draining")
        logging.shutdown()
        os._exit(EXIT_FORCED)
    stop.set()


def _link_settings(config: Config) -> LinkSettings:
    s = config.smpp
    session = SessionConfig(
        system_id=s.system_id,
        password=s.password,
        system_type=s.system_type,
        window=s.window,
        tps=s.tps,
        enquire_link_interval=s.enquire_link_interval,
        response_timeout=s.response_timeout,
        throttle_backoff_min=s.throttle_backoff_min,
        throttle_backoff_max=s.throttle_backoff_max,
    )
    return LinkSettings(
        host=s.host,
        port=s.port,
        session=session,
        tx_rx=s.bind_mode == "tx_rx",
        reconnect_min=s.reconnect_min,
        reconnect_max=s.reconnect_max,
        max_resends=s.max_resends,
    )
