"""A subscriber's service password inside a transaction: the stored hashes, failed checks, the lock-out.

Only salted hashes are read or written here (gateway/ledger/secrets.py makes and checks them). A failed
check (a wrong old password for 502, a wrong ID number for 503) is one ``password_failure`` row. The
password functions lock for 24 h from the failure that is the 5th within 24 h: that failure and the four
before it lie less than 24 h apart. While locked no check is made, so no failure is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.db.store import Reads, Tx
from gateway.errors import UnknownSubscriber

MAX_FAILURES = 5
LOCK_SECONDS = 24 * 3600
WINDOW_SECONDS = 24 * 3600  # failures count against the limit for this long
_KEEP_SECONDS = 2 * WINDOW_SECONDS  # older failures can neither lock nor count any more


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretHashes:
    """What is on file for checking a subscriber's secrets (None: nothing on file)."""

    password_hash: str | None
    id_hash: str | None
    id_tail_hash: str | None  # of the ID number's last 6 characters


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


async def secret_hashes(reads: Reads, msisdn: str) -> SecretHashes:
    rows = await reads.fetch("SELECT password_hash, id_hash, id_tail_hash FROM subscriber WHERE msisdn = ?", (msisdn,))
    for password_hash, id_hash, id_tail_hash in rows:
        return SecretHashes(password_hash=password_hash, id_hash=id_hash, id_tail_hash=id_tail_hash)
    raise UnknownSubscriber(msisdn)


async def attempts(tx: Tx, msisdn: str, now: float) -> Attempts:
    rows = await tx.fetch(
        "SELECT failed_at FROM password_failure WHERE msisdn = ? AND failed_at > ?", (msisdn, now - _KEEP_SECONDS)
    )
    return attempts_from([r[0] for r in rows], now)


async def record_failure(tx: Tx, msisdn: str, now: float) -> Attempts:
    """Note a failed check (and forget the ones too old to matter); the attempts after it."""
    await tx.execute("DELETE FROM password_failure WHERE msisdn = ? AND failed_at <= ?", (msisdn, now - _KEEP_SECONDS))
    await tx.execute("INSERT INTO password_failure (msisdn, failed_at) VALUES (?, ?)", (msisdn, now))
    return await attempts(tx, msisdn, now)


async def set_password_hash(tx: Tx, msisdn: str, password_hash: str) -> None:
    if await tx.execute("UPDATE subscriber SET password_hash = ? WHERE msisdn = ?", (password_hash, msisdn)) != 1:
        raise UnknownSubscriber(msisdn)
