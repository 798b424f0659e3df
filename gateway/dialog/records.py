"""The persisted model of a dialog, and reading and writing it inside a transaction (reading also outside one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.db.store import Reads, Tx


@dataclass(slots=True, kw_only=True)
class DialogRecord:
    """The model a machine runs on: ``state`` is the machine's, ``data`` the dialog's own facts."""

    msisdn: str
    service_number: str
    kind: str
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expires_at: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.msisdn, self.service_number)


async def load(reads: Reads, msisdn: str, service_number: str) -> DialogRecord | None:
    rows = await reads.fetch(
        "SELECT kind, state, data, expires_at FROM dialog WHERE msisdn = ? AND service_number = ?",
        (msisdn, service_number),
    )
    for kind, state, data, expires_at in rows:
        return DialogRecord(
            msisdn=msisdn,
            service_number=service_number,
            kind=kind,
            state=state,
            data=json.loads(data),
            expires_at=expires_at,
        )
    return None


async def save(tx: Tx, record: DialogRecord) -> None:
    await tx.execute(
        "INSERT OR REPLACE INTO dialog VALUES (?, ?, ?, ?, ?, ?)",
        (
            record.msisdn,
            record.service_number,
            record.kind,
            record.state,
            json.dumps(record.data, ensure_ascii=False),
            record.expires_at,
        ),
    )


async def delete(tx: Tx, msisdn: str, service_number: str) -> None:
    await tx.execute("DELETE FROM dialog WHERE msisdn = ? AND service_number = ?", (msisdn, service_number))


async def all_pending(tx: Tx) -> list[tuple[str, str, float, str]]:
    """(msisdn, service_number, expires_at, kind) of every dialog waiting for its next reply."""
    rows = await tx.fetch("SELECT msisdn, service_number, expires_at, kind FROM dialog")
    return [(r[0], r[1], r[2], r[3]) for r in rows]
