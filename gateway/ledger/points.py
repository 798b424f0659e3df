"""Exchanging points (``8``), inside the dialog's transaction: the points taken and what they buy given, or nothing.

An offer gives gift balance (spendable for ``gift_days`` from today) or a package for the rest of this month,
free: it runs to the month's end and is not renewed (a subscription that ends with the month, as a cancelled
one does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gateway.db import accounts, subscriptions
from gateway.db import points as points_repo
from gateway.db.unit import Tx
from gateway.errors import AlreadySubscribed, NotEnoughPoints, SubscriberSuspended
from gateway.ledger.calendar import Calendar
from gateway.ledger.orders import account_in
from gateway.ledger.products import Offer


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchanged:
    points_left: int
    gift_until: date | None  # the gift book's last day, when the offer gave gift balance


async def exchange(tx: Tx, msisdn: str, offer: Offer, *, now: float, calendar: Calendar) -> Exchanged:
    """Spend ``offer.points`` on ``offer``; NotEnoughPoints, AlreadySubscribed or SubscriberSuspended change nothing."""
    status, account = await account_in(tx, msisdn)
    if account.points < offer.points:
        raise NotEnoughPoints(msisdn, have=account.points, need=offer.points)
    today = calendar.today(now)
    until = None
    if offer.package:
        if status == "suspended":
            raise SubscriberSuspended(msisdn)
        held = await subscriptions.running(tx, msisdn, offer.package) is not None
        if held or await subscriptions.cancelled_but_running(tx, msisdn, offer.package, now):
            raise AlreadySubscribed(msisdn)
        month_end = calendar.cycle_end(calendar.cycle(now))
        await accounts.add_subscription(tx, msisdn=msisdn, product=offer.package, started_at=now, ends_at=month_end)
    else:
        until = today + timedelta(days=offer.gift_days)
        await points_repo.credit_gift(tx, msisdn, amount=offer.gift_fen, expires=until, today=today)
    spent = await points_repo.spend(tx, msisdn, offer.points)
    assert spent, "points changed under a running transaction"
    return Exchanged(points_left=account.points - offer.points, gift_until=until)
