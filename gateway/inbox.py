"""deliver_sm → stored MO (or receipt), and only then deliver_sm_resp.

A deliver_sm is acknowledged after its content is committed, so an acknowledged MO is never lost. A
part of a concatenated MO is stored as a part; the part that completes the set is stored as the joined
MO in the same commit that drops the parts. Parts that wait longer than the reassembly timeout are
joined as they are and handed on marked incomplete, so the subscriber still gets an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.clock import Clock
from gateway.link import DeliverHandle
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import Status
from gateway.smpp.receipt import is_receipt, parse_receipt
from gateway.smpp.text import decode_payload, join_parts, read_short_message
from gateway.store import Store, StoredPart
from gateway.tasks import Background
from gateway.types import InboundMessage

log = logging.getLogger("gateway.inbox")

PartKey = tuple[str, str, int, int]  # source_addr, destination_addr, reference, total
MoKey = tuple[str, str, str]  # source_addr, destination_addr, text


@dataclass(frozen=True, slots=True)
class AckToken:
    """What the link watches an acknowledgement with: the MO's content, and its row (None for a
    redelivery that was not stored again)."""

    key: MoKey
    mo_id: int | None


@dataclass(slots=True)
class _Partial:
    first: StoredPart
    payloads: dict[int, bytes] = field(default_factory=dict)


class Inbox:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        answer: Callable[[DeliverHandle, int, object], None],
        dispatch: Callable[[InboundMessage], None],
        reassembly_timeout: float,
        redelivery_window: float = 120.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._answer = answer
        self._dispatch = dispatch
        self._timeout = reassembly_timeout
        self._partials: dict[PartKey, _Partial] = {}
        self._joined: dict[PartKey, float] = {}  # recently joined sets: a late copy of a part is dropped
        # MOs whose deliver_sm_resp may not have reached the SMSC, by content, with when that became so:
        # the same content again within the window is the SMSC delivering it again, not a new message.
        self._uncertain: dict[MoKey, float] = {}
        # MOs being stored, by content: the same content arriving meanwhile waits for the outcome (an SMSC
        # may deliver again as soon as we rebind, before the first copy's commit has told its ack was lost).
        self._storing: dict[MoKey, asyncio.Future[None]] = {}
        self._confirmed: list[int] = []  # MOs whose acknowledgement the SMSC surely read, to record
        self._redelivery_window = redelivery_window
        self.deduplicated = 0
        self._tasks = Background("inbox")
        self.accepting = True
        self.received = 0
        self.receipts: Counter[str] = Counter()  # by stat (DELIVRD, UNDELIV, ...)

    async def recover(self) -> None:
        """Reload the parts stored before a restart; the last MOs acknowledged before it may come again.

        After a crash, every MO stored within the redelivery window before the newest one whose
        acknowledgement was not confirmed (the SMSC answered a request written after it) is a candidate for
        one redelivery; a subscriber's real repeat of a confirmed one is a new MO.
        """
        for part in await self._store.stored_parts():
            self._remember(part)
        if not self._store.crashed:
            return  # a clean stop unbinds after every acknowledgement has been answered past
        now = self._clock.now()
        for key in await self._store.recent_mos(self._redelivery_window):
            self._uncertain[key] = now

    def acks_uncertain(self, tokens: list[object]) -> None:
        """The link lost these MOs' acknowledgements (or could not send them): expect them once more."""
        now = self._clock.now()
        for token in tokens:
            if isinstance(token, AckToken):
                self._uncertain[token.key] = now

    def acks_confirmed(self, tokens: list[object]) -> None:
        """The SMSC surely read these acknowledgements: recorded (batched per turn of the loop), so after a
        crash only the MOs whose acknowledgement was not confirmed are expected again."""
        ids = [t.mo_id for t in tokens if isinstance(t, AckToken) and t.mo_id is not None]
        if not ids:
            return
        if not self._confirmed:
            asyncio.get_running_loop().call_soon(self._record_confirmed)
        self._confirmed += ids

    def _record_confirmed(self) -> None:
        confirmed, self._confirmed = self._confirmed, []
        if confirmed:
            self._tasks.spawn(self._store.acks_confirmed(confirmed))

    def deliver_received(self, handle: DeliverHandle, message: ShortMessage) -> None:
        if not self.accepting:
            self._answer(handle, Status.ESME_RX_T_APPN, None)  # shutting down: the SMSC will deliver it again
            return
        if is_receipt(message):
            self._tasks.spawn(self._receipt(handle, message))
        else:
            self._tasks.spawn(self._mo(handle, message))

    def expire(self) -> None:
        """Hand on, marked incomplete, every concatenated MO whose parts stopped coming."""
        now = self._clock.now()
        for mo_key, since in list(self._uncertain.items()):
            if now - since >= self._redelivery_window:
                del self._uncertain[mo_key]
        for key, joined_at in list(self._joined.items()):
            if now - joined_at >= self._timeout:
                del self._joined[key]
        for key, partial in list(self._partials.items()):
            if now - partial.first.received_at >= self._timeout:
                del self._partials[key]
                self._tasks.spawn(self._join(None, key, partial, complete=False))

    async def drain(self) -> None:
        self._record_confirmed()
        await self._tasks.wait()

    # --- inside ---------------------------------------------------------------------------------

    async def _receipt(self, handle: DeliverHandle, message: ShortMessage) -> None:
        receipt = parse_receipt(message)
        await self._store.add_receipt(receipt.message_id, receipt.stat, now=self._clock.now())
        self.receipts[receipt.stat] += 1
        self._answer(handle, Status.ESME_ROK, None)

    async def _mo(self, handle: DeliverHandle, message: ShortMessage) -> None:
        self.received += 1
        now = self._clock.now()
        part = read_short_message(message)
        concat = part.concat
        if concat is None or concat.total <= 1:
            text = decode_payload(part.data_coding, part.payload)
            mo_key = (message.source_addr, message.destination_addr, text)
            while (earlier := self._storing.get(mo_key)) is not None:
                await earlier  # then its acknowledgement is either written or known to be uncertain
            if self._uncertain.pop(mo_key, None) is not None:
                self.deduplicated += 1
                log.info("mo delivered again after a lost acknowledgement: not handled twice")
                self._answer(handle, Status.ESME_ROK, AckToken(mo_key, None))
                return
            storing = self._storing[mo_key] = asyncio.get_running_loop().create_future()
            try:
                mo = await self._store.add_mo(
                    source_addr=message.source_addr,
                    destination_addr=message.destination_addr,
                    text=text,
                    received_at=now,
                )
                self._answer(handle, Status.ESME_ROK, AckToken(mo_key, mo.id))
            finally:
                del self._storing[mo_key]
                storing.set_result(None)
            log.debug("mo stored", extra={"mo_id": mo.id, "msisdn": mo.source_addr, "to": mo.destination_addr})
            self._dispatch(mo)
            return
        stored = StoredPart(
            source_addr=message.source_addr,
            destination_addr=message.destination_addr,
            reference=concat.reference,
            total=concat.total,
            seqno=concat.seqno,
            data_coding=part.data_coding,
            payload=part.payload,
            received_at=now,
        )
        key = (stored.source_addr, stored.destination_addr, stored.reference, stored.total)
        if key in self._joined:
            log.info("late copy of a part of a joined mo dropped", extra={"seqno": stored.seqno})
            self._answer(handle, Status.ESME_ROK, None)
            return
        key, partial = self._remember(stored)
        if len(partial.payloads) >= stored.total:
            del self._partials[key]
            self._joined[key] = now
            await self._join(handle, key, partial, complete=True)
        else:
            await self._store.add_part(stored)
            self._answer(handle, Status.ESME_ROK, None)

    def _remember(self, part: StoredPart) -> tuple[PartKey, _Partial]:
        key = (part.source_addr, part.destination_addr, part.reference, part.total)
        partial = self._partials.setdefault(key, _Partial(first=part))
        partial.payloads[part.seqno] = part.payload
        return key, partial

    async def _join(self, handle: DeliverHandle | None, key: PartKey, partial: _Partial, *, complete: bool) -> None:
        first = partial.first
        payload, missing = join_parts(partial.payloads.items(), first.total)
        if missing:
            log.warning(
                "concatenated mo incomplete",
                extra={"source_addr": first.source_addr, "missing": missing, "total": first.total},
            )
        mo = await self._store.add_mo(
            source_addr=first.source_addr,
            destination_addr=first.destination_addr,
            text=decode_payload(first.data_coding, payload),
            received_at=first.received_at,
            complete=complete and not missing,
            parts_done=first,
        )
        if handle is not None:
            self._answer(handle, Status.ESME_ROK, None)
        self._dispatch(mo)


async def expire_periodically(inbox: Inbox, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        inbox.expire()
