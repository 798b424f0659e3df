"""The dialog repository: the one dialog a subscriber may have pending on a service number."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.db.unit import Reads, Tx


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredDialog:
    """A dialog row: its kind, its machine's state, its own facts (decoded), and when it expires."""

    kind: str
    state: str | None
    data: dict[str, Any]
    expires_at: float


async def load(reads: Reads, msisdn: str, service_number: str) -> StoredDialog | None:
    rows = await reads.fetch(
        "SELECT kind, state, data, expires_at FROM dialog WHERE msisdn = :msisdn AND service_number = :service",
        {"msisdn": msisdn, "service": service_number},
    )
    for kind, state, data, expires_at in rows:
        return StoredDialog(kind=kind, state=state, data=json.loads(data), expires_at=expires_at)
    return None


async def save(tx: Tx, msisdn: str, service_number: str, dialog: StoredDialog) -> None:
    """Write the subscriber's dialog on that number, in place of any there was."""
    await tx.execute(
        "INSERT INTO dialog (msisdn, service_number, kind, state, data, expires_at)"
        " VALUES (:msisdn, :service, :kind, :state, :data, :expires_at)"
        " ON CONFLICT (msisdn, service_number) DO UPDATE SET kind = excluded.kind, state = excluded.state,"
        " data = excluded.data, expires_at = excluded.expires_at",
        {
            "msisdn": msisdn,
            "service": service_number,
            "kind": dialog.kind,
            "state": dialog.state,
            "data": json.dumps(dialog.data, ensure_ascii=False),
            "expires_at": dialog.expires_at,
        },
    )


async def delete(tx: Tx, msisdn: str, service_number: str) -> bool:
    """End the dialog; whether there was one (another instance may have ended it a moment before)."""
    deleted = await tx.execute(
        "DELETE FROM dialog WHERE msisdn = :msisdn AND service_number = :service",
        {"msisdn": msisdn, "service": service_number},
    )
    return deleted > 0


async def expired(reads: Reads, now: float) -> list[tuple[str, str, float, str]]:
    """(msisdn, service_number, expires_at, kind) of every dialog whose window has passed at ``now``."""
    rows = await reads.fetch(
        "SELECT msisdn, service_number, expires_at, kind FROM dialog WHERE expires_at <= :now", {"now": now}
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def all_pending(reads: Reads) -> list[tuple[str, str, float, str]]:
    """(msisdn, service_number, expires_at, kind) of every dialog waiting for its next reply."""
    rows = await reads.fetch("SELECT msisdn, service_number, expires_at, kind FROM dialog")
    return [(r[0], r[1], r[2], r[3]) for r in rows]
