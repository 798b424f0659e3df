"""What the handset shows beside the phone (the subscriber's ledger as it changes), and the ``ledger`` block a
recorded conversation starts with, so that ``gateway converse`` replays it on the same facts."""

from __future__ import annotations

from typing import Any

from gateway.db import dialogs, subscribers
from gateway.format import data, yuan
from gateway.ledger.calendar import last_cycles
from gateway.ledger.data import prorated, spread_data
from gateway.ledger.reads import Ledger

BILLS_KEPT = 6
PAYMENTS_KEPT = 5


async def people(ledger: Ledger, limit: int = 200) -> list[dict[str, str]]:
    return [{"msisdn": m, "name": n, "plan": p} for m, n, p in await subscribers.first(ledger, limit)]


async def snapshot(ledger: Ledger, msisdn: str, *, now: float, service_numbers: list[str]) -> dict[str, Any]:
    """The subscriber's standing now: books, packages this month, data left, the dialogs pending."""
    subscriber, account = await ledger.subscriber(msisdn)
    calendar, products = ledger.calendar, ledger.products
    today, cycle = calendar.today(now), calendar.cycle(now)
    packages = []
    quotas = []
    for s in await ledger.subscriptions(msisdn, cycle):
        package = products.packages.get(s.product)
        if package is None:
            continue
        ends = calendar.today(s.ends_at - 1).isoformat() if s.ends_at is not None else None
        packages.append({"code": package.code, "name": package.name, "until": ends})
        if package.kind == "data":
            quotas.append((package, prorated(package.quota_kb, s.started_at, cycle, calendar)))
    used = (await ledger.usage(msisdn, cycle)).get("data")
    uses, _ = spread_data(used.quantity if used else 0, quotas)
    pending = []
    for number in service_numbers:
        found = await dialogs.load(ledger, msisdn, number)
        if found is not None and found.expires_at > now:
            pending.append({"service": number, "kind": found.kind, "name": str(found.data.get("name", ""))})
    plan = products.plans.get(subscriber.plan)
    return {
        "msisdn": msisdn,
        "name": subscriber.name,
        "plan": plan.name if plan else subscriber.plan,
        "status": subscriber.status,
        "balance": yuan(account.balance_on(today)),
        "available": yuan(account.available_on(today)),
        "gift": yuan(account.gift_on(today)),
        "points": account.points,
        "packages": packages,
        "data_left": data(sum(u.left_kb for u in uses)) if uses else None,
        "dialogs": pending,
    }


async def fixture(ledger: Ledger, msisdn: str, *, now: float) -> str:
    """The conversation's ``ledger`` block for the subscriber as the ledger holds them now."""
    subscriber, account = await ledger.subscriber(msisdn)
    calendar = ledger.calendar
    today, cycle = calendar.today(now), calendar.cycle(now)
    lines = [f"  name {subscriber.name}", f"  plan {subscriber.plan}", f"  balance {yuan(account.cash)}"]
    if subscriber.vip != "none":
        lines.append(f"  vip {subscriber.vip}")
    if subscriber.status != "active":
        lines.append(f"  status {subscriber.status}")
    if account.gift_on(today):
        until = f" until {account.gift_expires.isoformat()}" if account.gift_expires else ""
        lines.append(f"  gift {yuan(account.gift)}{until}")
    if account.credit_limit:
        lines.append(f"  credit {yuan(account.credit_limit)}")
    if account.points:
        lines.append(f"  points {account.points}")
    for s in await ledger.subscriptions(msisdn, cycle):
        if s.ends_at is None:  # a cancelled one would come back as ordered: left out
            lines.append(f"  subscription {s.product} since {calendar.local(s.started_at):%Y-%m-%d %H:%M:%S}")
    for category, use in sorted((await ledger.usage(msisdn, cycle)).items()):
        unit = {"data": "KB", "voice": "s"}.get(category, "")
        lines.append(f"  usage {category} {use.quantity}{unit} charged {yuan(use.charged)}")
    for bill_cycle in reversed(last_cycles(cycle, BILLS_KEPT)):
        bill = await ledger.bill(msisdn, bill_cycle)
        if bill is not None:
            pairs = " ".join(f"{c} {yuan(a)}" for c, a in bill.lines)
            lines.append(f"  bill {bill_cycle} {pairs}")
    for payment in reversed(await ledger.payments(msisdn, PAYMENTS_KEPT)):
        lines.append(
            f"  payment {calendar.local(payment.paid_at):%Y-%m-%d %H:%M} {yuan(payment.amount)} {payment.channel}"
        )
    return "ledger\n" + "\n".join(lines) + "\n"
