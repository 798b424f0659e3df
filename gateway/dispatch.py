"""Stored MOs → handler, strictly in arrival order per subscriber, different subscribers side by side.

The handler is told each MO with a callback, ``finished()``, that it calls once (when the MO's answer is
committed, or its handling failed); then that subscriber's next MO goes to it. No task is made per MO or
per subscriber: an MO costs the loop only what its handler does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from gateway.types import InboundMessage

log = logging.getLogger("gateway.dispatch")

Finished = Callable[[], None]
Handler = Callable[[InboundMessage, Finished], None]


class Dispatcher:
    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        # By sender: the first is being handled (None: claimed by an MO answered in the commit that stores it).
        self._queues: dict[str, deque[InboundMessage | None]] = {}
        self._idle = asyncio.Event()

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def put(self, mo: InboundMessage) -> None:
        queue = self._queues.get(mo.source_addr)
        if queue is not None:
            queue.append(mo)  # its sender's earlier MO is in hand; this one follows it
            return
        self._queues[mo.source_addr] = deque([mo])
        self._start(mo.source_addr)

    def claim(self, source_addr: str) -> bool:
        """Take the sender's turn for an MO not stored yet (answered in the commit that stores it), if no
        earlier MO of theirs is in hand; their MOs stored meanwhile wait for :meth:`release` or :meth:`hand_on`."""
        if source_addr in self._queues:
            return False
        self._queues[source_addr] = deque([None])
        return True

    def hand_on(self, mo: InboundMessage) -> None:
        """The claimed turn's MO is stored but was not answered with it: handled now, the usual way."""
        self._queues[mo.source_addr][0] = mo
        self._start(mo.source_addr)

    def release(self, source_addr: str) -> None:
        """The claimed turn is over: the sender's next MO goes on."""
        self._finished(source_addr)

    def _start(self, source_addr: str) -> None:
        mo = self._queues[source_addr][0]
        assert mo is not None  # a claimed turn is handled by whoever claimed it
        try:
            self._handle(mo, lambda: self._finished(source_addr))
        except Exception:  # stays unanswered in the inbox until a restart; the sender's next MO goes on
            log.exception("mo could not be handled", extra={"mo_id": mo.id})
            self._finished(source_addr)

    def _finished(self, source_addr: str) -> None:
        queue = self._queues[source_addr]
        queue.popleft()
        if queue:  # in a later turn of the loop: a sender's backlog never deepens the stack
            asyncio.get_running_loop().call_soon(self._start, source_addr)
            return
        del self._queues[source_addr]
        if not self._queues:
            self._idle.set()

    async def drain(self) -> None:
        while self._queues:
            self._idle.clear()
            await self._idle.wait()
        await asyncio.sleep(0)
