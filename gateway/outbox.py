"""Outbox rows → submit_sm parts → recorded outcome.

Each MT is split into parts (the concatenation reference is derived from its outbox id, so a part
resent after a reconnect still joins the others on the handset). The link sends the parts; when all of
an MT's parts are accepted the MT is marked sent with its message ids, and a permanent refusal of any
part marks it failed with that status. An MT still queued at a restart is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from gateway.clock import Clock
from gateway.db.store import Store
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import status_name
from gateway.smpp.text import Concat, split_text
from gateway.tasks import Background
from gateway.types import OutboundMessage

log = logging.getLogger("gateway.outbox")


class PartSink(Protocol):
    def submit(self, ref: int, message: ShortMessage) -> None: ...
    def forget(self, ref: int) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Addressing:
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    registered_delivery: int = 1
    concat: Concat = Concat.UDH8


@dataclass(slots=True)
class _Sending:
    mt: OutboundMessage
    refs: list[int]
    message_ids: dict[int, str] = field(default_factory=dict)


class Outbox:
    def __init__(self, *, store: Store, link: PartSink, clock: Clock, addressing: Addressing) -> None:
        self._store = store
        self._link = link
        self._clock = clock
        self._addressing = addressing
        self._sending: dict[int, _Sending] = {}
        self._part_of: dict[int, tuple[int, int]] = {}  # ref → (mt id, seqno)
        self._next_ref = 1
        self._tasks = Background("outbox")
        self._accepted: list[tuple[int, list[str]]] = []  # MTs accepted whole this turn of the loop
        self.sent = 0
        self.failed = 0

    @property
    def depth(self) -> int:
        """MTs handed to the link and not yet settled."""
        return len(self._sending)

    def send(self, mt: OutboundMessage) -> None:
        a = self._addressing
        parts = split_text(mt.text, reference=mt.id, concat=a.concat)
        refs = []
        for seqno, part in enumerate(parts, 1):
            ref = self._next_ref
            self._next_ref += 1
            self._part_of[ref] = (mt.id, seqno)
            refs.append(ref)
            self._link.submit(
                ref,
                ShortMessage(
                    source_addr_ton=a.source_addr_ton,
                    source_addr_npi=a.source_addr_npi,
                    source_addr=mt.source_addr,
                    dest_addr_ton=a.dest_addr_ton,
                    dest_addr_npi=a.dest_addr_npi,
                    destination_addr=mt.destination_addr,
                    esm_class=part.esm_class,
                    registered_delivery=a.registered_delivery,
                    data_coding=part.data_coding,
                    short_message=part.short_message,
                    tlvs=part.tlvs,
                ),
            )
        self._sending[mt.id] = _Sending(mt=mt, refs=refs)

    def submit_accepted(self, ref: int, message_id: str) -> None:
        self._link.forget(ref)
        located = self._part_of.pop(ref, None)
        if located is None:
            return
        mt_id, seqno = located
        sending = self._sending.get(mt_id)
        if sending is None:
            return
        sending.message_ids[seqno] = message_id
        if len(sending.message_ids) == len(sending.refs):
            del self._sending[mt_id]
            ids = [sending.message_ids[n] for n in range(1, len(sending.refs) + 1)]
            self.sent += 1
            if not self._accepted:
                asyncio.get_running_loop().call_soon(self._record_accepted)
            self._accepted.append((mt_id, ids))

    def _record_accepted(self) -> None:
        """The MTs accepted in one turn of the loop, recorded as sent in one operation of the next commit."""
        accepted, self._accepted = self._accepted, []
        if not accepted:
            return
        self._tasks.spawn(self._store.mts_sent(accepted, now=self._clock.now()))

    def submit_failed(self, ref: int, command_status: int) -> None:
        located = self._part_of.get(ref)
        if located is None:
            self._link.forget(ref)
            return
        sending = self._sending.pop(located[0], None)
        if sending is None:
            return
        for other in sending.refs:  # the rest of a message that cannot arrive whole is not worth sending
            self._part_of.pop(other, None)
            self._link.forget(other)
        self.failed += 1
        log.error("mt refused by smsc", extra={"mt_id": sending.mt.id, "status": status_name(command_status)})
        self._tasks.spawn(self._store.mt_failed(sending.mt.id, command_status, now=self._clock.now()))

    async def drain(self) -> None:
        if self._accepted:  # not left for a turn of the loop that may not come before the store closes
            self._record_accepted()
        await self._tasks.wait()
