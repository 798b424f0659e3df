"""The simulated SMSC without I/O: bind rules, fault decisions, MT collection and reassembly.

:class:`SmscState` is what all connections share (credentials, faults, counters, the MTs received so far).
:class:`SmscConnection` is one ESME connection: bytes go in through :meth:`SmscConnection.receive_data`,
which returns what the adapter must do (:class:`Send`, :class:`SubmitAnswer`, :class:`Answered`,
:class:`Close`). Requests the simulator originates (deliver_sm, enquire_link) are encoded by
:meth:`SmscConnection.request`, which remembers the sequence number so the response can be matched.
Joining MT parts is in :mod:`gateway.smsc.mts`; building the deliver_sm the simulator sends (MOs,
receipts) is in :mod:`gateway.smsc.messages`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import FramingError, RemoteProtocolError
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
from gateway.smpp.constants import INTERFACE_VERSION, RESPONSE_BIT, CommandId, Status, Tag
from gateway.smsc.mts import Mt, MtCollector

SMSC_SYSTEM_ID = "smsc-sim"
MAX_SEQUENCE = 0x7FFFFFFF


class BindType(enum.Enum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def can_submit(self) -> bool:
        return self is not BindType.RECEIVER

    @property
    def can_receive(self) -> bool:
        return self is not BindType.TRANSMITTER


_BIND_TYPES = {
    CommandId.bind_transmitter: BindType.TRANSMITTER,
    CommandId.bind_receiver: BindType.RECEIVER,
    CommandId.bind_transceiver: BindType.TRANSCEIVER,
}


@dataclass(slots=True, kw_only=True)
class Faults:
    """What the simulator does wrong on purpose. Mutable: a change applies to the next PDU."""

    throttle_every: int = 0
    throttle_status: int = Status.ESME_RTHROTTLED
    reject_status: int = 0
    respond_delay: float = 0.0
    hold_submits: bool = False
    hold_after: int = 0  # from the submit_sm that takes the count past this (if not 0), held as hold_submits
    refuse_binds: int = 0
    refuse_status: int = Status.ESME_RINVPASWD
    swallow_to: str = ""  # submit_sm to this destination_addr are never answered nor taken (counted in swallowed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A bound ESME connection."""

    connection_id: int
    system_id: str
    bind_type: BindType


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    """What a receipt needs to know about an accepted submit_sm."""

    source_addr: str
    destination_addr: str
    submitted_at: float  # wall clock (time.time())


# --- what the adapter must do ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Write these octets now."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitAnswer:
    """Write this submit_sm_resp after ``delay`` seconds, in order with the earlier answers; then, if
    ``receipt_for`` is set, send a delivery receipt for that message id."""

    data: bytes
    delay: float
    receipt_for: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    """The ESME answered the request we sent with ``sequence_number``."""

    sequence_number: int
    command_status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Close:
    """Close the connection once what was written before has gone out."""


Output = Send | SubmitAnswer | Answered | Close


# --- state shared by all connections -----------------------------------------------------------


class SmscState:
    """Credentials, faults, counters and the MTs received, shared by every connection."""

    def __init__(
        self,
        *,
        system_id: str,
        password: str,
        message_id_format: str = "hex",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if message_id_format not in ("hex", "decimal"):
            raise ValueError(f"message_id_format must be 'hex' or 'decimal', not {message_id_format!r}")
        self.system_id = system_id
        self.password = password
        self.message_id_format = message_id_format
        self.faults = Faults()
        self.auto_receipts = False
        self.collector = MtCollector(clock=clock)
        self.mts: list[Mt] = self.collector.mts
        self.submitted: dict[str, Submitted] = {}
        self.submits = 0
        self.swallowed = 0
        self.bind_attempts = 0
        self.binds = 0
        self.received_unbinds = 0
        self.generic_nacks_received = 0
        self.unexpected_responses = 0
        self.wall_clock = wall_clock
        self._last_message_id = 0
        self._last_reference = 0

    def next_reference(self) -> int:
        """A concatenation reference for the next MO (1..65535, then again)."""
        self._last_reference = self._last_reference % 0xFFFF + 1
        return self._last_reference

    def decide_bind(self, bind: Bind, *, already_bound: bool) -> int:
        """The command_status for a bind request (ESME_ROK to accept it)."""
        self.bind_attempts += 1
        faults = self.faults
        if already_bound:
            return Status.ESME_RALYBND
        if faults.refuse_binds:
            if faults.refuse_binds > 0:
                faults.refuse_binds -= 1
            return faults.refuse_status
        if bind.system_id != self.system_id:
            return Status.ESME_RINVSYSID
        if bind.password != self.password:
            return Status.ESME_RINVPASWD
        self.binds += 1
        return Status.ESME_ROK

    def decide_submit(self, message: ShortMessage, *, may_submit: bool) -> tuple[int, str] | None:
        """``(command_status, message_id)`` for a submit_sm, or None when it is held unanswered.

        An accepted message gets a fresh id and is added to the MTs (joined with its other parts).
        """
        self.submits += 1
        faults = self.faults
        if not may_submit:
            return Status.ESME_RINVBNDSTS, ""
        if faults.hold_submits or (faults.hold_after and self.submits > faults.hold_after):
            return None
        if faults.swallow_to and message.destination_addr == faults.swallow_to:
            self.swallowed += 1
            return None
        if faults.reject_status:
            return faults.reject_status, ""
        if faults.throttle_every > 0 and self.submits % faults.throttle_every == 0:
            return faults.throttle_status, ""
        message_id = self._next_message_id()
        self.submitted[message_id] = Submitted(
            source_addr=message.source_addr,
            destination_addr=message.destination_addr,
            submitted_at=self.wall_clock(),
        )
        self.collector.add(message_id, message)
        return Status.ESME_ROK, message_id

    def _next_message_id(self) -> str:
        self._last_message_id += 1
        if self.message_id_format == "hex":
            return format(self._last_message_id, "x")
        return str(self._last_message_id)


# --- one connection ----------------------------------------------------------------------------


class SmscConnection:
    """The SMSC side of one ESME connection: bytes in, actions out."""

    def __init__(self, state: SmscState, connection_id: int) -> None:
        self.connection_id = connection_id
        self.session: Session | None = None
        self.closed = False
        self._state = state
        self._reader = PduReader()
        self._last_sequence = 0
        self._outstanding: dict[int, CommandId] = {}  # our sequence_number → expected response

    def request(self, command_id: CommandId, body: Body | None = None) -> tuple[int, bytes]:
        """Encode a request of ours with a fresh sequence number; its answer comes back as Answered."""
        self._last_sequence = self._last_sequence % MAX_SEQUENCE + 1
        sequence = self._last_sequence
        expected = response_id(command_id)
        if expected is not None:
            self._outstanding[sequence] = expected
        return sequence, encode_pdu(Pdu(command_id=command_id, sequence_number=sequence, body=body or Empty()))

    def forget(self, sequence_number: int) -> None:
        """Stop waiting for the answer to one of our requests (it timed out)."""
        self._outstanding.pop(sequence_number, None)

    def receive_data(self, data: bytes) -> list[Output]:
        self._reader.feed(data)
        outputs: list[Output] = []
        while not self.closed:
            try:
                frame = self._reader.next_frame()
            except FramingError:
                self.closed = True
                outputs.append(Close())
                break
            if frame is None:
                break
            outputs.extend(self._receive_frame(frame))
        return outputs

    def _receive_frame(self, frame: bytes) -> list[Output]:
        try:
            pdu = decode_pdu(frame)
        except RemoteProtocolError as exc:
            return [self._respond(CommandId.generic_nack, exc.sequence_number or 0, exc.command_status)]
        if pdu.command_id.is_response:
            return self._on_response(pdu)
        handler = _HANDLERS.get(pdu.command_id)
        if handler is None:
            return [self._respond(CommandId.generic_nack, pdu.sequence_number, Status.ESME_RINVCMDID)]
        return handler(self, pdu)

    def _respond(self, command_id: CommandId, sequence_number: int, status: int = 0, body: Body | None = None) -> Send:
        pdu = Pdu(
            command_id=command_id,
            sequence_number=sequence_number,
            command_status=status,
            body=body or Empty(),
        )
        return Send(data=encode_pdu(pdu))

    def _on_bind(self, pdu: Pdu) -> list[Output]:
        assert isinstance(pdu.body, Bind)
        resp_id = CommandId(pdu.command_id | RESPONSE_BIT)
        status = self._state.decide_bind(pdu.body, already_bound=self.session is not None)
        if status != Status.ESME_ROK:
            return [self._respond(resp_id, pdu.sequence_number, status)]
        self.session = Session(
            connection_id=self.connection_id,
            system_id=pdu.body.system_id,
            bind_type=_BIND_TYPES[pdu.command_id],
        )
        body = BindResp(system_id=SMSC_SYSTEM_ID, tlvs=((Tag.sc_interface_version, bytes([INTERFACE_VERSION])),))
        return [self._respond(resp_id, pdu.sequence_number, body=body)]

    def _on_submit(self, pdu: Pdu) -> list[Output]:
        assert isinstance(pdu.body, ShortMessage)
        may_submit = self.session is not None and self.session.bind_type.can_submit
        decision = self._state.decide_submit(pdu.body, may_submit=may_submit)
        if decision is None:
            return []
        status, message_id = decision
        resp = Pdu(
            command_id=CommandId.submit_sm_resp,
            sequence_number=pdu.sequence_number,
            command_status=status,
            body=MessageIdResp(message_id=message_id),
        )
        wants_receipt = status == Status.ESME_ROK and self._state.auto_receipts and pdu.body.registered_delivery & 1
        return [
            SubmitAnswer(
                data=encode_pdu(resp),
                delay=self._state.faults.respond_delay,
                receipt_for=message_id if wants_receipt else None,
            )
        ]

    def _on_enquire_link(self, pdu: Pdu) -> list[Output]:
        return [self._respond(CommandId.enquire_link_resp, pdu.sequence_number)]

    def _on_unbind(self, pdu: Pdu) -> list[Output]:
        self._state.received_unbinds += 1
        self.session = None
        self.closed = True
        return [self._respond(CommandId.unbind_resp, pdu.sequence_number), Close()]

    def _on_response(self, pdu: Pdu) -> list[Output]:
        if pdu.command_id == CommandId.generic_nack:
            self._state.generic_nacks_received += 1
        expected = self._outstanding.get(pdu.sequence_number)
        if expected is None or pdu.command_id not in (expected, CommandId.generic_nack):
            self._state.unexpected_responses += 1
            return []
        del self._outstanding[pdu.sequence_number]
        return [Answered(sequence_number=pdu.sequence_number, command_status=pdu.command_status)]


_HANDLERS: dict[CommandId, Callable[[SmscConnection, Pdu], list[Output]]] = {
    CommandId.bind_transmitter: SmscConnection._on_bind,
    CommandId.bind_receiver: SmscConnection._on_bind,
    CommandId.bind_transceiver: SmscConnection._on_bind,
    CommandId.submit_sm: SmscConnection._on_submit,
    CommandId.enquire_link: SmscConnection._on_enquire_link,
    CommandId.unbind: SmscConnection._on_unbind,
}
"""The requests an ESME may send; any other request is answered with generic_nack ESME_RINVCMDID."""
