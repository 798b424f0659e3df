"""What rating a batch of usage records comes to: the answers, and the rows to write for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.ledger.rating import Books, Position
from gateway.model.usage import CycleCharge, DayCharge, Drawn, Rated, RatedRecord, Refusal, Rejected


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRating:
    """What came of a batch, and every row to write for it, in order."""

    rated: tuple[Rated, ...]
    duplicates: tuple[str, ...]
    rejected: tuple[Rejected, ...]
    records: tuple[RatedRecord, ...]
    refusals: tuple[Refusal, ...]
    usage: tuple[CycleCharge, ...]
    daily: tuple[DayCharge, ...]
    drawn: tuple[Drawn, ...]
    positions: Mapping[tuple[str, str], Position]  # after rating, those a record was rated in
    books: Mapping[str, Books]  # after rating

    @property
    def charged(self) -> list[str]:
        """The numbers a record was rated for, sorted."""
        return sorted({r.msisdn for r in self.rated})
