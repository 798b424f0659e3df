"""Per-subscriber MO rate limit: over it, one polite answer per window, then silence.

Counted on the MOs that were let through, in sliding windows (by default 20 a minute and 200 an hour),
with time from the injected clock. In memory: a restart forgets the counts, which errs on the side of
answering. A sender is forgotten once its last MO is older than the longest window, so the memory held
is bounded by the senders of the last hour, not by every sender ever seen.
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
        self._swept_at = float("-inf")

    def __len__(self) -> int:
        """How many senders are remembered."""
        return len(self._seen)

    def check(self, key: str, now: float) -> Verdict:
        self.sweep(now)
        if not self._limits:
            return Verdict.ALLOW
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self._longest:
            seen.popleft()
        over = self._over(seen, now)
        if over is not None:
            if self._told_until.get(key, 0.0) > now:
                return Verdict.SILENT
            self._told_until[key] = over  # when this window lets one through again
            return Verdict.WARN
        seen.append(now)
        return Verdict.ALLOW

    def uncount(self, key: str, at: float) -> None:
        """Take back the count :meth:`check` made at ``at`` for ``key``, if it is the sender's last: the MO was
        not one to count there after all (it may be the SMSC's second delivery of one, and is judged again
        the usual way)."""
        seen = self._seen.get(key)
        if seen and seen[-1] == at:
            seen.pop()

    def counted(self, key: str) -> int:
        """How many of ``key``'s MOs are counted, within the longest window."""
        seen = self._seen.get(key)
        return len(seen) if seen else 0

    @property
    def windows(self) -> list[float]:
        """The windows' lengths in seconds, in the order :meth:`judge` takes counts."""
        return [seconds for _, seconds in self._limits]

    def judge(self, counts: Sequence[int]) -> Verdict:
        """The verdict on an MO given how many its sender sent before it in each window, counted in the
        ledger across instances (:func:`gateway.db.messages.take_turn`): the first over a limit is told, the
        ones after it in the window are not."""
        over = [sent - count for (count, _), sent in zip(self._limits, counts, strict=False) if sent >= count]
        if not over:
            return Verdict.ALLOW
        return Verdict.SILENT if max(over) > 0 else Verdict.WARN

    def allows(self, key: str, now: float) -> bool:
        """Whether :meth:`check` would let an MO from ``key`` through now, without counting it."""
        seen = self._seen.get(key)
        return not self._limits or seen is None or self._over(seen, now) is None

    def silenced(self, key: str, now: float) -> bool:
        """Whether an MO from ``key`` now would get no answer (over the limit and already told), without
        counting it: such an MO need not even be stored."""
        if self._told_until.get(key, 0.0) <= now:
            return False
        seen = self._seen.get(key)
        return seen is not None and self._over(seen, now) is not None

    def _over(self, seen: deque[float], now: float) -> float | None:
        """If a window is full: when it lets one through again."""
        for count, seconds in self._limits:
            if len(seen) < count:
                continue
            oldest_counted = seen[-count]  # the count-th newest MO
            if oldest_counted > now - seconds:
                return oldest_counted + seconds
        return None

    def sweep(self, now: float) -> None:
        """Forget senders silent for the longest window. Runs at most once per quarter of it (O(1) amortised
        per MO), so a sender is forgotten at most 1.25 windows after its last MO."""
        if now - self._swept_at < max(self._longest / 4, 1.0):
            return
        self._swept_at = now
        horizon = now - self._longest
        self._seen = {key: seen for key, seen in self._seen.items() if seen and seen[-1] > horizon}
        self._told_until = {key: until for key, until in self._told_until.items() if until > now}
