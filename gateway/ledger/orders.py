"""Ordering and cancelling packages, inside a transaction: the charge, the fee line, the subscription.

Run through :meth:`gateway.db.store.Store.transact`, so the ledger change commits together with the
dialog's transition and the answer in the outbox, or not at all. Money is drawn from the gift book first
(while it is valid), then from cash; cash may go below zero only as far as the credit limit allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.db import accounts, subscribers, subscriptions, usage
from gateway.db.unit import Tx
from gateway.errors import AlreadySubscribed, InsufficientFunds, NotSubscribed, SubscriberSuspended, UnknownSubscriber
from gateway.ledger.calendar import Calendar
from gateway.ledger.data import prorated
from gateway.ledger.products import Package
from gateway.model.ledger import Account
from gateway.types import Fen

_FEE_CATEGORY = {"data": "data", "sms": "sms", "mms": "mms", "voice": "voice", "vas": "vas"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """What ordering ``package`` now costs and gives for the rest of this month."""

    fee: Fen
    quota_kb: int
    quota_sms: int
    quota_mms: int
    quota_minutes: int
    prorated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Charged:
    fee: Fen
    from_gift: Fen
    from_cash: Fen
    balance: Fen  # cash + valid gift after the charge
    reinstated: bool = False  # a cancelled package still running this month was simply kept on


def quote(package: Package, now: float, calendar: Calendar) -> Quote:
    cycle = calendar.cycle(now)
    fee = prorated(package.monthly_fee_fen, now, cycle, calendar)
    return Quote(
        fee=Fen(fee),
        quota_kb=prorated(package.quota_kb, now, cycle, calendar),
        quota_sms=prorated(package.quota_sms, now, cycle, calendar),
        quota_mms=prorated(package.quota_mms, now, cycle, calendar),
        quota_minutes=prorated(package.quota_minutes, now, cycle, calendar),
        prorated=fee != package.monthly_fee_fen,
    )


async def account_in(tx: Tx, msisdn: str) -> tuple[str, Account]:
    """The subscriber's status and account as this transaction sees them."""
    found = await subscribers.holder(tx, msisdn)
    if found is None:
        raise UnknownSubscriber(msisdn)
    subscriber, account = found
    return subscriber.status, account


async def subscription_id(tx: Tx, msisdn: str, product: str) -> int | None:
    """The running, not yet cancelled subscription to ``product``, if any."""
    return await subscriptions.running(tx, msisdn, product)


async def order(tx: Tx, msisdn: str, package: Package, *, now: float, calendar: Calendar) -> Charged:
    """Charge this month's (prorated) fee and start the subscription; nothing changes if a check fails."""
    status, account = await account_in(tx, msisdn)
    if status == "suspended":
        raise SubscriberSuspended(msisdn)
    if await subscription_id(tx, msisdn, package.code) is not None:
        raise AlreadySubscribed(msisdn)
    today = calendar.today(now)
    if await subscriptions.reinstate(tx, msisdn, package.code, now):  # cancelled this month: kept on, free
        balance = account.balance_on(today)
        return Charged(fee=Fen(0), from_gift=Fen(0), from_cash=Fen(0), balance=balance, reinstated=True)
    fee = quote(package, now, calendar).fee
    gift = account.gift_on(today)
    available = account.available_on(today)
    if fee > available:
        raise InsufficientFunds(msisdn, shortfall=fee - available, available=available)
    from_gift = min(gift, fee)
    from_cash = fee - from_gift
    drawn = await accounts.draw_as_read(
        tx, msisdn, gift=account.gift, cash=account.cash, from_gift=from_gift, from_cash=from_cash
    )
    assert drawn, "account changed under a running transaction"
    category = _FEE_CATEGORY[package.kind]
    cycle = calendar.cycle(now)
    await usage.add_fee(
        tx, msisdn=msisdn, cycle=cycle, category=category, product=package.code, amount=fee, charged_at=now
    )
    await accounts.add_subscription(tx, msisdn=msisdn, product=package.code, started_at=now)
    after = Fen(account.balance_on(today) - fee)
    return Charged(fee=fee, from_gift=Fen(from_gift), from_cash=Fen(from_cash), balance=after)


async def cancelled_this_month(tx: Tx, msisdn: str, product: str, now: float) -> bool:
    """Whether the subscriber cancelled ``product`` and it still runs to the end of this month."""
    return await subscriptions.cancelled_but_running(tx, msisdn, product, now)


async def cancel(tx: Tx, msisdn: str, package: Package, *, now: float, calendar: Calendar) -> date:
    """End the subscription at the end of this month; the last day it runs."""
    found = await subscription_id(tx, msisdn, package.code)
    if found is None:
        raise NotSubscribed(msisdn)
    month_end = calendar.cycle_end(calendar.cycle(now))
    await subscriptions.end_at(tx, found, month_end)
    return calendar.today(month_end - 1)
