"""The USSD session repository: one row per session on a shared ledger (``docs/scale-out.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.db.unit import Reads, Tx


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSession:
    key: str
    msisdn: str
    data: dict[str, Any]  # the session's own fields, as the navigator keeps them
    seen: float
    open: bool  # False: ended, kept so that a retry is shown its last screen


async def load(reads: Reads, key: str) -> StoredSession | None:
    rows = await reads.fetch("SELECT msisdn, data, seen, open FROM ussd_session WHERE key = :key", {"key": key})
    for msisdn, data, seen, is_open in rows:
        return StoredSession(key=key, msisdn=msisdn, data=json.loads(data), seen=seen, open=bool(is_open))
    return None


async def save(tx: Tx, session: StoredSession) -> None:
    await tx.execute(
        "INSERT INTO ussd_session (key, msisdn, data, seen, open) VALUES (:key, :msisdn, :data, :seen, :open)"
        " ON CONFLICT (key) DO UPDATE SET msisdn = excluded.msisdn, data = excluded.data, seen = excluded.seen,"
        " open = excluded.open",
        {
            "key": session.key,
            "msisdn": session.msisdn,
            "data": json.dumps(session.data, ensure_ascii=False),
            "seen": session.seen,
            "open": int(session.open),
        },
    )


async def end(tx: Tx, key: str) -> None:
    """The session is over (the subscriber aborted, the network released it): kept, no longer open."""
    await tx.execute("UPDATE ussd_session SET open = 0 WHERE key = :key", {"key": key})


async def forget_before(tx: Tx, seen: float) -> int:
    """Drop the sessions last seen before ``seen``; how many."""
    return await tx.execute("DELETE FROM ussd_session WHERE seen < :seen", {"seen": seen})
