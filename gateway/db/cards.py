"""The recharge card repository (701): cards the operator imports, and a card's state by its serial."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from gateway.db.marks import chunks, named_list
from gateway.db.unit import Reads, Tx
from gateway.model.ledger import Card


async def card(reads: Reads, serial: str) -> Card | None:
    rows = await reads.fetch(
        "SELECT serial, value, state, expires, used_at FROM recharge_card WHERE serial = :serial", {"serial": serial}
    )
    for serial_, value, state, expires, used_at in rows:
        return Card(serial=serial_, value=value, state=state, expires=date.fromisoformat(expires), used_at=used_at)
    return None


async def existing(reads: Reads, serials: list[str]) -> set[str]:
    """Those of ``serials`` already in the ledger."""
    found: set[str] = set()
    for chunk in chunks(serials):
        marks, params = named_list(chunk)
        rows = await reads.fetch(f"SELECT serial FROM recharge_card WHERE serial IN ({marks})", params)
        found.update(str(row[0]) for row in rows)
    return found


async def add_cards(tx: Tx, cards: Iterable[Card]) -> None:
    await tx.execute_many(
        "INSERT INTO recharge_card (serial, value, state, expires, used_at) VALUES (?, ?, ?, ?, ?)",
        [(c.serial, c.value, c.state, c.expires.isoformat(), c.used_at) for c in cards],
    )
