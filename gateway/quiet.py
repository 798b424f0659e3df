"""Warnings a peer can cause at will, written as a few lines however often it does."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Held:
    timer: asyncio.TimerHandle
    count: int = 0
    fields: dict[str, object] = field(default_factory=dict)


class QuietWarnings:
    """Warnings of one kind at most once per ``interval`` seconds: the first at once; then, while more
    come, one line per interval with the last one's fields and ``suppressed``, how many it stands for."""

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self.logger = logger
        self.interval = interval
        self._held: dict[str, _Held] = {}

    def warning(self, message: str, **fields: object) -> None:
        held = self._held.get(message)
        if held is None:
            self.logger.warning(message, extra=fields)
            self._hold(message)
        else:
            held.count += 1
            held.fields = fields

    def flush(self) -> None:
        """Write the lines still held back now (at shutdown)."""
        for message in list(self._held):
            self._held[message].timer.cancel()
            self._release(message, again=False)

    def _hold(self, message: str) -> None:
        timer = asyncio.get_running_loop().call_later(self.interval, self._release, message)
        self._held[message] = _Held(timer=timer)

    def _release(self, message: str, again: bool = True) -> None:
        held = self._held.pop(message)
        if held.count:
            self.logger.warning(message, extra={**held.fields, "suppressed": held.count})
            if again:
                self._hold(message)
