"""A subscriber's secrets on file and the failed checks of them: salted hashes, and ``password_failure`` rows."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.errors import UnknownSubscriber


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretHashes:
    """What is on file for checking a subscriber's secrets (None: nothing on file)."""

    password_hash: str | None
    id_hash: str | None
    id_tail_hash: str | None  # of the ID number's last 6 characters


HASHES = Columns("password_hash", "id_hash", "id_tail_hash")


async def secret_hashes(reads: Reads, msisdn: str) -> SecretHashes:
    """The subscriber's hashes on file; UnknownSubscriber if the number is not ours."""
    rows = await reads.fetch(f"SELECT {HASHES} FROM subscriber WHERE msisdn = :msisdn", {"msisdn": msisdn})
    for row in rows:
        return HASHES.to(SecretHashes, row)
    raise UnknownSubscriber(msisdn)


async def set_password_hash(tx: Tx, msisdn: str, password_hash: str) -> None:
    """Put a new service password's hash on file; UnknownSubscriber if the number is not ours."""
    changed = await tx.execute(
        "UPDATE subscriber SET password_hash = :hash WHERE msisdn = :msisdn", {"hash": password_hash, "msisdn": msisdn}
    )
    if changed != 1:
        raise UnknownSubscriber(msisdn)


async def failure_times(reads: Reads, msisdn: str, *, after: float) -> list[float]:
    """When the subscriber's failed checks since ``after`` were made, in no order."""
    rows = await reads.fetch(
        "SELECT failed_at FROM password_failure WHERE msisdn = :msisdn AND failed_at > :after",
        {"msisdn": msisdn, "after": after},
    )
    return [row[0] for row in rows]


async def add_failure(tx: Tx, msisdn: str, *, at: float) -> None:
    """Note a failed check at ``at``."""
    await tx.execute(
        "INSERT INTO password_failure (msisdn, failed_at) VALUES (:msisdn, :at)", {"msisdn": msisdn, "at": at}
    )


async def forget_failures(tx: Tx, msisdn: str, *, until: float) -> None:
    """Forget the subscriber's failed checks made at ``until`` or before."""
    await tx.execute(
        "DELETE FROM password_failure WHERE msisdn = :msisdn AND failed_at <= :until",
        {"msisdn": msisdn, "until": until},
    )
