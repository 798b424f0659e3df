"""Usage records, what rating made of each, and the rows a rated batch writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    id: str
    msisdn: str
    category: str  # voice | sms | mms | data
    quantity: int  # seconds, messages or KB
    start: float  # epoch seconds
    duration: int  # seconds

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, slots=True, kw_only=True)
class Rated:
    id: str
    msisdn: str
    granted: int
    charged: int
    refused: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    id: str
    msisdn: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RatedRecord:
    """A row of ``usage_record``: the record, its cycle, and what was granted and charged of it."""

    record: UsageRecord
    cycle: str
    granted: int
    charged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """A row of the error list (``usage_reject``): a record refused whole, or the part of one not granted."""

    record: UsageRecord
    quantity: int
    reason: str | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleCharge:
    """What a batch adds to a subscriber's usage of a category in a cycle."""

    msisdn: str
    cycle: str
    category: str
    quantity: int
    charged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DayCharge:
    """What a batch charged a subscriber on a local day (an ISO date)."""

    msisdn: str
    day: str
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Drawn:
    """What a batch drew from a subscriber's cash and gift books."""

    msisdn: str
    cash: int
    gift: int
