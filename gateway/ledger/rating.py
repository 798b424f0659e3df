"""Online rating, sans-IO: what one usage record costs, and how much of it the balance can pay for.

The caller (:mod:`gateway.usecases.rate_usage`) loads a :class:`Position` per subscriber and cycle, hands each
record to :meth:`Rater.rate` in the order they are rated, and writes what comes back. Nothing here reads a
clock or a database.

The rules (seed 003, PRODUCT.md §4):

- Voice is charged per started minute of each call; SMS beyond the SMS packs' quota, MMS per message.
- Data inside the data packages is free; beyond them 1元 per whole MB of the month (a started MB is not
  charged); with no data package 0.01元/KB. The month's data charges stop at the charge cap (500元), and
  data beyond the volume cap (15GB) is not granted at all.
- A prepaid subscriber is granted only what the balance can pay for (down to the protective-restore
  floor, if one applies); the rest is refused, never charged into a deep arrears. A postpaid subscriber
  is granted everything: credit control suspends them afterwards if they are below the floor.
- The charge is drawn from the gift book first (while it is valid), then from cash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.ledger.products import DataCaps, Tariffs

KB_PER_MB = 1024
SECONDS_PER_MINUTE = 60
CATEGORIES = ("voice", "sms", "mms", "data")


@dataclass(slots=True, kw_only=True)
class Books:
    """A subscriber's money as rating sees it; :meth:`Rater.rate` draws charges from it."""

    prepaid: bool
    cash: int
    gift: int  # the gift book as spendable now (0 once it has expired)
    credit_limit: int
    floor: int = 0  # a protective restore lets the available balance go down to this (≤ 0)

    @property
    def available(self) -> int:
        return self.cash + self.gift + self.credit_limit

    @property
    def spendable(self) -> int:
        return self.available - self.floor


@dataclass(slots=True, kw_only=True)
class Position:
    """One subscriber in one cycle: their books, and the cycle's usage and packages so far."""

    books: Books
    used: dict[str, int] = field(default_factory=dict)  # the cycle's usage so far, by category
    charged: dict[str, int] = field(default_factory=dict)  # the cycle's usage charges so far, by category
    data_quota_kb: int = 0  # the cycle's data package quota (prorated), all packages together
    has_data_package: bool = False
    sms_quota: int = 0
    mms_quota: int = 0
    voice_quota_s: int = 0  # the voice packs' minutes, as seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    granted: int
    charge: int
    from_gift: int
    from_cash: int
    refused: int = 0  # the part of the record not granted
    reason: str | None = None  # why it was refused: insufficient_balance | volume_cap


@dataclass(frozen=True, slots=True)
class Rater:
    tariffs: Tariffs
    caps: DataCaps

    def cost(self, category: str, position: Position, quantity: int) -> int:
        """What ``quantity`` more of ``category`` costs on top of the cycle's use so far."""
        t = self.tariffs
        if quantity <= 0:
            return 0
        before = position.used.get(category, 0)
        if category == "voice":  # beyond the packs' seconds, per started minute of the call
            beyond = _beyond(before, quantity, position.voice_quota_s)
            return -(-beyond // SECONDS_PER_MINUTE) * t.voice_fen_per_minute
        if category == "mms":
            return _beyond(before, quantity, position.mms_quota) * t.mms_fen
        if category == "sms":
            return _beyond(before, quantity, position.sms_quota) * t.sms_fen
        old, new = self._data_fee(position, before), self._data_fee(position, before + quantity)
        room = max(0, self.caps.charge_fen - position.charged.get("data", 0))
        return min(new - old, room)

    def _data_fee(self, position: Position, used_kb: int) -> int:
        beyond = max(0, used_kb - position.data_quota_kb)
        if position.has_data_package:
            return beyond // KB_PER_MB * self.tariffs.data_over_package_fen_per_mb
        return beyond * self.tariffs.data_fen_per_kb

    def rate(self, category: str, quantity: int, position: Position) -> Rating:
        """Rate one record and apply it to ``position`` (usage, charges, books)."""
        wanted = quantity
        reason = None
        if category == "data":
            room = max(0, self.caps.volume_kb - position.used.get("data", 0))
            if wanted > room:
                wanted, reason = room, "volume_cap"
        granted = wanted
        books = position.books
        if books.prepaid and self.cost(category, position, granted) > books.spendable:
            granted = self._affordable(category, position, granted)
            reason = "insufficient_balance"
        charge = self.cost(category, position, granted)
        from_gift = min(books.gift, charge)
        from_cash = charge - from_gift
        books.gift -= from_gift
        books.cash -= from_cash
        position.used[category] = position.used.get(category, 0) + granted
        position.charged[category] = position.charged.get(category, 0) + charge
        refused = quantity - granted
        return Rating(
            granted=granted,
            charge=charge,
            from_gift=from_gift,
            from_cash=from_cash,
            refused=refused,
            reason=reason if refused else None,
        )

    def _affordable(self, category: str, position: Position, most: int) -> int:
        """The largest quantity up to ``most`` whose cost the position can pay (cost grows with quantity)."""
        budget = position.books.spendable
        low, high = 0, most  # cost(low) fits; cost(high) does not
        if self.cost(category, position, 0) > budget:
            return 0
        while high - low > 1:
            middle = (low + high) // 2
            if self.cost(category, position, middle) <= budget:
                low = middle
            else:
                high = middle
        return low


def _beyond(before: int, quantity: int, quota: int) -> int:
    """How much of ``quantity`` more, after ``before`` used, falls beyond ``quota``."""
    return max(0, before + quantity - quota) - max(0, before - quota)
