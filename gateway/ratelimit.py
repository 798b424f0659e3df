"""Per-subscriber MO rate limit: over it, one polite answer per window, then silence.

Counted on the MOs that were let through, in sliding windows (by default 20 a minute and 200 an hour),
with time from the injected clock. In memory: a restart forgets the counts, which errs on the side of
answering.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence


class Verdict(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit: answer once that it is so
    SILENT = "silent"  # over the limit and already told: no answer


class RateLimiter:
    def __init__(self, limits: Sequence[tuple[int, float]]) -> None:
        """``limits``: (at most this many MOs, in this many seconds) pairs; 0 MOs means no limit."""
        self._limits = [(count, seconds) for count, seconds in limits if count > 0]
        self._longest = max((seconds for _, seconds in self._limits), default=0.0)
        self._seen: dict[str, deque[float]] = {}
        self._told_until: dict[str, float] = {}

    def check(self, key: str, now: float) -> Verdict:
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self._longest:
            seen.popleft()
        for count, seconds in self._limits:
            recent = [t for t in seen if t > now - seconds]
            if len(recent) >= count:
                if self._told_until.get(key, 0.0) > now:
                    return Verdict.SILENT
                self._told_until[key] = recent[-count] + seconds  # when this window lets one through again
                return Verdict.WARN
        seen.append(now)
        return Verdict.ALLOW
