"""gateway.smpp.codec: one table of (PDU, wire octets) drives both encode_pdu and decode_pdu.

The octets are written out field by field from the SMPP 3.4 layouts (§4 for the PDUs, §5.3 for the
TLVs), not produced by the code under test. smpplib's own encoder is used as a second opinion.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from smpplib import command_codes, consts, smpp

from gateway.errors import FramingError, LocalProtocolError, RemoteProtocolError
from gateway.smpp.codec import (
    Bind,
    BindResp,
    Empty,
    MessageIdResp,
    Opaque,
    Pdu,
    PduReader,
    ShortMessage,
    decode_pdu,
    encode_pdu,
    find_tlv,
    response_id,
)
from gateway.smpp.constants import CommandId, Status, Tag, status_description, status_name


def wire(*fields: str) -> bytes:
    """Octets from hex, one string per SMPP field (spaces allowed) so a case reads like the spec's table."""
    return bytes.fromhex("".join(fields))


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    pdu: Pdu
    octets: bytes
    decoded: Pdu | None = None
    """What decode_pdu gives when it is not ``pdu`` itself (a header-only response gets its default body)."""


BIND = Bind(system_id="gw01", password="secret", system_type="USSD", addr_ton=1, addr_npi=1)
SUBMIT = ShortMessage(
    source_addr_ton=5,
    source_addr="10086",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="8613800138000",
    registered_delivery=1,
    short_message=b"Hello",
)
USSD_DELIVER = ShortMessage(
    service_type="USSD",
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr="8613800138000",
    destination_addr="*100#",
    short_message=b"*100#",
    tlvs=((Tag.ussd_service_op, b"\x01"), (Tag.its_session_info, b"\x07\x00")),
)

# Shared runs of octets: the submit_sm fields from service_type to sm_default_msg_id for SUBMIT.
SUBMIT_HEAD = (
    "00",  # service_type ""
    "05",  # source_addr_ton
    "00",  # source_addr_npi
    "313030383600",  # source_addr "10086"
    "01",  # dest_addr_ton
    "01",  # dest_addr_npi
    "3836313338303031333830303000",  # destination_addr "8613800138000"
)

CASES = [
    Case(
        "bind_transceiver",
        Pdu(command_id=CommandId.bind_transceiver, sequence_number=1, body=BIND),
        wire(
            "00000025",  # command_length 37
            "00000009",  # command_id bind_transceiver
            "00000000",  # command_status
            "00000001",  # sequence_number
            "6777303100",  # system_id "gw01"
            "73656372657400",  # password "secret"
            "5553534400",  # system_type "USSD"
            "34",  # interface_version 3.4
            "01",  # addr_ton
            "01",  # addr_npi
            "00",  # address_range ""
        ),
    ),
    Case(
        "bind_transceiver_resp",
        Pdu(command_id=CommandId.bind_transceiver_resp, sequence_number=1, body=BindResp(system_id="SMSC")),
        wire("00000015", "80000009", "00000000", "00000001", "534d534300"),
    ),
    Case(
        "bind_transceiver_resp with sc_interface_version",
        Pdu(
            command_id=CommandId.bind_transceiver_resp,
            sequence_number=1,
            body=BindResp(system_id="SMSC", tlvs=((Tag.sc_interface_version, b"\x34"),)),
        ),
        wire(
            "0000001a",
            "80000009",
            "00000000",
            "00000001",
            "534d534300",  # system_id "SMSC"
            "0210 0001 34",  # TLV sc_interface_version (tag, length, value) = 0x34
        ),
    ),
    Case(
        "submit_sm GSM text",
        Pdu(command_id=CommandId.submit_sm, sequence_number=7, body=SUBMIT),
        wire(
            "00000038",  # 56
            "00000004",
            "00000000",
            "00000007",
            *SUBMIT_HEAD,
            "00",  # esm_class
            "00",  # protocol_id
            "00",  # priority_flag
            "00",  # schedule_delivery_time ""
            "00",  # validity_period ""
            "01",  # registered_delivery
            "00",  # replace_if_present_flag
            "00",  # data_coding SMSC default (GSM 03.38)
            "00",  # sm_default_msg_id
            "05",  # sm_length
            "48656c6c6f",  # short_message "Hello"
        ),
    ),
    Case(
        "submit_sm UCS2 with UDH",
        Pdu(
            command_id=CommandId.submit_sm,
            sequence_number=8,
            body=ShortMessage(
                source_addr_ton=5,
                source_addr="10086",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="8613800138000",
                esm_class=0x40,
                registered_delivery=1,
                data_coding=0x08,
                short_message=bytes.fromhex("0500032a0201") + "你好".encode("utf-16-be"),
            ),
        ),
        wire(
            "0000003d",  # 61
            "00000004",
            "00000000",
            "00000008",
            *SUBMIT_HEAD,
            "40",  # esm_class UDHI
            "00",
            "00",
            "00",
            "00",
            "01",
            "00",
            "08",  # data_coding UCS2
            "00",
            "0a",  # sm_length 10
            "0500032a0201",  # UDH: concat 8-bit ref 0x2A, 2 parts, part 1
            "4f60597d",  # "你好"
        ),
    ),
    Case(
        "submit_sm with SAR TLVs",
        Pdu(
            command_id=CommandId.submit_sm,
            sequence_number=9,
            body=ShortMessage(
                source_addr_ton=5,
                source_addr="10086",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="8613800138000",
                registered_delivery=1,
                short_message=b"Hi",
                tlvs=(
                    (Tag.sar_msg_ref_num, b"\x00\x2a"),
                    (Tag.sar_total_segments, b"\x02"),
                    (Tag.sar_segment_seqnum, b"\x01"),
                ),
            ),
        ),
        wire(
            "00000045",  # 69
            "00000004",
            "00000000",
            "00000009",
            *SUBMIT_HEAD,
            "00",
            "00",
            "00",
            "00",
            "00",
            "01",
            "00",
            "00",
            "00",
            "02",  # sm_length
            "4869",  # "Hi"
            "020c 0002 002a",  # sar_msg_ref_num 42
            "020e 0001 02",  # sar_total_segments 2
            "020f 0001 01",  # sar_segment_seqnum 1
        ),
    ),
    Case(
        "submit_sm with message_payload",
        Pdu(
            command_id=CommandId.submit_sm,
            sequence_number=10,
            body=ShortMessage(
                source_addr_ton=5,
                source_addr="10086",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="8613800138000",
                registered_delivery=1,
                tlvs=((Tag.message_payload, b"Hello"),),
            ),
        ),
        wire(
            "0000003c",  # 60
            "00000004",
            "00000000",
            "0000000a",
            *SUBMIT_HEAD,
            "00",
            "00",
            "00",
            "00",
            "00",
            "01",
            "00",
            "00",
            "00",
            "00",  # sm_length 0: the text is in message_payload
            "0424 0005 48656c6c6f",  # message_payload "Hello"
        ),
    ),
    Case(
        "submit_sm_resp",
        Pdu(command_id=CommandId.submit_sm_resp, sequence_number=7, body=MessageIdResp(message_id="5f3a9c")),
        wire("00000017", "80000004", "00000000", "00000007", "35663361396300"),
    ),
    Case(
        "submit_sm_resp error without body",
        Pdu(command_id=CommandId.submit_sm_resp, sequence_number=7, command_status=Status.ESME_RINVDSTADR),
        wire("00000010", "80000004", "0000000b", "00000007"),
        decoded=Pdu(
            command_id=CommandId.submit_sm_resp,
            sequence_number=7,
            command_status=Status.ESME_RINVDSTADR,
            body=MessageIdResp(),
        ),
    ),
    Case(
        "deliver_sm USSD with ussd_service_op and its_session_info (smpplib issue 104)",
        Pdu(command_id=CommandId.deliver_sm, sequence_number=42, body=USSD_DELIVER),
        wire(
            "00000047",  # 71
            "00000005",
            "00000000",
            "0000002a",
            "5553534400",  # service_type "USSD"
            "01",  # source_addr_ton
            "01",  # source_addr_npi
            "3836313338303031333830303000",  # source_addr "8613800138000"
            "00",  # dest_addr_ton
            "00",  # dest_addr_npi
            "2a3130302300",  # destination_addr "*100#"
            "00",  # esm_class
            "00",  # protocol_id
            "00",  # priority_flag
            "00",  # schedule_delivery_time
            "00",  # validity_period
            "00",  # registered_delivery
            "00",  # replace_if_present_flag
            "00",  # data_coding
            "00",  # sm_default_msg_id
            "05",  # sm_length
            "2a31303023",  # "*100#"
            "0501 0001 01",  # ussd_service_op PSSR indication
            "1383 0002 0700",  # its_session_info
        ),
    ),
    Case(
        "deliver_sm_resp",
        Pdu(command_id=CommandId.deliver_sm_resp, sequence_number=42, body=MessageIdResp()),
        wire("00000011", "80000005", "00000000", "0000002a", "00"),
    ),
    Case(
        "enquire_link",
        Pdu(command_id=CommandId.enquire_link, sequence_number=3),
        wire("00000010", "00000015", "00000000", "00000003"),
    ),
    Case(
        "enquire_link_resp",
        Pdu(command_id=CommandId.enquire_link_resp, sequence_number=3),
        wire("00000010", "80000015", "00000000", "00000003"),
    ),
    Case(
        "unbind",
        Pdu(command_id=CommandId.unbind, sequence_number=0x7FFFFFFF),
        wire("00000010", "00000006", "00000000", "7fffffff"),
    ),
    Case(
        "unbind_resp",
        Pdu(command_id=CommandId.unbind_resp, sequence_number=0x7FFFFFFF),
        wire("00000010", "80000006", "00000000", "7fffffff"),
    ),
    Case(
        "generic_nack",
        Pdu(command_id=CommandId.generic_nack, sequence_number=5, command_status=Status.ESME_RINVCMDID),
        wire("00000010", "80000000", "00000003", "00000005"),
    ),
    Case(
        "data_sm_resp (known, unsupported: body kept raw)",
        Pdu(
            command_id=CommandId.data_sm_resp,
            sequence_number=4,
            command_status=Status.ESME_RINVCMDID,
            body=Opaque(raw=b""),
        ),
        wire("00000010", "80000103", "00000003", "00000004"),
    ),
]

CASE = {c.name: c for c in CASES}
BIND_OCTETS = CASE["bind_transceiver"].octets
USSD_OCTETS = CASE["deliver_sm USSD with ussd_service_op and its_session_info (smpplib issue 104)"].octets
ENQUIRE_OCTETS = CASE["enquire_link"].octets


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_encode(case: Case) -> None:
    assert encode_pdu(case.pdu) == case.octets


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decode(case: Case) -> None:
    assert decode_pdu(case.octets) == (case.decoded or case.pdu)


def test_header_only_response_reencodes_with_an_empty_message_id() -> None:
    decoded = decode_pdu(wire("00000010", "80000004", "0000000b", "00000007"))
    assert decoded.body == MessageIdResp(message_id="")
    assert encode_pdu(decoded) == wire("00000011", "80000004", "0000000b", "00000007", "00")


def test_ussd_deliver_sm_tlvs_are_readable() -> None:
    body = decode_pdu(USSD_OCTETS).body
    assert isinstance(body, ShortMessage)
    assert body.tlv(Tag.ussd_service_op) == b"\x01"
    assert body.tlv(Tag.its_session_info) == b"\x07\x00"
    assert body.tlv(Tag.message_payload) is None


def test_find_tlv_returns_the_first_of_repeated_tags() -> None:
    tlvs = ((Tag.message_state, b"\x02"), (Tag.message_state, b"\x05"))
    assert find_tlv(tlvs, Tag.message_state) == b"\x02"
    assert find_tlv((), Tag.message_state) is None


def test_unknown_tlv_is_kept_raw() -> None:
    # command_length 24 = 16 + system_id "" (1) + 7 octets of a vendor TLV 0x1401
    octets = wire("00000018", "80000009", "00000000", "00000001", "00", "1401 0003 616263")
    assert decode_pdu(octets).body == BindResp(system_id="", tlvs=((0x1401, b"abc"),))


# --- malformed input --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Malformed:
    name: str
    octets: bytes
    command_status: int
    sequence_number: int


MALFORMED = [
    Malformed(
        "unknown command_id",
        wire("00000010", "00000099", "00000000", "0000000c"),
        Status.ESME_RINVCMDID,
        12,
    ),
    Malformed(
        "unknown response command_id",
        wire("00000010", "80000099", "00000000", "0000000d"),
        Status.ESME_RINVCMDID,
        13,
    ),
    Malformed(
        "command_length larger than the frame",
        wire("00000014", "00000015", "00000000", "0000000e"),
        Status.ESME_RINVCMDLEN,
        14,
    ),
    Malformed(
        "command_length smaller than the frame",
        wire("00000010", "80000004", "00000000", "0000000f", "3100"),
        Status.ESME_RINVCMDLEN,
        15,
    ),
    Malformed(
        "C-Octet String without its NUL",
        wire("00000015", "80000004", "00000000", "00000010", "3132333435"),  # message_id "12345" unterminated
        Status.ESME_RINVMSGLEN,
        16,
    ),
    Malformed(
        "sm_length past the end",
        wire(
            "00000026",  # 38
            "00000005",
            "00000000",
            "00000011",
            "00",  # service_type
            "01 01 3100",  # source ton, npi, "1"
            "00 00 3200",  # dest ton, npi, "2"
            "000000",  # esm_class, protocol_id, priority_flag
            "00 00",  # schedule_delivery_time, validity_period
            "00000000",  # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
            "0a",  # sm_length 10
            "616263",  # but only 3 octets follow
        ),
        Status.ESME_RINVMSGLEN,
        17,
    ),
    Malformed(
        "mandatory u8 missing",
        wire("0000001a", "00000005", "00000000", "00000012", "00", "01 01 3100", "00 00 3200", "00"),
        Status.ESME_RINVMSGLEN,
        18,
    ),
    Malformed(
        "truncated TLV header",
        wire("00000018", "80000009", "00000000", "00000013", "534d534300", "0210 00"),
        Status.ESME_RINVMSGLEN,
        19,
    ),
    Malformed(
        "TLV value past the end",
        wire("0000001a", "80000009", "00000000", "00000014", "534d534300", "0210 0002 34"),
        Status.ESME_RINVMSGLEN,
        20,
    ),
    Malformed(
        "leftover octets after a header-only PDU",
        wire("00000011", "00000015", "00000000", "00000015", "00"),
        Status.ESME_RINVMSGLEN,
        21,
    ),
    Malformed(
        "leftover octets after the last mandatory field",
        wire("00000013", "80000004", "00000000", "00000016", "3100", "ff"),
        Status.ESME_RINVMSGLEN,
        22,
    ),
]


@pytest.mark.parametrize("case", MALFORMED, ids=lambda c: c.name)
def test_malformed_pdu_raises_remote_protocol_error(case: Malformed) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_pdu(case.octets)
    assert type(info.value) is RemoteProtocolError
    assert info.value.command_status == case.command_status
    assert info.value.sequence_number == case.sequence_number


def test_frame_shorter_than_a_header_is_a_framing_error() -> None:
    with pytest.raises(FramingError) as info:
        decode_pdu(wire("0000000c", "00000015", "00000000"))
    assert info.value.command_status == Status.ESME_RINVCMDLEN
    assert info.value.sequence_number is None


# --- encoding limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "command_id", "command_status"),
    [
        ("system_id of 16", Bind(system_id="s" * 16), CommandId.bind_transceiver, Status.ESME_RINVPARLEN),
        ("password of 9", Bind(password="p" * 9), CommandId.bind_transceiver, Status.ESME_RINVPARLEN),
        (
            "destination_addr of 21",
            ShortMessage(destination_addr="1" * 21),
            CommandId.submit_sm,
            Status.ESME_RINVPARLEN,
        ),
        (
            "message_id of 65",
            MessageIdResp(message_id="m" * 65),
            CommandId.submit_sm_resp,
            Status.ESME_RINVPARLEN,
        ),
        (
            "short_message of 255",
            ShortMessage(short_message=b"x" * 255),
            CommandId.submit_sm,
            Status.ESME_RINVMSGLEN,
        ),
    ],
)
def test_encode_of_a_too_long_field_is_a_local_protocol_error(
    name: str, body: Bind | ShortMessage | MessageIdResp, command_id: CommandId, command_status: int
) -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode_pdu(Pdu(command_id=command_id, sequence_number=1, body=body))
    assert info.value.command_status == command_status


def test_longest_fields_that_fit_encode() -> None:
    bind = encode_pdu(
        Pdu(
            command_id=CommandId.bind_transceiver,
            sequence_number=1,
            body=Bind(system_id="s" * 15, password="p" * 8),
        )
    )
    assert bind[16:] == b"s" * 15 + b"\0" + b"p" * 8 + b"\0" + b"\0" + b"\x34\x00\x00" + b"\0"
    submit = encode_pdu(
        Pdu(command_id=CommandId.submit_sm, sequence_number=1, body=ShortMessage(short_message=b"x" * 254))
    )
    assert len(submit) == 16 + 16 + 1 + 254  # header, 16 octets of empty fields, sm_length, text
    assert submit[-255:] == b"\xfe" + b"x" * 254


# --- PduReader --------------------------------------------------------------------------------

TWO_FRAMES = BIND_OCTETS + USSD_OCTETS


def test_reader_frames_split_byte_by_byte() -> None:
    reader = PduReader()
    frames = []
    for i in range(len(TWO_FRAMES)):
        reader.feed(TWO_FRAMES[i : i + 1])
        frame = reader.next_frame()
        if frame is not None:
            frames.append((i, frame))
    assert frames == [
        (len(BIND_OCTETS) - 1, BIND_OCTETS),
        (len(TWO_FRAMES) - 1, USSD_OCTETS),
    ]
    assert reader.buffered == 0
    assert reader.next_frame() is None


def test_reader_several_frames_in_one_feed() -> None:
    reader = PduReader()
    enquire = ENQUIRE_OCTETS
    reader.feed(TWO_FRAMES + enquire + enquire[:5])
    assert reader.next_frame() == BIND_OCTETS
    assert reader.next_frame() == USSD_OCTETS
    assert reader.next_frame() == enquire
    assert reader.next_frame() is None
    assert reader.buffered == 5
    reader.feed(enquire[5:])
    assert reader.next_frame() == enquire
    assert reader.buffered == 0


@pytest.mark.parametrize(
    ("command_length", "frame_expected"),
    [(16, True), (65536, False)],
    ids=["16 is a header-only PDU", "65536 waits for the rest"],
)
def test_reader_accepts_the_boundary_lengths(command_length: int, frame_expected: bool) -> None:
    reader = PduReader()
    octets = command_length.to_bytes(4, "big") + wire("00000015", "00000000", "00000001")
    reader.feed(octets)
    assert reader.next_frame() == (octets if frame_expected else None)


@pytest.mark.parametrize("command_length", [0, 15, 65537, 0xFFFFFFFF])
def test_reader_impossible_length_is_a_framing_error(command_length: int) -> None:
    reader = PduReader()
    reader.feed(command_length.to_bytes(4, "big"))
    with pytest.raises(FramingError) as info:
        reader.next_frame()
    assert info.value.command_status == Status.ESME_RINVCMDLEN


def test_reader_needs_four_octets_to_judge_the_length() -> None:
    reader = PduReader()
    reader.feed(b"\x00\x00\x00")
    assert reader.next_frame() is None
    reader.feed(b"\x01")  # command_length 1
    with pytest.raises(FramingError):
        reader.next_frame()


# --- smpplib as a second opinion --------------------------------------------------------------


class SmpplibClient:
    """What smpplib's make_pdu needs as sequence source: it ignores ``sequence=``."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence - 1

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


@pytest.mark.parametrize(
    ("case_name", "command", "params"),
    [
        (
            "bind_transceiver",
            "bind_transceiver",
            {"system_id": "gw01", "password": "secret", "system_type": "USSD", "addr_ton": 1, "addr_npi": 1},
        ),
        (
            "submit_sm GSM text",
            "submit_sm",
            {
                "source_addr_ton": 5,
                "source_addr": "10086",
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": "8613800138000",
                "registered_delivery": 1,
                "short_message": b"Hello",
            },
        ),
        (
            "submit_sm with SAR TLVs",
            "submit_sm",
            {
                "source_addr_ton": 5,
                "source_addr": "10086",
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": "8613800138000",
                "registered_delivery": 1,
                "short_message": b"Hi",
                "sar_msg_ref_num": 42,
                "sar_total_segments": 2,
                "sar_segment_seqnum": 1,
            },
        ),
        (
            "submit_sm with message_payload",
            "submit_sm",
            {
                "source_addr_ton": 5,
                "source_addr": "10086",
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": "8613800138000",
                "registered_delivery": 1,
                "message_payload": b"Hello",
            },
        ),
    ],
    ids=["bind_transceiver", "submit_sm", "submit_sm SAR", "submit_sm message_payload"],
)
def test_table_octets_match_smpplib(case_name: str, command: str, params: dict[str, object]) -> None:
    case = CASE[case_name]
    theirs = smpp.make_pdu(command, client=SmpplibClient(case.pdu.sequence_number), **params).generate()
    assert theirs == case.octets == encode_pdu(case.pdu)


def test_delivery_receipt_deliver_sm_matches_smpplib() -> None:
    receipt = ShortMessage(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="8613800138000",
        destination_addr="10086",
        esm_class=0x04,
        short_message=b"id:5f3a9c sub:001 dlvrd:001 stat:DELIVRD err:000",
        tlvs=((Tag.message_state, b"\x02"), (Tag.receipted_message_id, b"5f3a9c\x00")),
    )
    ours = encode_pdu(Pdu(command_id=CommandId.deliver_sm, sequence_number=77, body=receipt))
    theirs = smpp.make_pdu(
        "deliver_sm",
        client=SmpplibClient(77),
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="8613800138000",
        destination_addr="10086",
        esm_class=0x04,
        short_message=receipt.short_message,
        message_state=2,
        receipted_message_id="5f3a9c",
    ).generate()
    assert ours == theirs
    assert decode_pdu(theirs) == Pdu(command_id=CommandId.deliver_sm, sequence_number=77, body=receipt)


def test_plain_deliver_sm_matches_smpplib() -> None:
    body = ShortMessage(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="8613800138000",
        destination_addr="10086",
        data_coding=0x08,
        short_message="查询余额".encode("utf-16-be"),
        tlvs=((Tag.its_session_info, b"\x07\x00"),),
    )
    theirs = smpp.make_pdu(
        "deliver_sm",
        client=SmpplibClient(3),
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="8613800138000",
        destination_addr="10086",
        data_coding=0x08,
        short_message=body.short_message,
        its_session_info=0x0700,
    ).generate()
    assert encode_pdu(Pdu(command_id=CommandId.deliver_sm, sequence_number=3, body=body)) == theirs


# --- constants against smpplib's tables -------------------------------------------------------


def test_command_ids_match_smpplib() -> None:
    assert {c.name: c.value for c in CommandId} == command_codes.commands


@pytest.mark.parametrize("tag", list(Tag), ids=lambda t: t.name)
def test_tags_match_smpplib(tag: Tag) -> None:
    assert consts.OPTIONAL_PARAMS[tag.name] == tag.value


def test_status_names() -> None:
    assert status_name(0x0E) == "ESME_RINVPASWD"
    assert status_name(Status.ESME_RTHROTTLED) == "ESME_RTHROTTLED"
    assert status_name(0x12345678) == "0x12345678"
    assert status_description(0x0E) == "Invalid Password"
    for status in Status:
        assert status_name(status) == status.name


def test_response_id() -> None:
    assert response_id(CommandId.submit_sm) is CommandId.submit_sm_resp
    assert response_id(CommandId.data_sm) is CommandId.data_sm_resp
    assert response_id(CommandId.outbind) is None
    assert response_id(CommandId.alert_notification) is None
    assert CommandId.generic_nack.is_response
    assert not CommandId.enquire_link.is_response


def test_empty_body_type_is_header_only() -> None:
    assert encode_pdu(Pdu(command_id=CommandId.enquire_link, sequence_number=1, body=Empty())) == wire(
        "00000010", "00000015", "00000000", "00000001"
    )
