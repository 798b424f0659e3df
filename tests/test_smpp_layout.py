"""The layout compiler: a body type's fields become one encoder and one decoder, octet for octet."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gateway.errors import LocalProtocolError
from gateway.smpp.codec import cstr, u8
from gateway.smpp.constants import Status
from gateway.smpp.layout import compile_layout, decode_tlvs, encode_tlvs


@dataclass(frozen=True, slots=True, kw_only=True)
class Every:
    """One field of each kind, with two runs of one-octet fields."""

    first: int = u8()
    name: str = cstr(4)
    a: int = u8()
    b: int = u8()
    c: int = u8()
    short_message: bytes = field(default=b"", metadata={"kind": "sm"})
    tlvs: tuple[tuple[int, bytes], ...] = field(default=(), metadata={"kind": "tlvs"})


ENCODE, DECODE = compile_layout(Every)
BODY = Every(first=7, name="abc", a=1, b=2, c=255, short_message=b"hi", tlvs=((0x0501, b"\x01"), (0x1403, b"")))
OCTETS = bytes.fromhex("07616263000102ff026869050100010114030000")


def test_a_body_encodes_field_by_field_in_wire_order() -> None:
    assert ENCODE(BODY) == OCTETS


def test_the_octets_decode_to_the_same_body() -> None:
    assert DECODE(OCTETS) == BODY


def test_defaults_encode_as_empty_strings_zero_octets_and_no_tlvs() -> None:
    assert ENCODE(Every()) == bytes.fromhex("000000000000")
    assert DECODE(bytes.fromhex("000000000000")) == Every()


@pytest.mark.parametrize(
    ("octets", "error", "says"),
    [
        (bytes.fromhex("07616263"), ValueError, "subsection not found"),  # the C-Octet String has no NUL
        (bytes.fromhex("07000102"), IndexError, "ends inside its one-octet fields"),
        (bytes.fromhex("07000102030568"), ValueError, "sm_length 5 runs past the end"),
        (bytes.fromhex("0700010203000501"), ValueError, "truncated TLV header"),
        (bytes.fromhex("0700010203000501000201"), ValueError, "length 2 runs past the end"),
    ],
)
def test_a_body_that_does_not_match_its_fields_raises(octets: bytes, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        DECODE(octets)


def test_a_body_of_no_fields_takes_no_octets_and_refuses_any() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Nothing:
        pass

    encode, decode = compile_layout(Nothing)
    assert encode(Nothing()) == b""
    assert decode(b"") == Nothing()
    with pytest.raises(ValueError, match="1 octets left over"):
        decode(b"\x00")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (Every(name="abcd"), Status.ESME_RINVPARLEN, "name is 4 octets, at most 3 fit"),
        (Every(short_message=b"x" * 255), Status.ESME_RINVMSGLEN, "short_message is 255 octets, at most 254 fit"),
    ],
)
def test_a_value_too_long_for_its_field_is_a_local_protocol_error(body: Every, status: Status, says: str) -> None:
    with pytest.raises(LocalProtocolError, match=says) as info:
        ENCODE(body)
    assert info.value.command_status == status


def test_a_one_octet_field_out_of_range_does_not_encode() -> None:
    with pytest.raises(ValueError, match="range"):
        ENCODE(Every(b=256))


def test_tlvs_encode_and_decode_in_arrival_order() -> None:
    tlvs = ((0x0424, b"payload"), (0x0501, b"\x01"))
    assert decode_tlvs(encode_tlvs(tlvs), 0) == tlvs
    assert encode_tlvs(()) == b""
