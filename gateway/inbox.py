"""deliver_sm → stored MO (or receipt), and only then deliver_sm_resp.

A deliver_sm is acknowledged after its content is committed, so an acknowledged MO is never lost. A
part of a concatenated MO is stored as a part; the part that completes the set is stored as the joined
MO in the same commit that drops the parts. Parts that wait longer than the reassembly timeout are
joined as they are and handed on marked incomplete, so the subscriber still gets an answer.

What one sender can make the gateway hold is bounded: parts held per sender and in all
(``gateway.max_parts_per_sender``, ``max_parts``; past them a part is refused with ESME_RMSGQFUL and the
SMSC offers it again later), and the length of one MO (``gateway.max_mo_octets``: a longer one is stored
cut and answered that it is too long). A sender the rate limit has already silenced is acknowledged and
not stored. Every deliver_sm gets a response, also when handling it fails (ESME_RX_T_APPN for an MO, to be
offered again; ESME_RSYSERR for a receipt that cannot be read). Redeliveries: :mod:`gateway.redelivery`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.clock import Clock
from gateway.db.messages import StoredPart
from gateway.db.store import Store, Then
from gateway.link import DeliverHandle
from gateway.redelivery import MoKey, Redeliveries
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import Status
from gateway.smpp.receipt import is_receipt, parse_receipt
from gateway.smpp.text import InPart, decode_payload, join_parts, read_short_message
from gateway.tasks import Background
from gateway.types import InboundMessage

log = logging.getLogger("gateway.inbox")

PartKey = tuple[str, str, int, int]  # source_addr, destination_addr, reference, total


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxLimits:
    reassembly_timeout: float
    redelivery_window: float = 30.0
    max_mo_octets: int = 1600
    max_parts_per_sender: int = 32
    max_parts: int = 10000


@dataclass(frozen=True, slots=True)
class AckToken:
    """What the link watches an acknowledgement with: the MO's content, and the stored MO it stands for."""

    key: MoKey
    mo_id: int


@dataclass(slots=True)
class _Partial:
    first: StoredPart
    payloads: dict[int, bytes] = field(default_factory=dict)

    @property
    def octets(self) -> int:
        return sum(len(p) for p in self.payloads.values())


@dataclass(slots=True)
class _Storing:
    """An MO being stored: a copy arriving on another connection meanwhile waits for its outcome."""

    connection: object
    done: asyncio.Future[None]


class _Answer:
    """A deliver_sm's one response."""

    __slots__ = ("_answer", "handle", "sent")

    def __init__(self, answer: Callable[[DeliverHandle, int, object], None], handle: DeliverHandle) -> None:
        self._answer = answer
        self.handle = handle
        self.sent = False

    def __call__(self, status: int, token: object = None) -> None:
        if not self.sent:
            self.sent = True
            self._answer(self.handle, status, token)


class Inbox:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        answer: Callable[[DeliverHandle, int, object], None],
        dispatch: Callable[[InboundMessage], None],
        limits: InboxLimits,
        silenced: Callable[[str, float], bool] = lambda sender, now: False,
        at_once: Callable[[InboundMessage, Then], bool] = lambda mo, stored: False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._answer = answer
        self._dispatch = dispatch
        self._limits = limits
        self._silenced = silenced
        self._at_once = at_once  # stores the MO with its answer, and hands it on itself; False: it cannot
        self._partials: dict[PartKey, _Partial] = {}
        self._held: Counter[str] = Counter()  # parts held, by sender
        self._held_total = 0
        self._closed: dict[PartKey, float] = {}  # sets joined or refused lately: a late part is dropped
        self.redeliveries = Redeliveries(limits.redelivery_window)
        self._storing: dict[MoKey, _Storing] = {}  # the latest copy of each content being stored
        self._confirmed: list[int] = []  # MOs whose acknowledgement the SMSC surely read, to record
        self._tasks = Background("inbox")
        self.accepting = True
        self.received = 0
        self.deduplicated = 0  # dropped here: copies of an MO whose acknowledgement was never written
        self.silenced = 0  # from a sender the rate limit has silenced: acknowledged, not stored
        self.refused_parts = 0  # parts refused with ESME_RMSGQFUL (too many held)
        self.failed = 0  # deliver_sm whose handling failed (answered with an error status)
        self.receipts: Counter[str] = Counter()  # by stat (DELIVRD, UNDELIV, ...)

    async def recover(self) -> None:
        """Reload the parts stored before a restart; the last MOs acknowledged before it may come again.

        After a crash, every MO stored within the redelivery window before the newest one whose
        acknowledgement was not confirmed (the SMSC answered a request written after it) is perhaps
        delivered again (:mod:`gateway.redelivery`); a clean stop unbinds after every acknowledgement.
        """
        for part in await self._store.stored_parts():
            self._remember(part)
        if not self._store.crashed:
            return
        now = self._clock.now()
        for mo_id, *key in await self._store.recent_mos(self._limits.redelivery_window):
            self.redeliveries.expect((key[0], key[1], key[2]), mo_id, now, sure=False)

    def link_bound(self, bound: bool) -> None:
        self.redeliveries.link_bound(bound, self._clock.now())

    def acks_uncertain(self, tokens: list[object]) -> None:
        """The link lost the connection before the SMSC showed it read these acknowledgements."""
        self._expect(tokens, sure=False)

    def acks_unsent(self, tokens: list[object]) -> None:
        """These acknowledgements could not be written (the connection had closed): the SMSC will deliver
        these MOs again."""
        self._expect(tokens, sure=True)

    def _expect(self, tokens: list[object], *, sure: bool) -> None:
        now = self._clock.now()
        lost = []
        for token in tokens:
            if isinstance(token, AckToken):
                self.redeliveries.expect(token.key, token.mo_id, now, sure=sure)
                lost.append(token.mo_id)
        if lost and self._store.shared:  # the SMSC may deliver them again to another instance's bind
            self._tasks.spawn(self._store.acks_lost(lost, sure=sure))

    def acks_confirmed(self, tokens: list[object]) -> None:
        """The SMSC surely read these acknowledgements: recorded (batched per turn of the loop), so after a
        crash only the MOs whose acknowledgement was not confirmed are expected again."""
        ids = [t.mo_id for t in tokens if isinstance(t, AckToken)]
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
        answer = _Answer(self._answer, handle)
        if is_receipt(message):
            self._tasks.spawn(self._safely(answer, self._receipt(answer, message), Status.ESME_RSYSERR))
            return
        try:
            part = read_short_message(message)
        except Exception as exc:  # never silence: the SMSC would wait, then deliver it again
            self._failed(answer, exc, Status.ESME_RX_T_APPN)
            return
        self.received += 1
        single = part.concat is None or part.concat.total <= 1
        if single and self._silenced(message.source_addr, self._clock.now()):
            # Over the rate limit and already told: it would get no answer. Acknowledged at once, in this
            # turn of the loop, without a task or a write, so a flood costs others almost nothing.
            self.silenced += 1
            answer(Status.ESME_ROK)
            return
        if single:  # most MOs: stored and answered by callbacks, without a task of their own
            try:
                text = decode_payload(part.data_coding, part.payload)
            except Exception as exc:
                self._failed(answer, exc, Status.ESME_RX_T_APPN)
                return
            too_long = len(part.payload) > self._limits.max_mo_octets
            self._single(answer, message, text, too_long, self._clock.now())
            return
        stored = self._stored_part(message, part)
        self._tasks.spawn(self._safely(answer, self._part(answer, stored), Status.ESME_RX_T_APPN))

    def expire(self) -> None:
        """Hand on, marked incomplete, every concatenated MO whose parts stopped coming."""
        now = self._clock.now()
        self.redeliveries.expire(now)
        for key, closed_at in list(self._closed.items()):
            if now - closed_at >= self._limits.reassembly_timeout:
                del self._closed[key]
        for key, partial in list(self._partials.items()):
            if now - partial.first.received_at >= self._limits.reassembly_timeout:
                self._release(key)
                self._tasks.spawn(self._join(None, partial, complete=False))

    async def drain(self) -> None:
        self._record_confirmed()
        while self._storing:  # single MOs being stored: each answered before its entry goes
            await asyncio.gather(*(storing.done for storing in list(self._storing.values())))
        await self._tasks.wait()

    # --- inside ---------------------------------------------------------------------------------

    async def _safely(self, answer: _Answer, work: Awaitable[None], status: Status) -> None:
        """Run one deliver_sm's handling; if it fails, it is still answered (never silence: the SMSC
        would wait, then deliver it again into the same failure), with one log line."""
        try:
            await work
        except Exception as exc:
            self._failed(answer, exc, status)

    def _failed(self, answer: _Answer, exc: Exception, status: Status) -> None:
        self.failed += 1
        log.error(
            "deliver_sm could not be handled", extra={"error": f"{type(exc).__name__}: {exc}", "status": status.name}
        )
        answer(status)

    async def _receipt(self, answer: _Answer, message: ShortMessage) -> None:
        receipt = parse_receipt(message)
        await self._store.add_receipt(receipt.message_id, receipt.stat, now=self._clock.now())
        self.receipts[receipt.stat] += 1
        answer(Status.ESME_ROK)

    def _stored_part(self, message: ShortMessage, part: InPart) -> StoredPart:
        concat = part.concat
        assert concat is not None
        return StoredPart(
            source_addr=message.source_addr,
            destination_addr=message.destination_addr,
            reference=concat.reference,
            total=concat.total,
            seqno=concat.seqno,
            data_coding=part.data_coding,
            payload=part.payload,
            received_at=self._clock.now(),
        )

    def _single(self, answer: _Answer, message: ShortMessage, text: str, too_long: bool, now: float) -> None:
        key = (message.source_addr, message.destination_addr, text)
        connection = answer.handle.connection
        earlier = self._storing.get(key)
        mine = self._storing[key] = _Storing(connection, asyncio.get_running_loop().create_future())
        if earlier is not None and earlier.connection is not connection and not earlier.done.done():
            # A copy on another connection: first know whether its acknowledgement could be written.

            def after_earlier(_: object) -> None:
                self._store_single(answer, key, too_long, now, mine, earlier)

            earlier.done.add_done_callback(after_earlier)
            return
        self._store_single(answer, key, too_long, now, mine, earlier)

    def _store_single(
        self, answer: _Answer, key: MoKey, too_long: bool, now: float, mine: _Storing, earlier: _Storing | None
    ) -> None:
        source_addr, destination_addr, text = key
        try:
            expected = self.redeliveries.arrived(key)
            if expected is not None and expected.sure:
                self.deduplicated += 1
                log.info("mo delivered again after its acknowledgement could not be sent: not handled twice")
                answer(Status.ESME_ROK, AckToken(key, expected.mo_id))
                self._settle(key, mine, earlier)
                return
            mo = InboundMessage(
                id=0,
                source_addr=source_addr,
                destination_addr=destination_addr,
                text=self._cut(text),
                received_at=now,
                too_long=too_long,
                redelivery_of=expected.mo_id if expected is not None else None,
            )
            if self._at_once(mo, lambda ok, stored: self._stored(answer, key, mine, earlier, ok, stored, False)):
                return
            self._store.add_mo_then(mo, lambda ok, stored: self._stored(answer, key, mine, earlier, ok, stored))
        except Exception as exc:
            self._failed(answer, exc, Status.ESME_RX_T_APPN)
            self._settle(key, mine, earlier)

    def _stored(
        self,
        answer: _Answer,
        key: MoKey,
        mine: _Storing,
        earlier: _Storing | None,
        ok: bool,
        stored: Any,
        dispatch: bool = True,
    ) -> None:
        """The MO is committed (or could not be): acknowledged, then its copies may go on, then it is handed on
        (unless it was answered in the same commit)."""
        if not ok:
            self._failed(answer, stored, Status.ESME_RX_T_APPN)
            self._settle(key, mine, earlier)
            return
        answer(Status.ESME_ROK, AckToken(key, stored.id))
        self._settle(key, mine, earlier)
        log.debug("mo stored", extra={"mo_id": stored.id, "msisdn": stored.source_addr, "to": stored.destination_addr})
        if dispatch:
            self._dispatch(stored)

    def _settle(self, key: MoKey, mine: _Storing, earlier: _Storing | None) -> None:
        """Mark this copy's outcome known once the earlier copy's is too (one waiter each: no stampede)."""

        def done(_: object = None) -> None:
            mine.done.set_result(None)
            if self._storing.get(key) is mine:
                del self._storing[key]

        if earlier is None or earlier.done.done():
            done()
        else:
            earlier.done.add_done_callback(done)

    async def _part(self, answer: _Answer, stored: StoredPart) -> None:
        now = stored.received_at
        key = (stored.source_addr, stored.destination_addr, stored.reference, stored.total)
        if key in self._closed:
            log.info("late copy of a part of a joined or refused mo dropped", extra={"seqno": stored.seqno})
            answer(Status.ESME_ROK)
            return
        partial = self._partials.get(key)
        is_new = partial is None or stored.seqno not in partial.payloads
        if is_new and not self._room_for(stored.source_addr):
            self.refused_parts += 1
            answer(Status.ESME_RMSGQFUL)  # the SMSC keeps it and offers it again later
            return
        key, partial = self._remember(stored)
        if partial.octets > self._limits.max_mo_octets:
            self._release(key)
            self._closed[key] = now
            await self._join(answer, partial, complete=True, too_long=True)
        elif len(partial.payloads) >= stored.total:
            self._release(key)
            self._closed[key] = now
            await self._join(answer, partial, complete=True)
        else:
            await self._store.add_part(stored)
            answer(Status.ESME_ROK)

    def _room_for(self, sender: str) -> bool:
        limits = self._limits
        if self._held[sender] < limits.max_parts_per_sender and self._held_total < limits.max_parts:
            return True
        log.warning(
            "too many parts held: refused for now",
            extra={"msisdn": sender, "held_by_sender": self._held[sender], "held": self._held_total},
        )
        return False

    def _remember(self, part: StoredPart) -> tuple[PartKey, _Partial]:
        key = (part.source_addr, part.destination_addr, part.reference, part.total)
        partial = self._partials.setdefault(key, _Partial(first=part))
        if part.seqno not in partial.payloads:
            self._held[part.source_addr] += 1
            self._held_total += 1
        partial.payloads[part.seqno] = part.payload
        return key, partial

    def _release(self, key: PartKey) -> None:
        partial = self._partials.pop(key)
        sender = key[0]
        self._held[sender] -= len(partial.payloads)
        self._held_total -= len(partial.payloads)
        if self._held[sender] <= 0:
            del self._held[sender]

    def _cut(self, text: str) -> str:
        """At most max_mo_octets characters are kept of a text (no command is near that long)."""
        limit = self._limits.max_mo_octets
        return text if len(text) <= limit else text[:limit]

    async def _join(self, answer: _Answer | None, partial: _Partial, *, complete: bool, too_long: bool = False) -> None:
        first = partial.first
        payload, missing = join_parts(partial.payloads.items(), first.total)
        if missing and not too_long:
            log.warning(
                "concatenated mo incomplete",
                extra={"msisdn": first.source_addr, "missing": len(missing), "total": first.total},
            )
        mo = await self._store.add_mo(
            source_addr=first.source_addr,
            destination_addr=first.destination_addr,
            text=self._cut(decode_payload(first.data_coding, payload)),
            received_at=first.received_at,
            complete=too_long or (complete and not missing),
            too_long=too_long,
            parts_done=first,
        )
        if answer is not None:
            answer(Status.ESME_ROK)
        self._dispatch(mo)


async def expire_periodically(inbox: Inbox, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        inbox.expire()
