"""Delivery receipts: which message they are about and what happened to it.

The id comes from the ``receipted_message_id`` TLV when present, else from the ``id:`` field of the
receipt text (SMPP 3.4 Appendix B); the state from ``message_state`` or the text's ``stat:`` field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import EsmClass, Tag

_FIELD = re.compile(r"(id|stat|err):\s*([^\s]+)", re.IGNORECASE)
_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
STATES = frozenset(_STATES.values())
"""The message states SMPP 3.4 names; a receipt may still carry another word."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    message_id: str
    stat: str


def is_receipt(message: ShortMessage) -> bool:
    return message.esm_class & EsmClass.MESSAGE_TYPE_MASK == EsmClass.DELIVERY_RECEIPT


def parse_receipt(message: ShortMessage) -> Receipt:
    text = message.short_message.decode("latin-1")
    found = {name.lower(): value for name, value in _FIELD.findall(text)}
    tlv_id = message.tlv(Tag.receipted_message_id)
    message_id = tlv_id.rstrip(b"\0").decode("latin-1") if tlv_id else found.get("id", "")
    tlv_state = message.tlv(Tag.message_state)
    stat = _STATES.get(tlv_state[0], "UNKNOWN") if tlv_state else found.get("stat", "UNKNOWN").upper()
    return Receipt(message_id=message_id, stat=stat)
