"""The ESME side of one SMPP connection, without I/O.

Bytes come in through :meth:`EsmeSession.receive_data`, which returns the events they caused; the bytes
to write are taken with :meth:`EsmeSession.data_to_send`. Time is never read here: every call that
needs it takes ``now`` (monotonic seconds), and :meth:`EsmeSession.next_deadline` says when the adapter
should call :meth:`EsmeSession.timer` next.

The session owns the bind state (the rules are the table ``_ALLOWED`` below), sequence numbers, the
window of outstanding submit_sm, the per-PDU rate limit and the back-off after ``ESME_RTHROTTLED`` /
``ESME_RMSGQFUL``. What to send, and what to do with a delivered message, is the caller's business.

Response timeouts tell a lost PDU from a lost SMSC. When a request's ``response_timeout`` runs out and
the SMSC has sent anything since the request went, only that request is lost: a submit_sm is given up
(:class:`SubmitExpired`, the caller may send it again) and the link stays. When nothing at all has come
since, the session asks with an enquire_link; only if that too goes unanswered for ``response_timeout``,
with the SMSC still silent, does the link fail. A bind or unbind that is not answered in time always
fails the link.

A deliver_sm_resp answered with a token is watched (:mod:`gateway.smpp.acks`): once the SMSC answers a
request of ours written after it, :class:`AcksConfirmed` says it was read; :meth:`EsmeSession.connection_lost`
returns the tokens of those written but never confirmed, and of those never written at all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import FramingError, LocalProtocolError, RemoteProtocolError
from gateway.smpp.acks import AckWatch
from gateway.smpp.codec import (
    Bind,
    BindResp,
    Body,
    Empty,
    MessageIdResp,
    Pdu,
    PduReader,
    ShortMessage,
    decode_pdu,
    encode_pdu,
    response_id,
)
from gateway.smpp.constants import TRANSIENT_STATUSES, CommandId, Status
from gateway.smpp.events import (
    AcksConfirmed,
    BindRejected,
    Bound,
    ConnectionLost,
    DeliverReceived,
    Event,
    LinkFailed,
    PeerError,
    SubmitAccepted,
    SubmitExpired,
    SubmitRejected,
    Unbound,
)


class BindMode(enum.Enum):
    TRANSMITTER = CommandId.bind_transmitter
    RECEIVER = CommandId.bind_receiver
    TRANSCEIVER = CommandId.bind_transceiver


class BindState(enum.Enum):
    OPEN = "open"  # connected, not bound
    BINDING = "binding"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


_EMPTY = Empty()
_BOUND = frozenset({BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX})
_BOUND_STATE = {
    BindMode.TRANSMITTER: BindState.BOUND_TX,
    BindMode.RECEIVER: BindState.BOUND_RX,
    BindMode.TRANSCEIVER: BindState.BOUND_TRX,
}

# The bind-state rules in one table: which PDUs we may *send* and which we *accept* in each state.
# A PDU that is not listed for the current state is refused (LocalProtocolError when we try to send
# it; ESME_RINVBNDSTS in the response when the SMSC sends it).
_SEND, _RECV = "send", "recv"
_ALLOWED: dict[tuple[str, BindState], frozenset[CommandId]] = {
    (_SEND, BindState.OPEN): frozenset(
        {CommandId.bind_transmitter, CommandId.bind_receiver, CommandId.bind_transceiver}
    ),
    (_SEND, BindState.BOUND_TX): frozenset({CommandId.submit_sm, CommandId.enquire_link, CommandId.unbind}),
    (_SEND, BindState.BOUND_RX): frozenset({CommandId.enquire_link, CommandId.unbind}),
    (_SEND, BindState.BOUND_TRX): frozenset({CommandId.submit_sm, CommandId.enquire_link, CommandId.unbind}),
    (_RECV, BindState.OPEN): frozenset({CommandId.enquire_link}),
    (_RECV, BindState.BINDING): frozenset({CommandId.enquire_link}),
    (_RECV, BindState.BOUND_TX): frozenset({CommandId.enquire_link, CommandId.unbind}),
    (_RECV, BindState.BOUND_RX): frozenset({CommandId.deliver_sm, CommandId.enquire_link, CommandId.unbind}),
    (_RECV, BindState.BOUND_TRX): frozenset({CommandId.deliver_sm, CommandId.enquire_link, CommandId.unbind}),
    (_RECV, BindState.UNBINDING): frozenset({CommandId.enquire_link, CommandId.unbind}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    mode: BindMode = BindMode.TRANSCEIVER
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    window: int = 64
    tps: float = 0.0  # submit_sm PDUs per second; 0 means no limit
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    throttle_backoff_min: float = 0.2
    throttle_backoff_max: float = 10.0


_EXPIRED_KEPT = 1024
"""Expired submit_sm whose late response is still recognised (the oldest are forgotten first)."""

_MAX_SEQUENCE = 0x7FFFFFFF
"""Our sequence numbers run 1 to this, then wrap to 1."""


@dataclass(slots=True)
class _Outstanding:
    command_id: CommandId
    sent_at: float
    deadline: float
    position: int  # in the write order of our requests (AckWatch.request_queued)
    ref: int | None = None


class EsmeSession:
    """One SMPP connection seen from the ESME. Create a new one for every TCP connection."""

    def __init__(self, config: SessionConfig, *, now: float, first_sequence: int = 1) -> None:
        """``first_sequence`` is the sequence number of our first request (1 to 0x7FFFFFFF, after which
        they wrap to 1); only tests start elsewhere than 1, to cross the wrap."""
        if not 1 <= first_sequence <= _MAX_SEQUENCE:
            raise ValueError(f"first_sequence must be 1..{_MAX_SEQUENCE:#x}, not {first_sequence}")
        self.config = config
        self.state = BindState.OPEN
        self._reader = PduReader()
        self._out = bytearray()
        self._sequence = first_sequence - 1
        self._outstanding: dict[int, _Outstanding] = {}
        self._expired: dict[int, _Outstanding] = {}  # sequence number → a submit_sm given up on
        self._acks = AckWatch()
        self._enquire_sequence = 0
        self._submits = 0
        self._last_received = now
        self._tokens = self._bucket_size
        self._refilled_at = now
        self._paused_until = 0.0
        self._backoff = 0.0
        self._handlers: dict[CommandId, Callable[[Pdu, float], list[Event]]] = {
            CommandId.deliver_sm: self._on_deliver_sm,
            CommandId.enquire_link: self._on_enquire_link,
            CommandId.unbind: self._on_unbind,
        }

    # --- what the adapter asks ----------------------------------------------------------------

    @property
    def bound(self) -> bool:
        return self.state in _BOUND

    @property
    def in_flight(self) -> int:
        """submit_sm PDUs sent and not yet answered."""
        return self._submits

    def data_to_send(self) -> bytes:
        """The bytes to write. Call it only when they can be handed to the socket: the acks among them
        count as written from then on (uncertain, not unsent, if the connection is lost)."""
        data = bytes(self._out)
        self._out.clear()
        self._acks.taken()
        return data

    def next_deadline(self) -> float | None:
        """When :meth:`timer` has something to do: a response deadline or the next enquire_link."""
        # While an enquire_link is outstanding, only its deadline counts: the keepalive time is past, and
        # a request that comes due while the SMSC is silent waits for the enquire_link's verdict.
        enquiry = self._outstanding.get(self._enquire_sequence)
        if enquiry is not None:
            return enquiry.deadline
        # Every request gets the same timeout, so the oldest outstanding one (dicts keep insertion
        # order) has the earliest deadline.
        oldest = next(iter(self._outstanding.values()), None)
        response_due = oldest.deadline if oldest is not None else None
        if not self.bound:
            return response_due
        keepalive = self._last_received + self.config.enquire_link_interval
        return keepalive if response_due is None else min(response_due, keepalive)

    def submit_ready_at(self, now: float) -> float | None:
        """When one more submit_sm may go: ``now`` if it may go at once, None while the window is full."""
        if self.state not in (BindState.BOUND_TX, BindState.BOUND_TRX) or self._submits >= self.config.window:
            return None
        ready = self._paused_until
        if self.config.tps > 0:
            self._refill(now)
            if self._tokens < 1.0:
                ready = max(ready, now + (1.0 - self._tokens) / self.config.tps)
        return max(ready, now)

    def can_submit(self, now: float) -> bool:
        return self.submit_ready_at(now) == now

    # --- what the adapter tells ---------------------------------------------------------------

    def bind(self, now: float) -> None:
        config = self.config
        body = Bind(system_id=config.system_id, password=config.password, system_type=config.system_type)
        self._request(config.mode.value, body, now)
        self.state = BindState.BINDING

    def submit(self, ref: int, message: ShortMessage, now: float) -> None:
        if not self.can_submit(now):
            raise LocalProtocolError(
                f"submit_sm not allowed now (state {self.state.value}, {self._submits} in flight)",
                command_status=Status.ESME_RINVBNDSTS,
            )
        if self.config.tps > 0:
            self._tokens -= 1.0
        self._request(CommandId.submit_sm, message, now, ref=ref)
        self._submits += 1

    def answer_deliver(self, sequence_number: int, command_status: int = Status.ESME_ROK, token: object = None) -> None:
        """Queue the deliver_sm_resp. With a ``token``, it is watched until the SMSC has surely read it
        (:class:`AcksConfirmed`) or the connection is lost (:meth:`connection_lost`). Once the session is
        CLOSED nothing is queued and the token is not kept: the SMSC will deliver the message again."""
        if self.state is BindState.CLOSED:
            return
        self._respond(CommandId.deliver_sm_resp, sequence_number, command_status, MessageIdResp())
        if token is not None:
            self._acks.ack_queued(token)

    def unbind(self, now: float) -> None:
        if self.bound:
            self._request(CommandId.unbind, _EMPTY, now)
            self.state = BindState.UNBINDING

    def connection_lost(self) -> ConnectionLost:
        """The TCP connection is gone: what was left open on it. What was not taken yet is dropped."""
        self.state = BindState.CLOSED
        ordered = sorted(self._outstanding.values(), key=lambda o: o.position)
        uncertain, unsent = self._acks.lost()
        self._outstanding.clear()
        self._expired.clear()
        self._submits = 0
        self._out.clear()
        refs = tuple(o.ref for o in ordered if o.ref is not None)
        return ConnectionLost(unanswered=refs, acks_uncertain=uncertain, acks_unsent=unsent)

    def timer(self, now: float) -> list[Event]:
        events: list[Event] = []
        for sequence, outstanding in list(self._outstanding.items()):
            if outstanding.deadline > now:
                break  # the rest were sent later
            if self._last_received > outstanding.sent_at:  # the SMSC is there: only this request is lost
                events.extend(self._expire(sequence, outstanding))
            elif outstanding.command_id is CommandId.enquire_link or not self.bound:
                events.append(self._fail(outstanding.command_id, sequence, "and nothing else from the SMSC"))
            elif not self._enquiring:  # nothing since it went: is the SMSC there at all?
                self._request(CommandId.enquire_link, _EMPTY, now)
            if self.state is BindState.CLOSED:
                return events
        idle = now >= self._last_received + self.config.enquire_link_interval
        if self.bound and idle and not self._enquiring:
            self._request(CommandId.enquire_link, _EMPTY, now)
        return events

    def _expire(self, sequence: int, outstanding: _Outstanding) -> list[Event]:
        """One request unanswered in time while the SMSC goes on sending: forget it, not the link."""
        command_id = outstanding.command_id
        if command_id is not CommandId.submit_sm and command_id is not CommandId.enquire_link:
            return [self._fail(command_id, sequence)]  # a bind or unbind: the state cannot move on
        del self._outstanding[sequence]
        if outstanding.ref is None:
            return []  # an enquire_link: the SMSC answers other things, so it is there
        self._submits -= 1
        self._expired[sequence] = outstanding
        if len(self._expired) > _EXPIRED_KEPT:
            del self._expired[next(iter(self._expired))]
        return [SubmitExpired(ref=outstanding.ref, sequence_number=sequence)]

    def _fail(self, command_id: CommandId, sequence: int, detail: str = "") -> LinkFailed:
        self.state = BindState.CLOSED
        timeout = self.config.response_timeout
        reason = f"response timeout: no {command_id.name}_resp within {timeout:g}s (seq {sequence})"
        return LinkFailed(reason=f"{reason} {detail}" if detail else reason)

    @property
    def _enquiring(self) -> bool:
        return self._enquire_sequence in self._outstanding

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        events = self._receive(data, now)
        confirmed = self._acks.take_confirmed()
        if confirmed:
            events.append(AcksConfirmed(tokens=confirmed))
        return events

    def _receive(self, data: bytes, now: float) -> list[Event]:
        self._reader.feed(data)
        events: list[Event] = []
        while True:
            try:
                frame = self._reader.next_frame()
            except FramingError as exc:
                self.state = BindState.CLOSED
                events.append(LinkFailed(reason=f"stream lost its framing: {exc}"))
                return events
            if frame is None:
                return events
            # Only a whole PDU shows the SMSC is there: octets swallowed by a bogus command_length do not.
            self._last_received = now
            try:
                pdu = decode_pdu(frame)
            except RemoteProtocolError as exc:
                events.append(self._nack(exc))
                continue
            events.extend(self._dispatch(pdu, now))

    # --- inside -------------------------------------------------------------------------------

    def _dispatch(self, pdu: Pdu, now: float) -> list[Event]:
        if pdu.command_id.is_response:
            return self._on_response(pdu, now)
        if pdu.command_id not in _ALLOWED.get((_RECV, self.state), frozenset()):
            return self._refuse(pdu)
        return self._handlers[pdu.command_id](pdu, now)

    def _refuse(self, pdu: Pdu) -> list[Event]:
        known = pdu.command_id in self._handlers
        status = Status.ESME_RINVBNDSTS if known else Status.ESME_RINVCMDID
        resp = response_id(pdu.command_id)
        if resp is not None:
            self._respond(resp, pdu.sequence_number, status)
        elif pdu.command_id is not CommandId.alert_notification:
            self._respond(CommandId.generic_nack, pdu.sequence_number, status)
        reason = f"{pdu.command_id.name} refused in state {self.state.value}"
        return [PeerError(reason=reason, command_status=status)]

    def _nack(self, exc: RemoteProtocolError) -> PeerError:
        self._respond(CommandId.generic_nack, exc.sequence_number or 0, exc.command_status)
        return PeerError(reason=str(exc), command_status=exc.command_status)

    def _on_deliver_sm(self, pdu: Pdu, now: float) -> list[Event]:
        assert isinstance(pdu.body, ShortMessage)
        return [DeliverReceived(sequence_number=pdu.sequence_number, message=pdu.body)]

    def _on_enquire_link(self, pdu: Pdu, now: float) -> list[Event]:
        self._respond(CommandId.enquire_link_resp, pdu.sequence_number, Status.ESME_ROK)
        return []

    def _on_unbind(self, pdu: Pdu, now: float) -> list[Event]:
        self._respond(CommandId.unbind_resp, pdu.sequence_number, Status.ESME_ROK)
        self.state = BindState.CLOSED
        return [Unbound(by_peer=True)]

    def _on_response(self, pdu: Pdu, now: float) -> list[Event]:
        outstanding = self._outstanding.pop(pdu.sequence_number, None)
        if outstanding is None:
            late = self._expired.pop(pdu.sequence_number, None)
            if late is not None and pdu.command_id in (CommandId.submit_sm_resp, CommandId.generic_nack):
                assert late.ref is not None
                self._acks.answered(late.position)
                result = self._submit_result(late.ref, pdu, now)
                # A transient refusal asks for the copy that was already queued again when this one expired.
                return [] if isinstance(result, SubmitRejected) and result.transient else [result]
            return [
                PeerError(
                    reason=f"{pdu.command_id.name} for unknown seq {pdu.sequence_number}",
                    command_status=pdu.command_status,
                )
            ]
        self._acks.answered(outstanding.position)
        request = outstanding.command_id
        status = pdu.command_status
        if request is CommandId.submit_sm:
            self._submits -= 1
            assert outstanding.ref is not None
            return [self._submit_result(outstanding.ref, pdu, now)]
        if request in (CommandId.bind_transmitter, CommandId.bind_receiver, CommandId.bind_transceiver):
            if status != Status.ESME_ROK:
                self.state = BindState.OPEN
                return [BindRejected(command_status=status)]
            self.state = _BOUND_STATE[self.config.mode]
            system_id = pdu.body.system_id if isinstance(pdu.body, BindResp) else ""
            return [Bound(system_id=system_id)]
        if request is CommandId.unbind:
            self.state = BindState.CLOSED
            return [Unbound(by_peer=False)]
        return []  # enquire_link_resp: _last_received was already refreshed

    def _submit_result(self, ref: int, pdu: Pdu, now: float) -> Event:
        status = pdu.command_status
        if status == Status.ESME_ROK and pdu.command_id is CommandId.submit_sm_resp:
            self._backoff = 0.0
            message_id = pdu.body.message_id if isinstance(pdu.body, MessageIdResp) else ""
            return SubmitAccepted(ref=ref, message_id=message_id)
        if status in TRANSIENT_STATUSES:
            config = self.config
            self._backoff = min(config.throttle_backoff_max, max(config.throttle_backoff_min, self._backoff * 2))
            self._paused_until = max(self._paused_until, now + self._backoff)
            return SubmitRejected(ref=ref, command_status=status, transient=True)
        if status == Status.ESME_ROK:  # generic_nack with status 0 is itself broken
            status = Status.ESME_RUNKNOWNERR
        return SubmitRejected(ref=ref, command_status=status, transient=False)

    @property
    def _bucket_size(self) -> float:
        return max(1.0, self.config.tps / 10)

    def _refill(self, now: float) -> None:
        elapsed = now - self._refilled_at
        if elapsed > 0:
            self._tokens = min(self._bucket_size, self._tokens + elapsed * self.config.tps)
            self._refilled_at = now

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _request(self, command_id: CommandId, body: Body, now: float, *, ref: int | None = None) -> None:
        if command_id not in _ALLOWED.get((_SEND, self.state), frozenset()):
            raise LocalProtocolError(
                f"{command_id.name} may not be sent in state {self.state.value}",
                command_status=Status.ESME_RINVBNDSTS,
            )
        sequence = self._next_sequence()
        if command_id is CommandId.enquire_link:
            self._enquire_sequence = sequence
        self._out += encode_pdu(Pdu(command_id=command_id, sequence_number=sequence, body=body))
        deadline = now + self.config.response_timeout
        self._outstanding[sequence] = _Outstanding(command_id, now, deadline, self._acks.request_queued(), ref)

    def _respond(self, command_id: CommandId, sequence: int, status: int, body: Body = _EMPTY) -> None:
        self._out += encode_pdu(Pdu(command_id=command_id, sequence_number=sequence, command_status=status, body=body))
