"""When each open USSD session times out: a timer wheel by the second, so expiry touches only what is due.

Each key sits in the bucket of the whole second its deadline rounds up to; a heap holds the seconds that
have a bucket. Setting, moving and dropping a key is O(1) (a set's add and discard); taking the due keys
pops only the seconds that have passed and hands out only their keys, never looking at the others. A
key comes out at or after its deadline, at most a second late (a lookup that must be exact checks the
deadline itself). A bucket left empty stays until its second passes, so one second is never on the heap
twice: there are at most as many buckets as seconds in the time-out.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Deadlines(Generic[K]):
    def __init__(self) -> None:
        self._buckets: dict[int, set[K]] = {}  # a second → the keys due by it
        self._seconds: list[int] = []  # a heap of the seconds of _buckets
        self._second_of: dict[K, int] = {}

    def __len__(self) -> int:
        return len(self._second_of)

    def __contains__(self, key: object) -> bool:
        return key in self._second_of

    @property
    def buckets(self) -> int:
        return len(self._seconds)

    def set(self, key: K, deadline: float) -> None:
        """``key`` is due at ``deadline`` (replacing the deadline it had)."""
        second = math.ceil(deadline)
        old = self._second_of.get(key)
        if old == second:
            return
        if old is not None:
            self._buckets[old].discard(key)
        self._second_of[key] = second
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = set()
            heapq.heappush(self._seconds, second)
        bucket.add(key)

    def discard(self, key: K) -> None:
        second = self._second_of.pop(key, None)
        if second is not None:
            self._buckets[second].discard(key)

    def pop_due(self, now: float) -> list[K]:
        """The keys whose deadline is ``now`` or earlier (to the second), taken out."""
        due: list[K] = []
        while self._seconds and self._seconds[0] <= now:
            second = heapq.heappop(self._seconds)
            for key in self._buckets.pop(second):
                del self._second_of[key]
                due.append(key)
        return due
