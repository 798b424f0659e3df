"""The thin asyncio adapter around :class:`EsmeSession`: sockets, timers, reconnects.

It moves bytes between a TCP connection and the sans-IO session, calls the session's timer when the
session asks, feeds queued submit_sm into the window as fast as the session allows, and reconnects
with capped exponential back-off and jitter whenever a connection ends (one ``link down`` line says why
and when it tries again). In ``tx_rx`` mode it keeps two connections (bind_transmitter for submits,
bind_receiver for deliveries). All decisions stay in the session; all consequences go to the
:class:`LinkHandler`.

A part left unanswered (its submit_sm expired, or was in the window when a connection ended) is sent
again at most ``max_resends`` times; after that it fails like a final refusal, with ESME_RSUBMITFAIL.
Warnings the SMSC can cause at will (bad PDUs, throttling, expired submits) go through
:class:`QuietWarnings`, so that a flood of them is a few lines.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter, deque
from dataclasses import dataclass, replace
from typing import Protocol, cast

from gateway.errors import LocalProtocolError
from gateway.quiet import QuietWarnings
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import Status, known_status, status_name
from gateway.smpp.events import (
    AcksConfirmed,
    BindRejected,
    Bound,
    DeliverReceived,
    Event,
    LinkFailed,
    PeerError,
    SubmitAccepted,
    SubmitExpired,
    SubmitRejected,
    Unbound,
)
from gateway.smpp.resends import ResendBudget
from gateway.smpp.session import BindMode, BindState, EsmeSession, SessionConfig

log = logging.getLogger("gateway.link")

GIVEN_UP_STATUS = Status.ESME_RSUBMITFAIL
"""The command_status a part is failed with when its last allowed resend went unanswered too."""


@dataclass(frozen=True, slots=True)
class DeliverHandle:
    """Where to send the deliver_sm_resp: the connection it came on and its sequence number."""

    connection: _Connection
    sequence_number: int


class LinkHandler(Protocol):
    def deliver_received(self, handle: DeliverHandle, message: ShortMessage) -> None: ...
    def submit_accepted(self, ref: int, message_id: str) -> None: ...
    def submit_failed(self, ref: int, command_status: int) -> None: ...
    def bind_changed(self, bound: bool) -> None: ...
    def acks_uncertain(self, tokens: list[object]) -> None: ...
    def acks_unsent(self, tokens: list[object]) -> None: ...
    def acks_confirmed(self, tokens: list[object]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSettings:
    host: str
    port: int
    session: SessionConfig
    tx_rx: bool = False
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    max_resends: int = 3  # of one part left unanswered; then it fails with GIVEN_UP_STATUS
    warning_interval: float = 10.0  # seconds between two lines of one warning the SMSC can repeat at will


class _Connection(asyncio.Protocol):
    """One TCP connection and its session. Lives from connect to close; never reused."""

    def __init__(self, link: Link, config: SessionConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.link = link
        self.loop = loop
        self.session = EsmeSession(config, now=loop.time())
        self.transport: asyncio.Transport | None = None
        self.bound = loop.create_future()  # resolves True when bound, False when refused/closed
        self.closed = loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.down_reason: str | None = None  # why the connection ended, when the session or we know it
        self._flush_due = False

    @property
    def sends(self) -> bool:
        return self.session.config.mode is not BindMode.RECEIVER

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without being its subclass
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self.session.bind(self.loop.time())
        self.flush()

    def data_received(self, data: bytes) -> None:
        events = self.session.receive_data(data, self.loop.time())
        for event in events:
            self._handle(event)
        if self.sends:
            self.link.pump(self)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer:
            self._timer.cancel()
        if self.down_reason is None:
            self.down_reason = f"connection lost: {exc}" if exc else "connection closed by the SMSC"
        lost = self.session.connection_lost()
        if lost.acks_uncertain:
            self.link.handler.acks_uncertain(list(lost.acks_uncertain))
        if lost.acks_unsent:  # never reached the socket: the SMSC will surely deliver these again
            self.link.handler.acks_unsent(list(lost.acks_unsent))
        if not self.bound.done():
            self.bound.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)
        self.link.connection_closed(self, list(lost.unanswered))

    def flush_soon(self) -> None:
        """Write what the session has to send at the end of this turn of the loop: the answers and acks
        made in one turn go out in one write, not one system call each."""
        if not self._flush_due:
            self._flush_due = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_due = False
        self.flush()

    def flush(self) -> None:
        # Taken from the session only when the socket takes it: the acks in it count as written from then.
        transport = self.transport
        if transport is not None and not transport.is_closing():
            data = self.session.data_to_send()
            if data:
                transport.write(data)
        self.arm_timer()

    def close(self) -> None:
        """Close once what the session still has to send (an unbind_resp, a generic_nack) is written."""
        if self.transport is not None:
            self.flush()
            self.transport.close()

    def arm_timer(self) -> None:
        deadline = self.session.next_deadline()
        if self.sends and self.link.has_pending:
            ready = self.session.submit_ready_at(self.loop.time())
            if ready is not None and (deadline is None or ready < deadline):
                deadline = ready
        if deadline == self._timer_at:
            return
        if self._timer:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        for event in self.session.timer(self.loop.time()):
            self._handle(event)
        if self.sends:
            self.link.pump(self)
        self.flush()

    def _handle(self, event: Event) -> None:
        link = self.link
        match event:
            case DeliverReceived(sequence_number=seq, message=message):
                link.handler.deliver_received(DeliverHandle(self, seq), message)
            case AcksConfirmed(tokens=tokens):
                link.handler.acks_confirmed(list(tokens))
            case SubmitAccepted(ref=ref, message_id=message_id):
                link.acknowledged += 1
                if link.awaits(ref):  # not a second copy's answer for a part already settled
                    link.handler.submit_accepted(ref, message_id)
            case SubmitRejected(ref=ref, command_status=status, transient=True):
                link.requeue([ref])
                link.throttled += 1
                link.warnings.warning("smsc asked to slow down", status=status_name(status))
            case SubmitRejected(ref=ref, command_status=status):
                link.count_refusal(status)
                if link.awaits(ref):
                    link.handler.submit_failed(ref, status)
            case SubmitExpired(ref=ref, sequence_number=seq):
                link.expired += 1
                timeout = self.session.config.response_timeout
                link.warnings.warning("no submit_sm_resp in time", seq=seq, response_timeout=timeout)
                link.resend_or_give_up([ref])
            case Bound():
                log.info("bound", extra={"mode": self.session.config.mode.name.lower()})
                self.bound.set_result(True)
            case BindRejected():
                self.down_reason = f"bind refused: {event.status_name}"
                link.last_bind_error = event.status_name
                self.bound.set_result(False)
                self.close()
            case Unbound(by_peer=by_peer):
                if by_peer:
                    self.down_reason = "unbound by the SMSC"
                else:
                    log.info("unbound")
                self.close()
            case LinkFailed(reason=reason):
                self.down_reason = reason
                self.close()
            case PeerError(reason=reason):
                link.warnings.warning("smsc sent a bad pdu", reason=reason)


class Link:
    """The gateway's SMPP presence: one or two connections kept bound, and a queue of parts to send."""

    def __init__(self, settings: LinkSettings, handler: LinkHandler) -> None:
        self.settings = settings
        self.handler = handler
        self._pending: deque[tuple[int, ShortMessage]] = deque()
        self._parts: dict[int, ShortMessage] = {}
        self._senders: list[_Connection] = []
        self._connections: set[_Connection] = set()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._resends = ResendBudget(settings.max_resends)
        self.warnings = QuietWarnings(log, settings.warning_interval)
        self.submitted = 0  # submit_sm written, resends included
        self.acknowledged = 0  # submit_sm_resp with ESME_ROK
        self.refused: Counter[int] = Counter()  # final refusals, by command_status SMPP 3.4 names
        self.refused_unnamed = 0  # final refusals with a command_status SMPP 3.4 does not name
        self.throttled = 0
        self.expired = 0  # submit_sm unanswered within the response timeout while the SMSC was there
        self.given_up = 0  # parts failed because their last allowed resend went unanswered too
        self.reconnects = 0
        self.last_bind_error: str | None = None

    # --- what the pipeline calls ---------------------------------------------------------------

    @property
    def has_pending(self) -> bool:
        return bool(self._pending) and not self._stopping

    @property
    def bound(self) -> bool:
        return all(conn.session.bound for conn in self._connections) and len(self._connections) == self._wanted

    def binds(self) -> list[tuple[str, bool]]:
        """Each connection's bind mode and whether it is bound (the console's link state)."""
        return sorted((conn.session.config.mode.name.lower(), conn.session.bound) for conn in self._connections)

    @property
    def in_flight(self) -> int:
        return sum(conn.session.in_flight for conn in self._senders)

    def submit(self, ref: int, message: ShortMessage) -> None:
        """Queue one submit_sm. ``ref`` comes back in submit_accepted / submit_failed."""
        self._parts[ref] = message
        self._pending.append((ref, message))
        for conn in self._senders:
            self.pump(conn)
            conn.flush_soon()

    def answer_deliver(self, handle: DeliverHandle, command_status: int = 0, token: object = None) -> None:
        """Answer a deliver_sm. With a ``token``, an OK answer is watched until the SMSC has surely read it;
        if the connection ends first, the token is handed to :meth:`LinkHandler.acks_uncertain`, and if the
        answer cannot be written at all, to :meth:`LinkHandler.acks_unsent`."""
        connection = handle.connection
        if connection.session.state is BindState.CLOSED:  # the ack cannot go out: the SMSC will deliver again
            if token is not None:
                self.handler.acks_unsent([token])
            return
        watched = token if command_status == 0 else None
        connection.session.answer_deliver(handle.sequence_number, command_status, watched)
        connection.flush_soon()

    def forget(self, ref: int) -> None:
        """The part's fate is recorded; it will not be resent."""
        self._parts.pop(ref, None)
        self._resends.forget(ref)

    def awaits(self, ref: int) -> bool:
        """Whether the part's fate is still open (an answer to another copy may have settled it)."""
        return ref in self._parts

    async def run(self) -> None:
        """Keep the wanted binds up until :meth:`stop`."""
        settings = self.settings
        modes = [BindMode.TRANSMITTER, BindMode.RECEIVER] if settings.tx_rx else [settings.session.mode]
        self._tasks = [asyncio.create_task(self._keep_bound(mode)) for mode in modes]
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_bound(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not self.bound:
                await asyncio.sleep(0.02)

    async def stop(self, drain_timeout: float) -> None:
        """Send what is queued and let the window drain (for at most ``drain_timeout``), then unbind.

        What is still queued after that stays in the outbox and is sent after the next start.
        """
        try:
            async with asyncio.timeout(drain_timeout):
                while self._pending or self.in_flight:
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            log.warning(
                "window did not drain before shutdown",
                extra={"in_flight": self.in_flight, "queued": len(self._pending)},
            )
        self._stopping = True
        loop = asyncio.get_running_loop()
        for conn in list(self._connections):
            if conn.session.bound:
                conn.session.unbind(loop.time())
                conn.flush()
        closing = [conn.closed for conn in self._connections]
        if closing:
            await asyncio.wait(closing, timeout=min(2.0, max(drain_timeout, 0.1)))
        for conn in list(self._connections):
            conn.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.warnings.flush()

    # --- what connections call -----------------------------------------------------------------

    def pump(self, conn: _Connection) -> None:
        """Move queued parts into this connection's window while the session allows."""
        session = conn.session
        pending = self._pending
        if not self._stopping and session.bound:
            now = conn.loop.time()
            while pending and session.can_submit(now):
                ref, message = pending.popleft()
                if ref in self._parts:
                    try:
                        session.submit(ref, message, now)
                    except LocalProtocolError as exc:  # a field does not fit (e.g. a 21-octet address)
                        self._unsendable(conn, ref, exc)
                        continue
                    self.submitted += 1
        if not pending and not self.in_flight:
            self._idle.set()  # stop() may be waiting for the window to drain

    def _unsendable(self, conn: _Connection, ref: int, exc: LocalProtocolError) -> None:
        """A part that cannot be encoded will never go: a final refusal with the status it names. Told on
        the next turn of the loop, since pump may run inside :meth:`submit`, before its caller is done."""
        log.warning("part cannot be encoded", extra={"reason": str(exc)})
        self.count_refusal(exc.command_status)
        conn.loop.call_soon(self.handler.submit_failed, ref, exc.command_status)

    def count_refusal(self, status: int) -> None:
        """By status while SMPP 3.4 names it; the rest in one count (an SMSC may use any 32-bit value)."""
        if known_status(status):
            self.refused[status] += 1
        else:
            self.refused_unnamed += 1

    def requeue(self, refs: list[int]) -> None:
        """Unanswered or throttled parts go back to the front, in their order."""
        for ref in reversed(refs):
            message = self._parts.get(ref)
            if message is not None:
                self._pending.appendleft((ref, message))

    def resend_or_give_up(self, refs: list[int]) -> None:
        """Parts left unanswered go back to the front of the queue, each at most ``max_resends`` times;
        one whose last allowed copy went unanswered too fails, as a final refusal would."""
        again = []
        for ref in refs:
            if ref not in self._parts:  # settled meanwhile, or failed with another part of its MT
                continue
            if self._resends.unanswered(ref):
                again.append(ref)
                continue
            self.given_up += 1
            self.warnings.warning("part given up: unanswered", copies=self.settings.max_resends + 1)
            self.handler.submit_failed(ref, GIVEN_UP_STATUS)
        self.requeue(again)

    def connection_closed(self, conn: _Connection, unanswered: list[int]) -> None:
        self._connections.discard(conn)
        if conn in self._senders:
            self._senders.remove(conn)
        if self._stopping:
            self.requeue(unanswered)  # still in the outbox: sent after the next start
        else:
            self.resend_or_give_up(unanswered)
        self._idle.set()
        self.handler.bind_changed(self.bound)

    # --- inside ---------------------------------------------------------------------------------

    @property
    def _wanted(self) -> int:
        return 2 if self.settings.tx_rx else 1

    async def _keep_bound(self, mode: BindMode) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        config = replace(settings.session, mode=mode)
        delay = settings.reconnect_min
        while not self._stopping:
            conn: _Connection | None = None
            try:
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, config, loop), settings.host, settings.port
                )
                self._connections.add(conn)
                if await conn.bound:
                    delay = settings.reconnect_min
                    if conn.sends:
                        self._senders.append(conn)
                        self.pump(conn)
                        conn.flush()
                    self.handler.bind_changed(self.bound)
                await conn.closed
                reason = conn.down_reason or "connection closed"
            except OSError as exc:
                reason = f"cannot connect: {exc}"
            if self._stopping:
                return
            self.reconnects += 1
            pause = random.uniform(delay / 2, delay)
            delay = min(settings.reconnect_max, delay * 2)
            log.warning("link down", extra={"mode": mode.name.lower(), "reason": reason, "retry_in": round(pause, 3)})
            await asyncio.sleep(pause)
