"""What the 1st of a month charges one subscriber: the rule, without the database.

The plan's monthly fee first, even into arrears (credit control then decides what follows); then each package
held at the start of the month, oldest first, for its full fee, as long as the balance still available
(cash + valid gift + credit limit) covers it. One it does not cover is not charged: it lapses. Every fee is
drawn from the gift book first while it is valid, then from cash. A subscriber suspended at the start of the
month is charged nothing (seed 001: 暂停服务后不再计列收入) and the packages lapse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.ledger.products import Package, Plan
from gateway.model.ledger import Account
from gateway.types import Fen


@dataclass(frozen=True, slots=True, kw_only=True)
class Fee:
    category: str  # the fee's category: "plan", or the package's kind
    product: str
    amount: Fen
    from_gift: Fen
    from_cash: Fen


@dataclass(frozen=True, slots=True, kw_only=True)
class Lapse:
    subscription: int
    package: Package
    reason: str  # "balance": not covered; "suspended": the number was suspended


@dataclass(frozen=True, slots=True, kw_only=True)
class Renewal:
    fees: tuple[Fee, ...]
    lapsed: tuple[Lapse, ...]

    @property
    def from_gift(self) -> int:
        return sum(f.from_gift for f in self.fees)

    @property
    def from_cash(self) -> int:
        return sum(f.from_cash for f in self.fees)


def renew(
    *,
    plan: Plan | None,
    held: Sequence[tuple[int, Package]],
    account: Account,
    today: date,
    suspended: bool,
) -> Renewal:
    """The fees to charge and the packages that lapse, for one subscriber on ``today`` (the 1st)."""
    if suspended:
        return Renewal(fees=(), lapsed=tuple(Lapse(subscription=i, package=p, reason="suspended") for i, p in held))
    gift: int = account.gift_on(today)
    cash: int = account.cash
    fees: list[Fee] = []
    lapsed: list[Lapse] = []

    def draw(category: str, product: str, amount: int) -> None:
        nonlocal gift, cash
        from_gift = min(gift, amount)
        gift -= from_gift
        cash -= amount - from_gift
        fees.append(
            Fee(
                category=category,
                product=product,
                amount=Fen(amount),
                from_gift=Fen(from_gift),
                from_cash=Fen(amount - from_gift),
            )
        )

    if plan is not None and plan.monthly_fee_fen > 0:
        draw("plan", plan.code, plan.monthly_fee_fen)
    for subscription, package in held:
        if package.monthly_fee_fen > gift + cash + account.credit_limit:
            lapsed.append(Lapse(subscription=subscription, package=package, reason="balance"))
        elif package.monthly_fee_fen > 0:
            draw(package.kind, package.code, package.monthly_fee_fen)
    return Renewal(fees=tuple(fees), lapsed=tuple(lapsed))
