"""SMPP 3.4 numbers: command ids, command_status values, TLV tags, esm_class and data_coding bits.

Command ids and TLV tags are spelled here as the spec spells them, so mypy sees them; a test checks
them against smpplib's own tables. Status names and descriptions come straight from smpplib.
"""

from __future__ import annotations

from enum import IntEnum

from smpplib import consts as _smpplib_consts


class CommandId(IntEnum):
    generic_nack = 0x80000000
    bind_receiver = 0x00000001
    bind_receiver_resp = 0x80000001
    bind_transmitter = 0x00000002
    bind_transmitter_resp = 0x80000002
    query_sm = 0x00000003
    query_sm_resp = 0x80000003
    submit_sm = 0x00000004
    submit_sm_resp = 0x80000004
    deliver_sm = 0x00000005
    deliver_sm_resp = 0x80000005
    unbind = 0x00000006
    unbind_resp = 0x80000006
    replace_sm = 0x00000007
    replace_sm_resp = 0x80000007
    cancel_sm = 0x00000008
    cancel_sm_resp = 0x80000008
    bind_transceiver = 0x00000009
    bind_transceiver_resp = 0x80000009
    outbind = 0x0000000B
    enquire_link = 0x00000015
    enquire_link_resp = 0x80000015
    submit_multi = 0x00000021
    submit_multi_resp = 0x80000021
    alert_notification = 0x00000102
    data_sm = 0x00000103
    data_sm_resp = 0x80000103

    @property
    def is_response(self) -> bool:
        return bool(self.value & 0x80000000)


RESPONSE_BIT = 0x80000000


class Status(IntEnum):
    """The command_status values the gateway acts on (all of them have names via :func:`status_name`)."""

    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RSYSERR = 0x00000008
    ESME_RINVDSTADR = 0x0000000B
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RMSGQFUL = 0x00000014
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RTHROTTLED = 0x00000058
    ESME_RX_T_APPN = 0x00000064
    ESME_RINVOPTPARSTREAM = 0x000000C0
    ESME_RINVPARLEN = 0x000000C2
    ESME_RUNKNOWNERR = 0x000000FF


TRANSIENT_STATUSES = frozenset({Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL})
"""Statuses after which the same PDU is sent again, more slowly. Any other non-zero status is final."""

_STATUS_NAMES: dict[int, str] = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(_smpplib_consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}


def status_name(status: int) -> str:
    """``0x0E`` → ``'ESME_RINVPASWD'``; unknown values are shown in hex."""
    return _STATUS_NAMES.get(status, f"0x{status:08X}")


OTHER_STATUS = "other"
"""The metric label of every command_status SMPP 3.4 does not name: an SMSC picks those at will, and a
label value per number would make a new time series for each."""


def known_status(status: int) -> bool:
    return status in _STATUS_NAMES


def status_label(status: int) -> str:
    """``0x0E`` → ``'ESME_RINVPASWD'``; a value SMPP 3.4 does not name → ``'other'``."""
    return _STATUS_NAMES.get(status, OTHER_STATUS)


def status_description(status: int) -> str:
    """The spec's words for a status, e.g. ``'Invalid Password'``."""
    description: str = _smpplib_consts.DESCRIPTIONS.get(status, "Unknown status")
    return description


class Tag(IntEnum):
    """TLV (optional parameter) tags the gateway reads or writes."""

    receipted_message_id = 0x001E
    sar_msg_ref_num = 0x020C
    sar_total_segments = 0x020E
    sar_segment_seqnum = 0x020F
    sc_interface_version = 0x0210
    message_payload = 0x0424
    message_state = 0x0427
    ussd_service_op = 0x0501
    its_session_info = 0x1383


class EsmClass:
    """Bits of esm_class (SMPP 3.4 §5.2.12)."""

    MESSAGE_TYPE_MASK = 0x3C
    DELIVERY_RECEIPT = 0x04
    UDHI = 0x40


class DataCoding:
    """data_coding values (SMPP 3.4 §5.2.19) the gateway produces or understands."""

    SMSC_DEFAULT = 0x00  # GSM 03.38 (unpacked septets) on every SMSC we target
    IA5 = 0x01
    OCTET_UNSPECIFIED = 0x02
    LATIN1 = 0x03
    OCTET_UNSPECIFIED_2 = 0x04
    UCS2 = 0x08


INTERFACE_VERSION = 0x34
