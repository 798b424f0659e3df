"""The model a dialog machine runs on, read and written through the dialog repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.db import dialogs
from gateway.db.unit import Reads, Tx


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
    stored = await dialogs.load(reads, msisdn, service_number)
    if stored is None:
        return None
    return DialogRecord(
        msisdn=msisdn,
        service_number=service_number,
        kind=stored.kind,
        state=stored.state,
        data=stored.data,
        expires_at=stored.expires_at,
    )


async def save(tx: Tx, record: DialogRecord) -> None:
    stored = dialogs.StoredDialog(kind=record.kind, state=record.state, data=record.data, expires_at=record.expires_at)
    await dialogs.save(tx, record.msisdn, record.service_number, stored)
