"""A subscriber's service password inside a transaction: the stored hashes, failed checks, the lock-out.

Only salted hashes are on file (gateway/ledger/secrets.py makes and checks them, gateway/db/passwords.py
reads and writes them; its ``secret_hashes`` and ``set_password_hash`` are named here too). A failed
check (a wrong old password for 502, a wrong ID number for 503) is one ``password_failure`` row. The
password functions lock for 24 h from the failure that is the 5th within 24 h: that failure and the four
before it lie less than 24 h apart. While locked no check is made, so no failure is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.db import passwords as on_file
from gateway.db.passwords import SecretHashes, secret_hashes, set_password_hash
from gateway.db.unit import Tx

__all__ = [
    "LOCK_SECONDS",
    "MAX_FAILURES",
    "WINDOW_SECONDS",
    "Attempts",
    "SecretHashes",
    "attempts",
    "attempts_from",
    "record_failure",
    "secret_hashes",
    "set_password_hash",
]

MAX_FAILURES = 5
LOCK_SECONDS = 24 * 3600
WINDOW_SECONDS = 24 * 3600  # failures count against the limit for this long
_KEEP_SECONDS = 2 * WINDOW_SECONDS  # older failures can neither lock nor count any more


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempts:
    """The failed checks of the last 24 h, and until when the password functions are locked (None: not)."""

    failures: int
    locked_until: float | None

    @property
    def left(self) -> int:
        return max(0, MAX_FAILURES - self.failures)


def attempts_from(failed_at: Sequence[float], now: float) -> Attempts:
    """The attempts as of ``now``, given the times of the failures (any order)."""
    times = sorted((t for t in failed_at if t <= now), reverse=True)
    failures = sum(1 for t in times if t > now - WINDOW_SECONDS)
    for i in range(len(times) - MAX_FAILURES + 1):
        locking, fifth_back = times[i], times[i + MAX_FAILURES - 1]
        if locking - fifth_back < WINDOW_SECONDS and locking + LOCK_SECONDS > now:
            return Attempts(failures=failures, locked_until=locking + LOCK_SECONDS)
    return Attempts(failures=failures, locked_until=None)


async def attempts(tx: Tx, msisdn: str, now: float) -> Attempts:
    """The attempts as of ``now``, from the failures on file."""
    return attempts_from(await on_file.failure_times(tx, msisdn, after=now - _KEEP_SECONDS), now)


async def record_failure(tx: Tx, msisdn: str, now: float) -> Attempts:
    """Note a failed check (and forget the ones too old to matter); the attempts after it."""
    await on_file.forget_failures(tx, msisdn, until=now - _KEEP_SECONDS)
    await on_file.add_failure(tx, msisdn, at=now)
    return await attempts(tx, msisdn, now)
