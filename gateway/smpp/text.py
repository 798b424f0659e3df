"""Text ↔ short_message octets: choosing GSM 03.38 or UCS2, splitting long texts, reading MOs.

Outgoing: a text that GSM 03.38 can carry goes as data_coding 0 (unpacked septets, one per octet, as
SMPP carries them); anything else (Chinese) as UCS2. A text longer than one message is cut into
concatenated parts, never between the two septets of a GSM escape nor between the two halves of a UTF-16
surrogate pair (smpplib's ``make_parts`` does both). The concatenation header is an 8-bit or 16-bit
reference UDH, or SAR TLVs.

Incoming: :func:`read_short_message` decodes the octets (``message_payload`` when present) and reports
the concatenation header (UDH or SAR) so the caller can store the part; parts are joined as raw octets
by :func:`join_parts` before decoding, so a sender that split a surrogate pair is still read right.
"""

from __future__ import annotations

import codecs
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from gateway.errors import MessageTooLong
from gateway.smpp.codec import ShortMessage, find_tlv, u8_tlv, u16_tlv
from gateway.smpp.constants import DataCoding, EsmClass, Tag
from gateway.smpp.layout import Tlvs

GSM_CODEC = "gsm03.38"
GSM_HIGHEST = "\u20ac"  # the euro sign: no character above it is in GSM 03.38 (a test checks)
codecs.lookup(GSM_CODEC)

GSM_SINGLE = 160
UCS2_SINGLE_UNITS = 70
MAX_PARTS = 255


class Concat(enum.Enum):
    """How the parts of a long MT are tied together."""

    UDH8 = "udh8"
    UDH16 = "udh16"
    SAR = "sar"


# UDH sizes: UDHL + IEI + IEDL + ref (1 or 2) + total + seqno.
_UDH_SIZE = {Concat.UDH8: 6, Concat.UDH16: 7, Concat.SAR: 0}
# Room per part: 140 octets minus the UDH (SAR parts keep the same room, since the SMSC adds a UDH).
_GSM_PART = {Concat.UDH8: 153, Concat.UDH16: 152, Concat.SAR: 153}
_UCS2_PART_UNITS = {Concat.UDH8: 67, Concat.UDH16: 66, Concat.SAR: 67}


@dataclass(frozen=True, slots=True, kw_only=True)
class OutPart:
    """One submit_sm's worth of a text: the fields of ShortMessage that depend on the text."""

    data_coding: int
    esm_class: int
    short_message: bytes
    tlvs: Tlvs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcatInfo:
    reference: int
    total: int
    seqno: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InPart:
    """What an MO's short_message carries once the concatenation header is taken off."""

    data_coding: int
    payload: bytes
    concat: ConcatInfo | None


def gsm_encode(text: str) -> bytes | None:
    """GSM 03.38 unpacked septets, or None when the text has characters GSM cannot carry."""
    if "\x1b" in text:
        return None  # the codec maps U+001B to a bare escape septet, which swallows the next character
    if text and max(text) > GSM_HIGHEST:
        return None  # Chinese, say: known at once, without the codec's walk up to the first such character
    try:
        return text.encode(GSM_CODEC)
    except UnicodeError:
        return None


def split_text(text: str, *, reference: int, concat: Concat = Concat.UDH8) -> list[OutPart]:
    """Cut ``text`` into as few parts as fit; ``reference`` ties the parts together on the handset.

    The reference must be the same every time the same message is sent, so a part resent after a
    reconnect still joins the others: derive it from the outbox id.
    """
    septets = gsm_encode(text)
    if septets is not None:
        if len(septets) <= GSM_SINGLE:
            return [OutPart(data_coding=DataCoding.SMSC_DEFAULT, esm_class=0, short_message=septets)]
        chunks = _split_gsm(text, _GSM_PART[concat])
        coding = DataCoding.SMSC_DEFAULT
    else:
        units = text.encode("utf-16-be")
        if len(units) <= UCS2_SINGLE_UNITS * 2:
            return [OutPart(data_coding=DataCoding.UCS2, esm_class=0, short_message=units)]
        chunks = _split_ucs2(units, _UCS2_PART_UNITS[concat])
        coding = DataCoding.UCS2
    if len(chunks) > MAX_PARTS:
        raise MessageTooLong(f"text needs {len(chunks)} parts, at most {MAX_PARTS} are possible")
    total = len(chunks)
    return [_with_concat(chunk, coding, concat, reference, total, seqno) for seqno, chunk in enumerate(chunks, 1)]


def _with_concat(chunk: bytes, coding: int, concat: Concat, reference: int, total: int, seqno: int) -> OutPart:
    if concat is Concat.SAR:
        tlvs = (
            u16_tlv(Tag.sar_msg_ref_num, reference & 0xFFFF),
            u8_tlv(Tag.sar_total_segments, total),
            u8_tlv(Tag.sar_segment_seqnum, seqno),
        )
        return OutPart(data_coding=coding, esm_class=0, short_message=chunk, tlvs=tlvs)
    if concat is Concat.UDH16:
        udh = bytes([6, 0x08, 4]) + (reference & 0xFFFF).to_bytes(2, "big") + bytes([total, seqno])
    else:
        udh = bytes([5, 0x00, 3, reference & 0xFF, total, seqno])
    return OutPart(data_coding=coding, esm_class=EsmClass.UDHI, short_message=udh + chunk)


def _split_gsm(text: str, room: int) -> list[bytes]:
    """Septet chunks of at most ``room``, cutting only between characters (an escape stays whole)."""
    chunks: list[bytes] = []
    current = bytearray()
    for char in text:
        encoded = char.encode(GSM_CODEC)
        if len(current) + len(encoded) > room:
            chunks.append(bytes(current))
            current = bytearray()
        current += encoded
    if current:
        chunks.append(bytes(current))
    return chunks


def _split_ucs2(units: bytes, room_units: int) -> list[bytes]:
    """UTF-16-BE chunks of at most ``room_units`` code units, never ending on a high surrogate."""
    chunks: list[bytes] = []
    pos = 0
    room = room_units * 2
    while pos < len(units):
        end = min(pos + room, len(units))
        if end < len(units) and 0xD8 <= units[end - 2] <= 0xDB:
            end -= 2  # the pair's low half would start the next part: keep the pair together
        chunks.append(units[pos:end])
        pos = end
    return chunks


# --- incoming ---------------------------------------------------------------------------------


def read_short_message(message: ShortMessage) -> InPart:
    """The payload octets and concatenation header of an MO (deliver_sm) or an MT (submit_sm)."""
    esm_class, tlvs = message.esm_class, message.tlvs
    short_message = message.short_message
    payload = short_message or find_tlv(tlvs, Tag.message_payload) or b""
    concat: ConcatInfo | None = None
    if esm_class & EsmClass.UDHI and payload:
        concat, payload = _strip_udh(payload)
    if concat is None:
        concat = _sar(tlvs)
    return InPart(data_coding=message.data_coding, payload=payload, concat=concat)


def _strip_udh(payload: bytes) -> tuple[ConcatInfo | None, bytes]:
    udhl = payload[0]
    header, rest = payload[1 : 1 + udhl], payload[1 + udhl :]
    concat: ConcatInfo | None = None
    pos = 0
    while pos + 2 <= len(header):
        iei, iedl = header[pos], header[pos + 1]
        ie = header[pos + 2 : pos + 2 + iedl]
        if iei == 0x00 and iedl == 3 and len(ie) == 3:
            concat = ConcatInfo(reference=ie[0], total=ie[1], seqno=ie[2])
        elif iei == 0x08 and iedl == 4 and len(ie) == 4:
            concat = ConcatInfo(reference=int.from_bytes(ie[:2], "big"), total=ie[2], seqno=ie[3])
        pos += 2 + iedl
    return concat, rest


def _sar(tlvs: Tlvs) -> ConcatInfo | None:
    ref = find_tlv(tlvs, Tag.sar_msg_ref_num)
    total = find_tlv(tlvs, Tag.sar_total_segments)
    seqno = find_tlv(tlvs, Tag.sar_segment_seqnum)
    if ref is None or not total or not seqno:
        return None
    return ConcatInfo(reference=int.from_bytes(ref, "big"), total=total[0], seqno=seqno[0])


def decode_payload(data_coding: int, payload: bytes) -> str:
    """Octets → text by data_coding. Never raises: undecodable octets become U+FFFD."""
    coding = data_coding & 0xFF
    if coding == DataCoding.UCS2:
        if len(payload) % 2:
            payload = payload[:-1]
        return payload.decode("utf-16-be", errors="replace")
    if coding == DataCoding.SMSC_DEFAULT:
        return payload.decode(GSM_CODEC, errors="replace")
    if coding == DataCoding.IA5:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")


def join_parts(parts: Iterable[tuple[int, bytes]], total: int) -> tuple[bytes, list[int]]:
    """Join ``(seqno, payload)`` pairs in order; also return the seqnos that are missing."""
    by_seqno = dict(parts)
    missing = [n for n in range(1, total + 1) if n not in by_seqno]
    return b"".join(by_seqno[n] for n in sorted(by_seqno)), missing


def describe_parts(parts: Sequence[OutPart]) -> str:
    """'3 parts, UCS2' for logs."""
    coding = "UCS2" if parts and parts[0].data_coding == DataCoding.UCS2 else "GSM"
    return f"{len(parts)} part{'s' if len(parts) != 1 else ''}, {coding}"
