"""gateway.smpp.text: choosing the coding, splitting into parts, reading MOs back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import MessageTooLong
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, EsmClass, Tag
from gateway.smpp.text import (
    GSM_CODEC,
    GSM_HIGHEST,
    Concat,
    ConcatInfo,
    InPart,
    OutPart,
    decode_payload,
    describe_parts,
    gsm_encode,
    join_parts,
    read_short_message,
    split_text,
)

GSM = DataCoding.SMSC_DEFAULT
UCS2 = DataCoding.UCS2
UDHI = EsmClass.UDHI


def udh8(reference: int, total: int, seqno: int) -> bytes:
    return bytes([0x05, 0x00, 0x03, reference, total, seqno])


def udh16(reference: int, total: int, seqno: int) -> bytes:
    return bytes([0x06, 0x08, 0x04, reference >> 8, reference & 0xFF, total, seqno])


def sar(reference: int, total: int, seqno: int) -> tuple[tuple[int, bytes], ...]:
    return (
        (Tag.sar_msg_ref_num, reference.to_bytes(2, "big")),
        (Tag.sar_total_segments, bytes([total])),
        (Tag.sar_segment_seqnum, bytes([seqno])),
    )


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")


def reassemble(parts: list[OutPart]) -> str:
    """What the handset (or our own MO path) makes of the parts: read each, join, decode."""
    read = [
        read_short_message(
            ShortMessage(esm_class=p.esm_class, data_coding=p.data_coding, short_message=p.short_message, tlvs=p.tlvs)
        )
        for p in parts
    ]
    if len(read) == 1 and read[0].concat is None:
        return decode_payload(read[0].data_coding, read[0].payload)
    infos = [r.concat for r in read]
    assert all(info is not None for info in infos)
    total = {info.total for info in infos if info is not None}
    references = {info.reference for info in infos if info is not None}
    assert len(total) == 1
    assert len(references) == 1
    joined, missing = join_parts(
        [(info.seqno, r.payload) for info, r in zip(infos, read, strict=True) if info is not None],
        total.pop(),
    )
    assert missing == []
    return decode_payload(read[0].data_coding, joined)


def payload_of(part: OutPart) -> bytes:
    """short_message without its UDH."""
    if part.esm_class & UDHI:
        return part.short_message[1 + part.short_message[0] :]
    return part.short_message


def octets_on_air(part: OutPart) -> int:
    """Size of the part's TP-UD once the SMSC has packed it (GSM septets are 7 bits on the air).

    SAR parts carry no UDH in short_message; the SMSC adds a 6-octet one (8-bit reference), as
    text.py assumes.
    """
    if part.esm_class & UDHI:
        udh = part.short_message[0] + 1
    elif part.tlvs:
        udh = 6
    else:
        udh = 0
    body = len(payload_of(part))
    if part.data_coding == UCS2:
        return udh + body
    septets = math.ceil(udh * 8 / 7) + body
    return math.ceil(septets * 7 / 8)


# --- split_text: exact parts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "short_message"),
    [
        ("", b""),
        ("Hello", b"Hello"),
        ("a" * 160, b"a" * 160),
        ("@£$", b"\x00\x01\x02"),
        ("€" * 80, b"\x1b\x65" * 80),  # 160 septets: still one part
    ],
    ids=["empty", "short ASCII", "160 ASCII", "GSM-only characters", "80 escapes"],
)
def test_gsm_text_that_fits_is_one_part(text: str, short_message: bytes) -> None:
    assert split_text(text, reference=0x2A) == [OutPart(data_coding=GSM, esm_class=0, short_message=short_message)]


def test_161_ascii_is_two_parts_of_153_and_8_septets() -> None:
    assert split_text("a" * 161, reference=0x12A) == [
        OutPart(data_coding=GSM, esm_class=UDHI, short_message=bytes.fromhex("0500032a0201") + b"a" * 153),
        OutPart(data_coding=GSM, esm_class=UDHI, short_message=bytes.fromhex("0500032a0202") + b"a" * 8),
    ]


@pytest.mark.parametrize(
    ("char", "escape"),
    [("€", b"\x1b\x65"), ("[", b"\x1b\x3c"), ("\x0c", b"\x1b\x0a")],
    ids=["euro", "bracket", "form feed"],
)
def test_escape_at_the_cut_moves_whole_to_the_next_part(char: str, escape: bytes) -> None:
    # A naive cut at 153 septets would end part 1 with 0x1B and start part 2 with the escape's second half.
    text = "a" * 152 + char + "b" * 10
    parts = split_text(text, reference=7)
    assert parts == [
        OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh8(7, 2, 1) + b"a" * 152),
        OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh8(7, 2, 2) + escape + b"b" * 10),
    ]
    assert not any(payload_of(p).endswith(b"\x1b") for p in parts)
    assert reassemble(parts) == text


def test_many_escapes_never_end_a_part_with_an_escape() -> None:
    text = ("x€[]{}" * 60) + "y"
    parts = split_text(text, reference=1)
    # 11 septets per "x€[]{}": 13 of them make 143, then x€[]{ make 152 and the next } does not fit.
    assert [len(payload_of(p)) for p in parts] == [152, 152, 152, 152, 53]  # 661 septets in all
    assert not any(payload_of(p).endswith(b"\x1b") for p in parts)
    joined = b"".join(payload_of(p) for p in parts)
    assert joined == gsm_encode(text)
    assert decode_payload(GSM, joined) == text


@pytest.mark.parametrize("length", [1, 69, 70])
def test_chinese_up_to_70_is_one_ucs2_part(length: int) -> None:
    text = "余" * length
    assert split_text(text, reference=1) == [OutPart(data_coding=UCS2, esm_class=0, short_message=ucs2(text))]


def test_71_chinese_is_parts_of_67_units() -> None:
    text = "查" * 71
    assert split_text(text, reference=0x33) == [
        OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh8(0x33, 2, 1) + ucs2("查" * 67)),
        OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh8(0x33, 2, 2) + ucs2("查" * 4)),
    ]


def test_one_non_gsm_character_makes_the_whole_text_ucs2() -> None:
    assert split_text("Hello 你", reference=1) == [
        OutPart(data_coding=UCS2, esm_class=0, short_message=ucs2("Hello 你"))
    ]


def test_no_character_above_the_euro_sign_is_gsm() -> None:
    """gsm_encode gives up at once on a text whose highest character is above GSM_HIGHEST; that must be
    what the codec would say too, for every character there is."""
    carried = [c for c in map(chr, range(0x110000)) if _codec_carries(c)]
    assert max(carried) == GSM_HIGHEST == "\u20ac"


def _codec_carries(char: str) -> bool:
    try:
        char.encode(GSM_CODEC)
    except UnicodeError:
        return False
    return True


def test_emoji_at_the_cut_is_not_split() -> None:
    text = "中" * 66 + "😀" + "文" * 10  # 😀 is units 66 and 67: a naive 67-unit cut ends on its high half
    parts = split_text(text, reference=9)
    assert parts == [
        OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh8(9, 2, 1) + ucs2("中" * 66)),
        OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh8(9, 2, 2) + ucs2("😀" + "文" * 10)),
    ]
    assert not any(0xD8 <= payload_of(p)[-2] <= 0xDB for p in parts)
    assert reassemble(parts) == text


def test_emojis_only_never_end_a_part_on_a_high_surrogate() -> None:
    text = "😀" * 100  # 200 units
    parts = split_text(text, reference=9)
    assert [len(payload_of(p)) // 2 for p in parts] == [66, 66, 66, 2]
    assert not any(0xD8 <= payload_of(p)[-2] <= 0xDB for p in parts)
    assert reassemble(parts) == text


@pytest.mark.parametrize(
    ("concat", "text", "expected"),
    [
        (
            Concat.UDH16,
            "a" * 161,
            [
                OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh16(0x1234, 2, 1) + b"a" * 152),
                OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh16(0x1234, 2, 2) + b"a" * 9),
            ],
        ),
        (
            Concat.UDH16,
            "查" * 71,
            [
                OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh16(0x1234, 2, 1) + ucs2("查" * 66)),
                OutPart(data_coding=UCS2, esm_class=UDHI, short_message=udh16(0x1234, 2, 2) + ucs2("查" * 5)),
            ],
        ),
        (
            Concat.SAR,
            "a" * 161,
            [
                OutPart(data_coding=GSM, esm_class=0, short_message=b"a" * 153, tlvs=sar(0x1234, 2, 1)),
                OutPart(data_coding=GSM, esm_class=0, short_message=b"a" * 8, tlvs=sar(0x1234, 2, 2)),
            ],
        ),
        (
            Concat.SAR,
            "查" * 71,
            [
                OutPart(data_coding=UCS2, esm_class=0, short_message=ucs2("查" * 67), tlvs=sar(0x1234, 2, 1)),
                OutPart(data_coding=UCS2, esm_class=0, short_message=ucs2("查" * 4), tlvs=sar(0x1234, 2, 2)),
            ],
        ),
        (
            Concat.UDH8,
            "a" * 161,
            [
                OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh8(0x34, 2, 1) + b"a" * 153),
                OutPart(data_coding=GSM, esm_class=UDHI, short_message=udh8(0x34, 2, 2) + b"a" * 8),
            ],
        ),
    ],
    ids=["UDH16 GSM", "UDH16 UCS2", "SAR GSM", "SAR UCS2", "UDH8 keeps the low octet of the reference"],
)
def test_concat_variants(concat: Concat, text: str, expected: list[OutPart]) -> None:
    parts = split_text(text, reference=0x1234, concat=concat)
    assert parts == expected
    assert reassemble(parts) == text


def test_sar_reference_is_cut_to_16_bits() -> None:
    parts = split_text("a" * 161, reference=0x12345, concat=Concat.SAR)
    assert parts[0].tlvs == sar(0x2345, 2, 1)


@pytest.mark.parametrize(
    ("text", "concat"),
    [
        ("a" * (153 * 255 + 1), Concat.UDH8),
        ("a" * (152 * 255 + 1), Concat.UDH16),
        ("查" * (67 * 255 + 1), Concat.SAR),
    ],
    ids=["GSM UDH8", "GSM UDH16", "UCS2 SAR"],
)
def test_more_than_255_parts_is_message_too_long(text: str, concat: Concat) -> None:
    with pytest.raises(MessageTooLong):
        split_text(text, reference=1, concat=concat)


def test_exactly_255_parts_is_allowed() -> None:
    parts = split_text("a" * (153 * 255), reference=1)
    assert len(parts) == 255
    assert parts[-1].short_message == udh8(1, 255, 255) + b"a" * 153


TEXTS = [
    "Hello",
    "a" * 161,
    "a" * 152 + "€" + "b" * 400,
    "查询余额" * 40,
    "中" * 66 + "😀" + "文" * 200,
    "Balance: 12.50 元, 数据 1024 KB 😀" * 8,
]


@pytest.mark.parametrize("concat", list(Concat), ids=lambda c: c.name)
@pytest.mark.parametrize("text", TEXTS, ids=[f"text{i}" for i in range(len(TEXTS))])
def test_round_trip(text: str, concat: Concat) -> None:
    assert reassemble(split_text(text, reference=0xBEEF, concat=concat)) == text


def test_escape_character_itself_is_not_sent_as_gsm() -> None:
    # U+001B would go out as a bare escape septet and turn the next character into an extension one.
    assert gsm_encode("\x1be") is None
    parts = split_text("\x1be", reference=1)
    assert parts == [OutPart(data_coding=UCS2, esm_class=0, short_message=ucs2("\x1be"))]
    assert reassemble(parts) == "\x1be"


def test_describe_parts() -> None:
    assert describe_parts(split_text("a" * 161, reference=1)) == "2 parts, GSM"
    assert describe_parts(split_text("你", reference=1)) == "1 part, UCS2"


# --- incoming ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("esm_class", "data_coding", "short_message", "tlvs", "expected"),
    [
        (0, GSM, b"Hello", (), InPart(data_coding=GSM, payload=b"Hello", concat=None)),
        (
            0,
            GSM,
            b"",
            ((Tag.message_payload, b"Hello world"),),
            InPart(data_coding=GSM, payload=b"Hello world", concat=None),
        ),
        (
            UDHI,
            UCS2,
            b"",
            ((Tag.message_payload, udh8(5, 2, 1) + ucs2("你")),),
            InPart(data_coding=UCS2, payload=ucs2("你"), concat=ConcatInfo(reference=5, total=2, seqno=1)),
        ),
        (
            UDHI,
            GSM,
            udh8(0xAB, 3, 2) + b"part",
            (),
            InPart(data_coding=GSM, payload=b"part", concat=ConcatInfo(reference=0xAB, total=3, seqno=2)),
        ),
        (
            UDHI,
            UCS2,
            udh16(0x1234, 3, 2) + ucs2("查"),
            (),
            InPart(data_coding=UCS2, payload=ucs2("查"), concat=ConcatInfo(reference=0x1234, total=3, seqno=2)),
        ),
        (
            UDHI,
            GSM,
            bytes.fromhex("0b 05040b8423f0 00032a0201") + b"x",  # port addressing IE, then concat IE
            (),
            InPart(data_coding=GSM, payload=b"x", concat=ConcatInfo(reference=0x2A, total=2, seqno=1)),
        ),
        (
            UDHI,
            GSM,
            bytes.fromhex("06 05040b8423f0") + b"x",  # a UDH without a concat IE
            (),
            InPart(data_coding=GSM, payload=b"x", concat=None),
        ),
        (
            0,
            GSM,
            b"abc",
            sar(0x0102, 4, 3),
            InPart(data_coding=GSM, payload=b"abc", concat=ConcatInfo(reference=0x0102, total=4, seqno=3)),
        ),
        (
            0,
            GSM,
            b"abc",
            ((Tag.sar_msg_ref_num, b"\x01\x02"), (Tag.sar_total_segments, b"\x04")),
            InPart(data_coding=GSM, payload=b"abc", concat=None),
        ),
        (
            UDHI,
            GSM,
            bytes.fromhex("0b 0003"),  # UDHL says 11 octets, only 2 follow
            (),
            InPart(data_coding=GSM, payload=b"", concat=None),
        ),
        (UDHI, GSM, b"", (), InPart(data_coding=GSM, payload=b"", concat=None)),
    ],
    ids=[
        "plain",
        "message_payload",
        "message_payload with UDH",
        "UDH 8-bit",
        "UDH 16-bit",
        "UDH with another IE first",
        "UDH without concat",
        "SAR",
        "incomplete SAR",
        "truncated UDH",
        "UDHI on an empty message",
    ],
)
def test_read_short_message(
    esm_class: int,
    data_coding: int,
    short_message: bytes,
    tlvs: tuple[tuple[int, bytes], ...],
    expected: InPart,
) -> None:
    got = read_short_message(
        ShortMessage(esm_class=esm_class, data_coding=data_coding, short_message=short_message, tlvs=tlvs)
    )
    assert got == expected


def test_join_parts_orders_and_reports_missing() -> None:
    assert join_parts([(3, b"c"), (1, b"a")], 3) == (b"ac", [2])
    assert join_parts([(2, b"b"), (1, b"a")], 2) == (b"ab", [])


def test_emoji_split_by_the_sender_is_read_right_after_joining() -> None:
    halves = ucs2("ab😀")
    joined, missing = join_parts([(2, halves[6:]), (1, halves[:6])], 2)
    assert missing == []
    assert decode_payload(UCS2, joined) == "ab😀"


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (GSM, b"Hello \x00\x1b\x65", "Hello @€"),  # @ is septet 0x00
        (UCS2, ucs2("你好"), "你好"),
        (UCS2, ucs2("你") + b"\x59", "你"),  # odd length: the stray octet is dropped
        (UCS2, b"\xd8\x3d", "\ufffd"),  # lone high surrogate
        (GSM, b"a\x80\xff", "a\ufffd\ufffd"),  # not septets
        (GSM, b"a\x1b\x1b", "a\ufffd"),  # escape followed by escape
        (DataCoding.IA5, b"abc\xff", "abc\ufffd"),
        (DataCoding.LATIN1, b"caf\xe9", "café"),
        (DataCoding.OCTET_UNSPECIFIED, b"\x00\xff", "\x00\xff"),
        (0x108, ucs2("好"), "好"),  # only the low octet of data_coding is looked at
    ],
    ids=[
        "GSM",
        "UCS2",
        "UCS2 odd length",
        "UCS2 lone surrogate",
        "GSM octets above 0x7F",
        "GSM double escape",
        "IA5 with a high octet",
        "Latin-1",
        "octet unspecified",
        "data_coding above 0xFF",
    ],
)
def test_decode_payload_never_raises(data_coding: int, payload: bytes, text: str) -> None:
    assert decode_payload(data_coding, payload) == text


# --- property ---------------------------------------------------------------------------------

TEXT = (
    st.text(max_size=400)
    | st.text(alphabet="a@€[~\x0c\n\x1b", max_size=800)  # GSM with escapes (and the ESC character)
    | st.text(alphabet="a€中😀", min_size=100, max_size=800)  # long UCS2 with surrogate pairs
)


@settings(max_examples=200, deadline=None)
@given(text=TEXT, reference=st.integers(min_value=0, max_value=0xFFFF))
def test_any_text_splits_into_parts_that_fit_and_rejoin(text: str, reference: int) -> None:
    for concat in Concat:
        parts = split_text(text, reference=reference, concat=concat)
        assert reassemble(parts) == text
        for part in parts:
            assert octets_on_air(part) <= 140
            limit = 140 if part.data_coding == UCS2 else 160  # GSM septets travel one per octet in SMPP
            assert len(part.short_message) <= limit
