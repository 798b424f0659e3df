"""What credit control knows of a subscriber, shared by the rules and the persistence package (no database here)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model.ledger import Account, Subscriber


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditRow:
    """A subscriber's row of ``credit``: the machine's state and the protective restore's facts."""

    state: str
    since: float
    floor: int
    restore_until: float | None
    guard_until: float | None
    protected_at: float | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    """A subscriber, their account, and their credit row (None: credit control has not seen them yet)."""

    subscriber: Subscriber
    account: Account
    credit: CreditRow | None

    @property
    def state(self) -> str:
        return self.credit.state if self.credit else self.subscriber.status
