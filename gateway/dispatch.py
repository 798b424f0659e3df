"""Stored MOs → handler, strictly in arrival order per subscriber, different subscribers side by side."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from gateway.tasks import Background
from gateway.types import InboundMessage


class Dispatcher:
    def __init__(self, handle: Callable[[InboundMessage], Awaitable[None]]) -> None:
        self._handle = handle
        self._queues: dict[str, deque[InboundMessage]] = {}
        self._workers = Background("dispatch")

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def put(self, mo: InboundMessage) -> None:
        queue = self._queues.get(mo.source_addr)
        if queue is not None:
            queue.append(mo)  # its worker is running and will get to it
            return
        self._queues[mo.source_addr] = deque([mo])
        self._workers.spawn(self._work(mo.source_addr))

    async def _work(self, source_addr: str) -> None:
        queue = self._queues[source_addr]
        try:
            while queue:
                await self._handle(queue[0])
                queue.popleft()
        finally:
            del self._queues[source_addr]

    async def drain(self) -> None:
        await self._workers.wait()
        await asyncio.sleep(0)
