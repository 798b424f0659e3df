"""The readiness probe's write: proof that the ledger file takes a commit."""

from __future__ import annotations

from gateway.db.unit import Tx


async def write_ready_probe(tx: Tx) -> None:
    """Set the ``ready_probe`` row of ``meta`` (the same row each time: the file does not grow)."""
    await tx.execute(
        "INSERT INTO meta (key, value) VALUES ('ready_probe', '1')"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
