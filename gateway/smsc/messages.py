"""deliver_sm bodies the simulator sends: MOs (whole, split into parts, or in message_payload) and
delivery receipts. No I/O; the clock comes in as arguments.
"""

from __future__ import annotations

import time

from gateway.smpp.codec import ShortMessage, u8_tlv, u16_tlv
from gateway.smpp.constants import DataCoding, EsmClass, Tag
from gateway.smpp.layout import Tlvs
from gateway.smpp.text import GSM_CODEC, Concat, OutPart, gsm_encode, split_text

PAYLOAD = "payload"
"""``concat`` value that sends the whole text in one deliver_sm's message_payload TLV."""

MESSAGE_STATES = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}
"""Receipt ``stat:`` words → message_state TLV values (SMPP 3.4 §5.2.28)."""

_FORCED_CODECS = {
    DataCoding.SMSC_DEFAULT: GSM_CODEC,
    DataCoding.IA5: "ascii",
    DataCoding.LATIN1: "latin-1",
    DataCoding.UCS2: "utf-16-be",
}
_SINGLE_OCTETS = 140
_SINGLE_GSM = 160


def mo_parts(
    *,
    source_addr: str,
    destination_addr: str,
    text: str,
    concat: str,
    reference: int,
    data_coding: int | None = None,
) -> list[ShortMessage]:
    """The deliver_sm bodies that carry ``text``, in part order.

    Without ``data_coding`` the text goes as GSM 03.38 when it can, else UCS2 (split by
    :func:`gateway.smpp.text.split_text`). With it, the text is encoded as that data_coding says
    (0, 1, 3 or 8) and cut into equal chunks of octets, as a careless sender would.
    """
    if concat == PAYLOAD:
        coding, payload = _encode(text, data_coding)
        part = OutPart(data_coding=coding, esm_class=0, short_message=b"", tlvs=((Tag.message_payload, payload),))
        out = [part]
    else:
        try:
            how = Concat(concat)
        except ValueError:
            raise ValueError(f"concat must be udh8, udh16, sar or payload, not {concat!r}") from None
        if data_coding is None:
            out = split_text(text, reference=reference, concat=how)
        else:
            out = _split_forced(text, data_coding, how, reference)
    return [
        ShortMessage(
            source_addr=source_addr,
            destination_addr=destination_addr,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            short_message=part.short_message,
            tlvs=part.tlvs,
        )
        for part in out
    ]


def _encode(text: str, data_coding: int | None) -> tuple[int, bytes]:
    if data_coding is None:
        septets = gsm_encode(text)
        if septets is not None:
            return DataCoding.SMSC_DEFAULT, septets
        return DataCoding.UCS2, text.encode("utf-16-be")
    codec = _FORCED_CODECS.get(data_coding)
    if codec is None:
        raise ValueError(f"data_coding {data_coding} is not one of {sorted(_FORCED_CODECS)}")
    try:
        return data_coding, text.encode(codec)
    except UnicodeError:
        raise ValueError(f"the text cannot be encoded with data_coding {data_coding}") from None


def _split_forced(text: str, data_coding: int, concat: Concat, reference: int) -> list[OutPart]:
    coding, payload = _encode(text, data_coding)
    gsm = coding == DataCoding.SMSC_DEFAULT
    if len(payload) <= (_SINGLE_GSM if gsm else _SINGLE_OCTETS):
        return [OutPart(data_coding=coding, esm_class=0, short_message=payload)]
    room = (153 if gsm else 134) - (1 if concat is Concat.UDH16 else 0)
    if coding == DataCoding.UCS2:
        room -= room % 2
    chunks = [payload[pos : pos + room] for pos in range(0, len(payload), room)]
    if len(chunks) > 255:
        raise ValueError(f"the text needs {len(chunks)} parts, at most 255 are possible")
    total = len(chunks)
    return [_concat_part(chunk, coding, concat, reference, total, n) for n, chunk in enumerate(chunks, 1)]


def _concat_part(chunk: bytes, coding: int, concat: Concat, reference: int, total: int, seqno: int) -> OutPart:
    """One part with its concatenation header, written independently of the gateway's own splitter."""
    if concat is Concat.SAR:
        tlvs: Tlvs = (
            u16_tlv(Tag.sar_msg_ref_num, reference & 0xFFFF),
            u8_tlv(Tag.sar_total_segments, total),
            u8_tlv(Tag.sar_segment_seqnum, seqno),
        )
        return OutPart(data_coding=coding, esm_class=0, short_message=chunk, tlvs=tlvs)
    if concat is Concat.UDH16:
        header = bytes([6, 0x08, 4, (reference >> 8) & 0xFF, reference & 0xFF, total, seqno])
    else:
        header = bytes([5, 0x00, 3, reference & 0xFF, total, seqno])
    return OutPart(data_coding=coding, esm_class=EsmClass.UDHI, short_message=header + chunk)


def convert_message_id(message_id: str, *, from_format: str, to_format: str) -> str:
    """A message id written in another base: ``'1f'`` hex → ``'31'`` decimal, and back."""
    formats = ("hex", "decimal")
    if from_format not in formats or to_format not in formats:
        raise ValueError(f"id formats are 'hex' or 'decimal', not {from_format!r} / {to_format!r}")
    if from_format == to_format:
        return message_id
    try:
        value = int(message_id, 16 if from_format == "hex" else 10)
    except ValueError:
        raise ValueError(f"message_id {message_id!r} is not {from_format}") from None
    return format(value, "x") if to_format == "hex" else str(value)


def receipt(
    *,
    message_id: str,
    stat: str,
    source_addr: str,
    destination_addr: str,
    submitted_at: float,
    done_at: float,
    use_tlv: bool = True,
) -> ShortMessage:
    """A delivery receipt deliver_sm (esm_class 0x04) for ``message_id``, already in the wanted format.

    ``source_addr``/``destination_addr`` are the receipt's own (the MT's destination and source);
    ``submitted_at``/``done_at`` are wall-clock seconds, shown as local YYMMDDhhmm.
    """
    state = MESSAGE_STATES.get(stat)
    if state is None:
        raise ValueError(f"stat must be one of {sorted(MESSAGE_STATES)}, not {stat!r}")
    delivered = "001" if stat == "DELIVRD" else "000"
    text = (
        f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{_receipt_date(submitted_at)}"
        f" done date:{_receipt_date(done_at)} stat:{stat} err:000 text:"
    )
    tlvs: Tlvs = ()
    if use_tlv:
        tlvs = (
            (Tag.receipted_message_id, message_id.encode("latin-1") + b"\0"),
            u8_tlv(Tag.message_state, state),
        )
    return ShortMessage(
        source_addr=source_addr,
        destination_addr=destination_addr,
        esm_class=EsmClass.DELIVERY_RECEIPT,
        data_coding=DataCoding.SMSC_DEFAULT,
        short_message=text.encode("ascii"),
        tlvs=tlvs,
    )


def _receipt_date(seconds: float) -> str:
    return time.strftime("%y%m%d%H%M", time.localtime(seconds))
