"""Bytes ↔ PDU objects, with no I/O and no global state.

Each PDU body is a frozen dataclass whose field order *is* the wire order (SMPP 3.4 §4), so the field
list is written once. A field's wire type comes from its metadata: ``cstr(n)`` is a C-Octet String of at
most ``n`` octets including the NUL, ``u8`` a 1-octet integer, ``SM`` the ``sm_length`` + ``short_message``
pair, ``TLVS`` the optional parameters, kept raw as ``(tag, value)`` pairs in arrival order.

Why not smpplib's PDU objects: they need a client object as sequence source (``make_pdu`` ignores
``sequence=``), take str and give bytes inconsistently, and raise ``KeyError`` on a ``deliver_sm`` that
carries ``ussd_service_op`` (smpplib issue 104). We take smpplib's tables (command ids, status names)
and keep the encoding here, where a test checks our bytes against smpplib's for the same PDU.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Final

from gateway.errors import FramingError, RemoteProtocolError
from gateway.smpp.constants import INTERFACE_VERSION, RESPONSE_BIT, CommandId, Status, Tag
from gateway.smpp.layout import Decoder, Encoder, Tlvs, compile_layout

HEADER = struct.Struct(">IIII")
HEADER_SIZE: Final = 16
MAX_PDU_SIZE: Final = 65536
"""Larger command_length values are treated as a broken stream (SMPP sets no limit; SMSCs use ~64 KB)."""


def cstr(max_octets: int) -> Any:
    return field(default="", metadata={"kind": "cstr", "max": max_octets})


def u8(default: int = 0) -> Any:
    return field(default=default, metadata={"kind": "u8"})


def _sm() -> Any:
    return field(default=b"", metadata={"kind": "sm"})


def _tlvs() -> Any:
    return field(default=(), metadata={"kind": "tlvs"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Empty:
    """Body of header-only PDUs (enquire_link, unbind, generic_nack and their responses)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind:
    """Body of bind_transmitter, bind_receiver and bind_transceiver (§4.1)."""

    system_id: str = cstr(16)
    password: str = cstr(9)
    system_type: str = cstr(13)
    interface_version: int = u8(INTERFACE_VERSION)
    addr_ton: int = u8()
    addr_npi: int = u8()
    address_range: str = cstr(41)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp:
    """Body of the three bind responses (§4.1.2)."""

    system_id: str = cstr(16)
    tlvs: Tlvs = _tlvs()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage:
    """Body of submit_sm (§4.4.1) and deliver_sm (§4.6.1), which share one layout."""

    service_type: str = cstr(6)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstr(21)
    dest_addr_ton: int = u8()
    dest_addr_npi: int = u8()
    destination_addr: str = cstr(21)
    esm_class: int = u8()
    protocol_id: int = u8()
    priority_flag: int = u8()
    schedule_delivery_time: str = cstr(17)
    validity_period: str = cstr(17)
    registered_delivery: int = u8()
    replace_if_present_flag: int = u8()
    data_coding: int = u8()
    sm_default_msg_id: int = u8()
    short_message: bytes = _sm()
    tlvs: Tlvs = _tlvs()

    def tlv(self, tag: int) -> bytes | None:
        return find_tlv(self.tlvs, tag)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp:
    """Body of submit_sm_resp and deliver_sm_resp (§4.4.2, §4.6.2)."""

    message_id: str = cstr(65)


@dataclass(frozen=True, slots=True, kw_only=True)
class Opaque:
    """Body of a PDU we recognise but do not support (data_sm, query_sm, ...): kept as raw octets."""

    raw: bytes = b""


Body = Empty | Bind | BindResp | ShortMessage | MessageIdResp | Opaque


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    command_id: CommandId
    sequence_number: int
    command_status: int = 0
    body: Body = Empty()


_BODY_TYPES: Final[dict[CommandId, type[Body]]] = {
    CommandId.bind_transmitter: Bind,
    CommandId.bind_receiver: Bind,
    CommandId.bind_transceiver: Bind,
    CommandId.bind_transmitter_resp: BindResp,
    CommandId.bind_receiver_resp: BindResp,
    CommandId.bind_transceiver_resp: BindResp,
    CommandId.submit_sm: ShortMessage,
    CommandId.deliver_sm: ShortMessage,
    CommandId.submit_sm_resp: MessageIdResp,
    CommandId.deliver_sm_resp: MessageIdResp,
    CommandId.generic_nack: Empty,
    CommandId.unbind: Empty,
    CommandId.unbind_resp: Empty,
    CommandId.enquire_link: Empty,
    CommandId.enquire_link_resp: Empty,
}


_LAYOUTS: Final[dict[type[Body], tuple[Encoder, Decoder]]] = {t: compile_layout(t) for t in set(_BODY_TYPES.values())}


def find_tlv(tlvs: Tlvs, tag: int) -> bytes | None:
    """The value of the first TLV with ``tag``, or None when the PDU does not carry it."""
    for t, value in tlvs:
        if t == tag:
            return value
    return None


def response_id(command_id: CommandId) -> CommandId | None:
    """The response command for a request (``submit_sm`` → ``submit_sm_resp``), if it has one."""
    try:
        return CommandId(command_id | RESPONSE_BIT)
    except ValueError:
        return None


# --- encoding ---------------------------------------------------------------------------------


def encode_pdu(pdu: Pdu) -> bytes:
    """The wire octets of ``pdu``. Raises LocalProtocolError for values that do not fit their field."""
    body = _encode_body(pdu.body)
    return HEADER.pack(HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number) + body


def _encode_body(body: Body) -> bytes:
    if isinstance(body, Opaque):
        return body.raw
    return _LAYOUTS[type(body)][0](body)


# --- decoding ---------------------------------------------------------------------------------


def decode_pdu(frame: bytes) -> Pdu:
    """One complete PDU (header included) → Pdu.

    Raises RemoteProtocolError carrying the status to answer with (ESME_RINVCMDID for an unknown
    command, ESME_RINVCMDLEN / ESME_RINVMSGLEN for a body that does not match its fields) and the
    sequence number, so the caller can send a generic_nack and keep the link.
    """
    if len(frame) < HEADER_SIZE:
        raise FramingError(
            f"PDU of {len(frame)} octets is shorter than a header", command_status=Status.ESME_RINVCMDLEN
        )
    length, raw_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise RemoteProtocolError(
            f"command_length {length} but {len(frame)} octets",
            command_status=Status.ESME_RINVCMDLEN,
            sequence_number=sequence,
        )
    try:
        command_id = CommandId(raw_id)
    except ValueError:
        raise RemoteProtocolError(
            f"unknown command_id 0x{raw_id:08X}",
            command_status=Status.ESME_RINVCMDID,
            sequence_number=sequence,
        ) from None
    body_type = _BODY_TYPES.get(command_id, Opaque)
    raw_body = frame[HEADER_SIZE:]
    if body_type is Opaque:
        return Pdu(command_id=command_id, sequence_number=sequence, command_status=status, body=Opaque(raw=raw_body))
    if not raw_body and command_id.is_response:
        # §3.3: a response with a non-zero status may come without a body; so do some SMSCs' OK ones.
        return Pdu(command_id=command_id, sequence_number=sequence, command_status=status, body=body_type())
    try:
        body = _decode_body(body_type, raw_body)
    except (IndexError, ValueError, struct.error) as exc:
        raise RemoteProtocolError(
            f"{command_id.name} body does not decode: {exc}",
            command_status=Status.ESME_RINVMSGLEN,
            sequence_number=sequence,
        ) from None
    return Pdu(command_id=command_id, sequence_number=sequence, command_status=status, body=body)


def _decode_body(body_type: type[Body], data: bytes) -> Body:
    return _LAYOUTS[body_type][1](data)  # type: ignore[no-any-return]


class PduReader:
    """Splits a byte stream into complete PDU frames.

    A command_length outside [16, MAX_PDU_SIZE] means the stream has lost its framing; nothing after
    it can be trusted, so :class:`FramingError` is raised and the link must be reset.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_frame(self) -> bytes | None:
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        length = int.from_bytes(buffer[:4], "big")
        if length < HEADER_SIZE or length > MAX_PDU_SIZE:
            raise FramingError(f"command_length {length} is impossible", command_status=Status.ESME_RINVCMDLEN)
        if len(buffer) < length:
            return None
        frame = bytes(buffer[:length])
        del buffer[:length]
        return frame

    @property
    def buffered(self) -> int:
        return len(self._buffer)


def u8_tlv(tag: Tag, value: int) -> tuple[int, bytes]:
    return (tag, bytes([value]))


def u16_tlv(tag: Tag, value: int) -> tuple[int, bytes]:
    return (tag, value.to_bytes(2, "big"))
