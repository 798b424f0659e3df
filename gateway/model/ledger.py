"""What the ledger returns: frozen facts, never None-for-failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from gateway.types import Fen


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    msisdn: str
    name: str
    brand: str
    vip: str
    plan: str
    status: str
    created_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    cash: Fen
    gift: Fen
    gift_expires: date | None
    credit_limit: Fen
    valid_until: date | None
    points: int

    def gift_on(self, day: date) -> Fen:
        """The gift book as it stands on ``day``: an expired gift balance is forfeited (seed 001)."""
        if self.gift_expires is not None and day > self.gift_expires:
            return Fen(0)
        return self.gift

    def balance_on(self, day: date) -> Fen:
        return Fen(self.cash + self.gift_on(day))

    def available_on(self, day: date) -> Fen:
        """Cash + gift + credit limit (0 for prepaid)."""
        return Fen(self.balance_on(day) + self.credit_limit)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    id: int
    product: str
    started_at: float
    ends_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    category: str
    quantity: int
    charged: Fen


@dataclass(frozen=True, slots=True, kw_only=True)
class Bill:
    cycle: str
    total: Fen
    lines: tuple[tuple[str, Fen], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Payment:
    amount: Fen
    channel: str
    paid_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSubscriber:
    msisdn: str
    name: str
    brand: str
    plan: str
    created_on: date
    vip: str = "none"
    status: str = "active"
    cash: int = 0
    gift: int = 0
    gift_expires: date | None = None
    credit_limit: int = 0
    valid_until: date | None = None
    points: int = 0
    password: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)
    puk: str | None = field(default=None, repr=False)  # the SIM's PUK code: told to its own number only (604)


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """A recharge card (充值卡) the operator imported: 701 tells its state by its serial."""

    serial: str
    value: int  # fen
    state: str  # unused | used | void
    expires: date
    used_at: float | None = None
