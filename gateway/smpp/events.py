"""What an :class:`~gateway.smpp.session.EsmeSession` tells its caller: the events of
:meth:`~gateway.smpp.session.EsmeSession.receive_data` and :meth:`~gateway.smpp.session.EsmeSession.timer`,
and what :meth:`~gateway.smpp.session.EsmeSession.connection_lost` leaves behind."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import status_name


@dataclass(frozen=True, slots=True, kw_only=True)
class Bound:
    system_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BindRejected:
    command_status: int

    @property
    def status_name(self) -> str:
        return status_name(self.command_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverReceived:
    """A deliver_sm. It stays unanswered until the caller calls :meth:`EsmeSession.answer_deliver`."""

    sequence_number: int
    message: ShortMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitAccepted:
    ref: int
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitRejected:
    """``transient``: the SMSC asked us to slow down; send the same PDU again later."""

    ref: int
    command_status: int
    transient: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitExpired:
    """No response to this submit_sm within ``response_timeout``, though the SMSC is there: it is out of
    the window. A response that still comes for it is taken as the part's answer (SubmitAccepted or a
    final SubmitRejected)."""

    ref: int
    sequence_number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AcksConfirmed:
    """The SMSC answered a request of ours written after these acknowledgements: it has read them. At most
    one per :meth:`EsmeSession.receive_data`, after its other events; tokens in the order they were written."""

    tokens: tuple[object, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbound:
    by_peer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkFailed:
    """The connection cannot go on (lost framing, no response in time): close it and reconnect."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerError:
    """The SMSC sent a PDU we could not accept; it was answered with generic_nack (or a _resp)."""

    reason: str
    command_status: int


Event = (
    Bound
    | BindRejected
    | DeliverReceived
    | SubmitAccepted
    | SubmitRejected
    | SubmitExpired
    | AcksConfirmed
    | Unbound
    | LinkFailed
    | PeerError
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionLost:
    """What :meth:`EsmeSession.connection_lost` leaves to the caller."""

    unanswered: tuple[int, ...]  # refs of the submit_sm never answered, in order
    acks_uncertain: tuple[object, ...]  # tokens of acks written but not confirmed: perhaps delivered again
    acks_unsent: tuple[object, ...]  # tokens of acks never taken by data_to_send: surely delivered again
