"""Collecting MTs: accepted submit_sm are decoded and their concatenated parts joined into one :class:`Mt`.

Parts are grouped by (source_addr, destination_addr, reference), whether the reference came in an 8-bit
or 16-bit UDH or in SAR TLVs, and joined as raw octets before decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import Tag
from gateway.smpp.text import decode_payload, join_parts, read_short_message


@dataclass(frozen=True, slots=True, kw_only=True)
class Mt:
    """One complete mobile-terminated message, its concatenated parts joined."""

    source_addr: str
    destination_addr: str
    text: str
    message_ids: tuple[str, ...]
    parts: int
    data_coding: int
    registered_delivery: int
    received_at: float
    tlvs: tuple[tuple[int, bytes], ...] = ()  # USSD's ussd_service_op and its_session_info, if sent

    @property
    def ussd_service_op(self) -> int | None:
        """The USSD operation the ESME asked for (2: USSR request, 17: PSSR response...), None for an SMS."""
        for tag, value in self.tlvs:
            if tag == Tag.ussd_service_op and value:
                return value[0]
        return None

    @property
    def its_session_info(self) -> bytes | None:
        for tag, value in self.tlvs:
            if tag == Tag.its_session_info:
                return value
        return None


_KEPT = (Tag.ussd_service_op, Tag.its_session_info)


@dataclass(slots=True, kw_only=True)
class _Group:
    """The parts received so far of one MT; the first part to arrive gives the MT's fields."""

    source_addr: str
    destination_addr: str
    data_coding: int
    registered_delivery: int
    total: int
    tlvs: tuple[tuple[int, bytes], ...] = ()
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)  # seqno → (payload, message_id)

    @classmethod
    def first_of(cls, message: ShortMessage, *, total: int) -> _Group:
        return cls(
            source_addr=message.source_addr,
            destination_addr=message.destination_addr,
            data_coding=message.data_coding,
            registered_delivery=message.registered_delivery,
            total=total,
            tlvs=tuple((int(tag), bytes(value)) for tag, value in message.tlvs if tag in _KEPT),
        )


class MtCollector:
    """The MTs completed so far, in completion order, and the parts of those still incomplete."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.mts: list[Mt] = []
        self._clock = clock
        self._groups: dict[tuple[str, str, int], _Group] = {}

    def add(self, message_id: str, message: ShortMessage) -> None:
        """Take in one accepted submit_sm; an MT is appended to :attr:`mts` once all its parts are in."""
        part = read_short_message(message)
        concat = part.concat
        if concat is None or concat.total <= 1 or not 1 <= concat.seqno <= concat.total:
            single = _Group.first_of(message, total=1)
            single.parts[1] = (part.payload, message_id)
            self._finish(single)
            return
        key = (message.source_addr, message.destination_addr, concat.reference)
        group = self._groups.get(key)
        if group is None or group.total != concat.total:
            group = self._groups[key] = _Group.first_of(message, total=concat.total)
        group.parts[concat.seqno] = (part.payload, message_id)  # a part sent again replaces the first copy
        if len(group.parts) == group.total:
            del self._groups[key]
            self._finish(group)

    def _finish(self, group: _Group) -> None:
        payload, _missing = join_parts(((n, p) for n, (p, _) in group.parts.items()), group.total)
        self.mts.append(
            Mt(
                source_addr=group.source_addr,
                destination_addr=group.destination_addr,
                text=decode_payload(group.data_coding, payload),
                message_ids=tuple(group.parts[n][1] for n in sorted(group.parts)),
                parts=group.total,
                data_coding=group.data_coding,
                registered_delivery=group.registered_delivery,
                received_at=self._clock(),
                tlvs=group.tlvs,
            )
        )
