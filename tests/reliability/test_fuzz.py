"""Fuzzing what reads untrusted input: the PDU codec and reader, both SMPP sessions, the MO text reader,
the MO text normaliser and the catalog lookup.

Bounded and reproducible: every test runs a fixed number of derandomized examples (no example database),
so CI sees the same inputs every run. The only exceptions allowed out are the documented protocol errors
(:class:`RemoteProtocolError`, of which :class:`FramingError` is one).
"""

from __future__ import annotations

import struct
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commands.normalize import normalize
from commands.registry import KNOWN
from gateway.catalog import Catalog, load_catalogs
from gateway.errors import FramingError, RemoteProtocolError
from gateway.ledger.products import Products
from gateway.smpp.codec import (
    HEADER_SIZE,
    MAX_PDU_SIZE,
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
)
from gateway.smpp.constants import CommandId, DataCoding, EsmClass, Status, Tag
from gateway.smpp.events import Bound, DeliverReceived, LinkFailed
from gateway.smpp.session import BindMode, EsmeSession, SessionConfig
from gateway.smpp.text import decode_payload, join_parts, read_short_message
from gateway.smsc.core import Close, SmscConnection, SmscState

CONFIG = Path(__file__).resolve().parents[2] / "config"

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SLOW = settings(FUZZ, max_examples=150)  # the session-level targets do more per example


# --- strategies ------------------------------------------------------------------------------------

octets = st.binary(max_size=600)
u8 = st.integers(0, 255)
sequence_numbers = st.integers(1, 0x7FFFFFFF)
command_ids = st.one_of(st.sampled_from(list(CommandId)), st.integers(0, 0xFFFFFFFF))


def latin1(max_size: int) -> st.SearchStrategy[str]:
    """A C-Octet String's content that fits: latin-1 without NUL."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=max_size)


tlvs = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=4).map(tuple)

short_messages = st.builds(
    ShortMessage,
    service_type=latin1(5),
    source_addr_ton=u8,
    source_addr_npi=u8,
    source_addr=latin1(20),
    dest_addr_ton=u8,
    dest_addr_npi=u8,
    destination_addr=latin1(20),
    esm_class=u8,
    protocol_id=u8,
    priority_flag=u8,
    schedule_delivery_time=latin1(16),
    validity_period=latin1(16),
    registered_delivery=u8,
    replace_if_present_flag=u8,
    data_coding=u8,
    sm_default_msg_id=u8,
    short_message=st.binary(max_size=254),
    tlvs=tlvs,
)
binds = st.builds(Bind, system_id=latin1(15), password=latin1(8), system_type=latin1(12), address_range=latin1(40))


@st.composite
def valid_pdus(draw: st.DrawFn) -> Pdu:
    """A PDU the codec can encode, of any kind the codec has a body for."""
    body: Body
    kind = draw(st.sampled_from(["sm", "bind", "bind_resp", "id_resp", "empty"]))
    if kind == "sm":
        command_id, body = draw(st.sampled_from([CommandId.submit_sm, CommandId.deliver_sm])), draw(short_messages)
    elif kind == "bind":
        command_id = draw(
            st.sampled_from([CommandId.bind_transmitter, CommandId.bind_receiver, CommandId.bind_transceiver])
        )
        body = draw(binds)
    elif kind == "bind_resp":
        command_id = draw(st.sampled_from([CommandId.bind_transceiver_resp, CommandId.bind_transmitter_resp]))
        body = BindResp(system_id=draw(latin1(15)), tlvs=draw(tlvs))
    elif kind == "id_resp":
        command_id = draw(st.sampled_from([CommandId.submit_sm_resp, CommandId.deliver_sm_resp]))
        body = MessageIdResp(message_id=draw(latin1(64)))
    else:
        command_id = draw(st.sampled_from([CommandId.enquire_link, CommandId.unbind, CommandId.generic_nack]))
        body = Empty()
    return Pdu(
        command_id=command_id,
        sequence_number=draw(sequence_numbers),
        command_status=draw(st.integers(0, 0xFFFFFFFF)),
        body=body,
    )


@st.composite
def framed(draw: st.DrawFn) -> bytes:
    """A frame with a correct command_length around any command id and any body."""
    body = draw(octets)
    header = struct.pack(">IIII", HEADER_SIZE + len(body), draw(command_ids), draw(st.integers(0, 0xFFFFFFFF)), 7)
    return header + body


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid PDU's octets, then damaged: bytes flipped, cut short, grown, or given a wrong command_length."""
    data = bytearray(encode_pdu(draw(valid_pdus())))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "truncate", "append", "length", "huge", "command_id"]))
        if how == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif how == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif how == "append":
            data += draw(st.binary(min_size=1, max_size=40))
        elif how == "length" and len(data) >= 4:
            data[:4] = draw(st.integers(0, 600)).to_bytes(4, "big")
        elif how == "huge" and len(data) >= 4:
            data[:4] = draw(st.integers(MAX_PDU_SIZE + 1, 0xFFFFFFFF)).to_bytes(4, "big")
        elif how == "command_id" and len(data) >= 8:
            data[4:8] = draw(command_ids).to_bytes(4, "big")
    return bytes(data)


def splits(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut into consecutive chunks at arbitrary points."""
    return st.lists(st.integers(0, len(data)), max_size=6).map(
        lambda cuts: [data[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True)]
    )


# --- the decoder ------------------------------------------------------------------------------------


def decode_or_protocol_error(frame: bytes) -> Pdu | RemoteProtocolError:
    try:
        return decode_pdu(frame)
    except RemoteProtocolError as exc:
        assert exc.command_status != Status.ESME_ROK  # every refusal carries a status to nack with
        if isinstance(exc, FramingError):
            assert len(frame) < HEADER_SIZE
        else:  # a whole header was there: the nack can name the sequence number
            assert exc.sequence_number == int.from_bytes(frame[12:16], "big")
        return exc


@FUZZ
@given(octets)
@example(b"")
@example(bytes(16))
@example(struct.pack(">IIII", 16, CommandId.deliver_sm, 0, 1))
def test_decode_pdu_of_arbitrary_octets_raises_only_protocol_errors(data: bytes) -> None:
    decode_or_protocol_error(data)


@FUZZ
@given(framed())
def test_decode_pdu_of_any_command_with_any_body_raises_only_protocol_errors(frame: bytes) -> None:
    result = decode_or_protocol_error(frame)
    if isinstance(result, Pdu):
        assert result.sequence_number == 7


@FUZZ
@given(valid_pdus())
def test_valid_pdus_survive_encode_and_decode(pdu: Pdu) -> None:
    assert decode_pdu(encode_pdu(pdu)) == pdu


def read_all(chunks: list[bytes]) -> tuple[list[bytes], bool]:
    """Frames a PduReader yields for the chunks fed one by one, and whether it lost its framing."""
    reader = PduReader()
    frames: list[bytes] = []
    for chunk in chunks:
        reader.feed(chunk)
        while True:
            try:
                frame = reader.next_frame()
            except FramingError as exc:
                assert exc.command_status == Status.ESME_RINVCMDLEN
                return frames, True
            if frame is None:
                break
            assert HEADER_SIZE <= len(frame) <= MAX_PDU_SIZE
            frames.append(frame)
    return frames, False


@FUZZ
@given(st.data())
def test_damaged_pdus_in_any_chunking_raise_only_protocol_errors(data: st.DataObject) -> None:
    stream = b"".join(data.draw(st.lists(mutated(), min_size=1, max_size=4)))
    chunks = data.draw(splits(stream))
    frames, lost = read_all(chunks)
    assert (frames, lost) == read_all([stream])  # how the bytes arrive changes nothing
    for frame in frames:
        decode_or_protocol_error(frame)


@FUZZ
@given(st.lists(framed(), max_size=3), valid_pdus(), st.data())
def test_a_valid_pdu_after_well_framed_garbage_still_decodes(
    garbage: list[bytes], pdu: Pdu, data: st.DataObject
) -> None:
    """A bad PDU whose command_length is right costs only itself (a generic_nack); the next one is read."""
    valid = encode_pdu(pdu)
    frames, lost = read_all(data.draw(splits(b"".join(garbage) + valid)))
    assert not lost
    assert frames == [*garbage, valid]
    for frame in garbage:
        decode_or_protocol_error(frame)
    assert decode_pdu(frames[-1]) == pdu


@FUZZ
@given(st.one_of(st.integers(0, HEADER_SIZE - 1), st.integers(MAX_PDU_SIZE + 1, 0xFFFFFFFF)), octets)
def test_an_impossible_command_length_loses_the_framing(length: int, rest: bytes) -> None:
    frames, lost = read_all([length.to_bytes(4, "big") + rest])
    assert (frames, lost) == ([], True)


# --- the two sessions (sans-IO) ------------------------------------------------------------------


def bound_session() -> EsmeSession:
    session = EsmeSession(SessionConfig(mode=BindMode.TRANSCEIVER, system_id="gateway", password="secret"), now=0.0)
    session.bind(0.0)
    session.data_to_send()
    resp = Pdu(command_id=CommandId.bind_transceiver_resp, sequence_number=1, body=BindResp(system_id="smsc"))
    assert session.receive_data(encode_pdu(resp), 0.0) == [Bound(system_id="smsc")]
    return session


def all_decode(data: bytes) -> list[Pdu]:
    frames, lost = read_all([data])
    assert not lost
    return [decode_pdu(frame) for frame in frames]


@FUZZ_SLOW
@given(st.data())
def test_the_esme_session_takes_any_bytes_without_raising(data: st.DataObject) -> None:
    session = bound_session()
    stream = data.draw(st.one_of(octets, st.lists(st.one_of(framed(), mutated()), max_size=4).map(b"".join)))
    events = []
    for chunk in data.draw(splits(stream)):
        events += session.receive_data(chunk, 1.0)
        if session.state.value == "closed":
            break
    if any(isinstance(event, LinkFailed) for event in events):
        assert session.state.value == "closed"
    all_decode(session.data_to_send())  # whatever it answers (nacks, resps) is itself well formed
    session.timer(100.0)  # and its timers still run


@FUZZ_SLOW
@given(st.lists(st.one_of(framed(), mutated()), max_size=4).map(b"".join), st.data())
def test_the_esme_session_reads_a_deliver_sm_after_well_framed_garbage(garbage: bytes, data: st.DataObject) -> None:
    reader = PduReader()
    reader.feed(garbage)
    try:
        while reader.next_frame() is not None:
            pass
    except FramingError:
        return  # a broken frame boundary resets the link by design
    if reader.buffered:
        return  # a frame cut short: the deliver_sm would complete it
    session = bound_session()
    session.receive_data(garbage, 1.0)
    session.data_to_send()
    if not session.bound:
        return  # the garbage held a valid unbind
    mo = ShortMessage(source_addr="13800138000", destination_addr="10086", short_message=b"102")
    deliver = encode_pdu(Pdu(command_id=CommandId.deliver_sm, sequence_number=99, body=mo))
    events = []
    for chunk in data.draw(splits(deliver)):
        events += session.receive_data(chunk, 2.0)
    assert [e.message for e in events if isinstance(e, DeliverReceived)] == [mo]


@FUZZ_SLOW
@given(st.one_of(octets, st.lists(st.one_of(framed(), mutated()), max_size=4).map(b"".join)), st.data())
def test_the_simulated_smsc_takes_any_bytes_without_raising(stream: bytes, data: st.DataObject) -> None:
    connection = SmscConnection(SmscState(system_id="gateway", password="secret"), 1)
    outputs = []
    for chunk in data.draw(splits(stream)):
        outputs += connection.receive_data(chunk)
    if any(isinstance(output, Close) for output in outputs):
        assert connection.closed


# --- reading an MO's short_message -------------------------------------------------------------------

payload_tlvs = st.lists(
    st.one_of(
        st.tuples(st.just(int(Tag.message_payload)), st.binary(max_size=300)),
        st.tuples(
            st.sampled_from([int(Tag.sar_msg_ref_num), int(Tag.sar_total_segments), int(Tag.sar_segment_seqnum)]),
            st.binary(max_size=3),
        ),
        st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=8)),
    ),
    max_size=5,
).map(tuple)


def storable(text: str) -> None:
    """What SQLite will be given: encodable as UTF-8 (no lone surrogate)."""
    text.encode("utf-8")


@FUZZ
@given(
    esm_class=st.one_of(u8, st.just(int(EsmClass.UDHI))),
    data_coding=st.one_of(u8, st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x18, 0xF0])),
    short_message=st.binary(max_size=254),
    tlvs=payload_tlvs,
)
@example(esm_class=EsmClass.UDHI, data_coding=DataCoding.UCS2, short_message=b"\xff", tlvs=())
@example(esm_class=EsmClass.UDHI, data_coding=0, short_message=b"\x05\x00\x03", tlvs=())
@example(esm_class=0, data_coding=DataCoding.UCS2, short_message=b"\xd8\x00", tlvs=())
def test_read_short_message_and_decode_payload_never_raise(
    esm_class: int, data_coding: int, short_message: bytes, tlvs: tuple[tuple[int, bytes], ...]
) -> None:
    message = ShortMessage(esm_class=esm_class, data_coding=data_coding, short_message=short_message, tlvs=tlvs)
    part = read_short_message(message)
    if part.concat is not None:
        assert 0 <= part.concat.total <= 255 and 0 <= part.concat.seqno <= 255
    storable(decode_payload(part.data_coding, part.payload))


@FUZZ
@given(st.integers(0, 0xFFFF), octets)
@example(DataCoding.UCS2, b"\xdb\xff\xdc")  # a surrogate pair cut short
@example(DataCoding.SMSC_DEFAULT, b"\x1b")  # a lone GSM escape
@example(DataCoding.SMSC_DEFAULT, bytes(range(256)))
def test_decode_payload_of_any_coding_gives_storable_text(data_coding: int, payload: bytes) -> None:
    storable(decode_payload(data_coding, payload))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 300), st.binary(max_size=20)), max_size=8), st.integers(0, 255))
def test_join_parts_never_raises(parts: list[tuple[int, bytes]], total: int) -> None:
    _joined, missing = join_parts(parts, total)
    assert all(1 <= n <= total for n in missing)


# --- the MO text normaliser and the catalogs ----------------------------------------------------------

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)  # surrogates included
"""Every code point: controls, combining marks, emoji, full-width forms, lone surrogates."""

handset_text = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full-width ASCII
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
        st.sampled_from(["\u3000", "\t", "\r", "\n", "是", "🙂", "👍", "\U0001f3fb"]),
    ),
    max_size=200,
)
"""What handsets send: ASCII, full-width forms, Chinese, emoji, the separators the normaliser drops."""


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    products = Products.load(CONFIG / "products.toml")
    return load_catalogs(CONFIG / "catalogs", ["10086", "10001"], KNOWN, products)


@FUZZ
@given(any_text)
@example("\ud800")
@example("\x00\x1b\x7f\u200b\ufeff")
@example("ǅﬁß\u0345")
@example("x" * 5000)
def test_normalize_never_raises_and_drops_every_separator(text: str) -> None:
    code = normalize(text)
    assert not set(code) & set(" \t\r\n+#\u3000")
    assert code == code.upper()


@FUZZ
@given(handset_text)
@example(" ｋｔｇｐｒｓ１０ ")
@example("是")
def test_normalize_is_idempotent_on_handset_text(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FUZZ
@given(any_text)
@example("e \u0301")
def test_normalize_is_idempotent_once_its_output_is_nfkc(text: str) -> None:
    """Dropping a space can bring a combining mark next to a letter, which NFKC then composes: ``"e \\u0301"``
    gives ``"E\\u0301"`` and then ``"É"``. No code is written that way; every other text is a fixed point."""
    once = normalize(text)
    if unicodedata.is_normalized("NFKC", once):
        assert normalize(once) == once


@FUZZ
@given(any_text)
def test_catalog_lookup_of_any_normalised_text_never_raises(catalogs: dict[str, Catalog], text: str) -> None:
    code = normalize(text)
    for catalog in catalogs.values():
        entry = catalog.lookup(code)
        if entry is not None:
            assert code in (entry.code, *entry.aliases)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@FUZZ
@given(st.data())
def test_every_code_is_found_however_it_is_typed(catalogs: dict[str, Catalog], data: st.DataObject) -> None:
    catalog = data.draw(st.sampled_from(sorted(catalogs.values(), key=lambda c: c.service_number)))
    entry = data.draw(st.sampled_from(catalog.entries))
    code = data.draw(st.sampled_from([entry.code, *entry.aliases]))
    typed = "".join(
        data.draw(st.sampled_from([c, c.lower(), full_width(c), full_width(c.lower())]))
        + data.draw(st.sampled_from(["", "", " ", "\u3000", "\t", "+", "#"]))
        for c in code
    )
    typed = data.draw(st.sampled_from(["", " ", "\u3000", "\r\n"])) + typed
    assert catalog.lookup(normalize(typed)) == entry
