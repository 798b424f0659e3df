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
        self._queues: dict[str, deque[InboundMessage]] = {}  # by sender: the first is being handled
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

    def _start(self, source_addr: str) -> None:
        mo = self._queues[source_addr][0]
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
