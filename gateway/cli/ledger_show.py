"""``gateway ledger show MSISDN``: one subscriber's ledger as the operator reads it.

Money is shown in 元 and data in KB/MB/GB (gateway/format.py). A password or an ID number is only ever
"set" or "not set".
"""

from __future__ import annotations

from datetime import date

from gateway.db.admin_reads import secrets_set
from gateway.format import data, yuan
from gateway.ledger.calendar import last_cycles
from gateway.ledger.reads import Ledger
from gateway.ledger.schema import CHARGE_CATEGORIES
from gateway.model.ledger import Account, Subscriber

BILLS_SHOWN = 6
PAYMENTS_SHOWN = 10
_UNITS = {"voice": "s", "sms": "", "mms": ""}


async def describe(ledger: Ledger, msisdn: str, *, now: float) -> list[str]:
    """The lines of the report; UnknownSubscriber if the number is not in the ledger."""
    subscriber, account = await ledger.subscriber(msisdn)
    today, cycle = ledger.calendar.today(now), ledger.calendar.cycle(now)
    lines = _person(subscriber, ledger) + await _secrets(ledger, msisdn) + _account(account, today)
    lines.append(f"subscriptions in {cycle}:")
    for s in await ledger.subscriptions(msisdn, cycle):
        package = ledger.products.packages.get(s.product)
        name = f" {package.name}" if package else ""
        ended = f" until {_day(ledger, s.ends_at)}" if s.ends_at is not None else ""
        lines.append(f"  {s.product}{name}, since {_day(ledger, s.started_at)}{ended}")
    lines.append(f"usage in {cycle}:")
    for category, use in sorted((await ledger.usage(msisdn, cycle)).items(), key=lambda u: _order(u[0])):
        amount = data(use.quantity) if category == "data" else f"{use.quantity}{_UNITS.get(category, '')}"
        lines.append(f"  {category:<6} {amount:<10} charged {yuan(use.charged)}")
    charges = await ledger.charges(msisdn, cycle)
    lines.append(f"charges in {cycle}: {yuan(sum(charges.values()))}")
    lines += [f"  {_label(category):<10} {yuan(charges[category])}" for category in sorted(charges, key=_order)]
    lines.append("bills:")
    for bill_cycle in last_cycles(cycle, BILLS_SHOWN):
        bill = await ledger.bill(msisdn, bill_cycle)
        if bill is not None:
            items = ", ".join(f"{c} {yuan(fen)}" for c, fen in sorted(bill.lines, key=lambda line: _order(line[0])))
            lines.append(f"  {bill_cycle} {yuan(bill.total)} ({items})")
    lines.append("payments:")
    for payment in await ledger.payments(msisdn, PAYMENTS_SHOWN):
        paid_at = ledger.calendar.local(payment.paid_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"  {paid_at} {yuan(payment.amount)} {payment.channel}")
    return lines


def _person(subscriber: Subscriber, ledger: Ledger) -> list[str]:
    plan = ledger.products.plans.get(subscriber.plan)
    about = f" {plan.name} ({plan.payment}, {yuan(plan.monthly_fee_fen)}/month)" if plan else " (not in products)"
    return [
        f"msisdn:       {subscriber.msisdn}",
        f"name:         {subscriber.name}",
        f"brand:        {subscriber.brand}",
        f"plan:         {subscriber.plan}{about}",
        f"vip:          {subscriber.vip}",
        f"status:       {subscriber.status}",
        f"created on:   {subscriber.created_on.isoformat()}",
    ]


async def _secrets(ledger: Ledger, msisdn: str) -> list[str]:
    found = await secrets_set(ledger, msisdn)
    return [f"password:     {_set(found.password)}", f"ID number:    {_set(found.id_number)}"]


def _account(account: Account, today: date) -> list[str]:
    gift = yuan(account.gift)
    if account.gift_expires is not None:
        expiry = "expired" if today > account.gift_expires else "expires"
        gift += f" ({expiry} {account.gift_expires.isoformat()})"
    valid_until = account.valid_until.isoformat() if account.valid_until else "-"
    return [
        f"cash:         {yuan(account.cash)}",
        f"gift:         {gift}",
        f"credit limit: {yuan(account.credit_limit)}",
        f"available:    {yuan(account.available_on(today))}",
        f"valid until:  {valid_until}",
        f"points:       {account.points}",
    ]


def _set(flag: bool) -> str:
    return "set" if flag else "not set"


def _day(ledger: Ledger, instant: float) -> str:
    return ledger.calendar.today(instant).isoformat()


def _label(category: str) -> str:
    """``data_package`` → ``data pack``: a package's fee apart from the usage of its kind."""
    return category.removesuffix("_package") + " pack" if category.endswith("_package") else category


def _order(category: str) -> int:
    return CHARGE_CATEGORIES.index(category) if category in CHARGE_CATEGORIES else len(CHARGE_CATEGORIES)
