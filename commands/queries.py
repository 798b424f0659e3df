"""The query commands: balance, charges, bills, points, data, payments, plan, ordered services.

Each reads the ledger, formats money and data at the edge (:mod:`gateway.format`) and fills a template
named after what the answer says. None of them changes anything.
"""

from __future__ import annotations

from datetime import date

from gateway.context import CommandContext
from gateway.format import cycle_cn, data, day_cn, yuan
from gateway.ledger.calendar import last_cycles, previous_cycle
from gateway.ledger.data import prorated, spread_data
from gateway.ledger.products import Package
from gateway.ledger.schema import CHARGE_CATEGORIES
from gateway.model.ledger import Account, Subscription

BILL_HISTORY_MONTHS = 6
PAYMENTS_SHOWN = 5


def _as_of(ctx: CommandContext) -> str:
    local = ctx.ledger.calendar.local(ctx.clock.now())
    return ctx.render("as_of", month=local.month, day=local.day, hour=local.hour)


def _today(ctx: CommandContext) -> date:
    return ctx.ledger.calendar.today(ctx.clock.now())


def _cycle(ctx: CommandContext) -> str:
    return ctx.ledger.calendar.cycle(ctx.clock.now())


def _lines(ctx: CommandContext, amounts: dict[str, int]) -> str:
    """', 其中套餐月费18.00元、…' for the non-zero categories, in the fixed category order; '' for none."""
    items = [
        ctx.render("charge_line", category=ctx.render(f"category_{c}"), amount=yuan(amounts[c]))
        for c in CHARGE_CATEGORIES
        if amounts.get(c)
    ]
    return ctx.render("charge_lines", lines=ctx.render("list_separator").join(items)) if items else ""


async def balance(ctx: CommandContext) -> str:
    """102 / CXYE: cash, gift (with its expiry) and what is available including credit."""
    _, account = await ctx.holder()
    today = _today(ctx)
    gift = account.gift_on(today)
    expiry = ctx.render("gift_expiry", day=day_cn(account.gift_expires)) if gift and account.gift_expires else ""
    credit = ctx.render("credit_limit", amount=yuan(account.credit_limit)) if account.credit_limit else ""
    balance = account.balance_on(today)
    return ctx.render(
        "balance" if balance >= 0 else "balance_owed",
        balance=yuan(balance),
        owed=yuan(-balance),
        cash=yuan(account.cash),
        gift=yuan(gift),
        gift_expiry=expiry,
        credit=credit,
        available=yuan(account.available_on(today)),
        arrears=_arrears(ctx, account, today),
    )


def _standing(ctx: CommandContext, balance: int) -> str:
    """The balance as told: what is left, or below zero what is owed (never a negative balance)."""
    if balance < 0:
        return ctx.render("standing_owed", owed=yuan(-balance))
    return ctx.render("standing_balance", balance=yuan(balance))


def _arrears(ctx: CommandContext, account: Account, today: date) -> str:
    """The note to pay when nothing is available (the balance is then below zero: the answer says what is owed)."""
    return ctx.render("arrears_note") if account.available_on(today) < 0 else ""


async def charges_this_month(ctx: CommandContext) -> str:
    """101 / CXHF: this month's charges so far, by category, and the current balance."""
    _, account = await ctx.holder()
    charges = await ctx.ledger.charges(ctx.msisdn, _cycle(ctx))
    today = _today(ctx)
    return ctx.render(
        "charges_this_month",
        as_of=_as_of(ctx),
        total=yuan(sum(charges.values())),
        lines=_lines(ctx, dict(charges)),
        standing=_standing(ctx, account.balance_on(today)),
        available=yuan(account.available_on(today)),
        arrears=_arrears(ctx, account, today),
    )


async def last_bill(ctx: CommandContext) -> str:
    """103: last month's bill with its lines."""
    await ctx.holder()
    cycle = previous_cycle(_cycle(ctx))
    bill = await ctx.ledger.bill(ctx.msisdn, cycle)
    if bill is None:
        return ctx.render("last_bill_none", cycle=cycle_cn(cycle))
    return ctx.render("last_bill", cycle=cycle_cn(cycle), total=yuan(bill.total), lines=_lines(ctx, dict(bill.lines)))


async def bill_history(ctx: CommandContext) -> str:
    """104: the totals of the last six monthly bills, newest first."""
    await ctx.holder()
    bills = await ctx.ledger.bill_totals(ctx.msisdn, last_cycles(_cycle(ctx), BILL_HISTORY_MONTHS))
    if not bills:
        return ctx.render("bill_history_none", months=BILL_HISTORY_MONTHS)
    items = [ctx.render("bill_history_month", cycle=cycle_cn(b.cycle), total=yuan(b.total)) for b in bills]
    return ctx.render("bill_history", months=BILL_HISTORY_MONTHS, bills=ctx.render("item_separator").join(items))


async def points(ctx: CommandContext) -> str:
    """105: points."""
    _, account = await ctx.holder()
    return ctx.render("points", points=account.points)


async def data_usage(ctx: CommandContext) -> str:
    """108 / CXLL: per data package used and left, the total left, and data charged beyond packages."""
    await ctx.holder()
    cycle = _cycle(ctx)
    usage = await ctx.ledger.usage(ctx.msisdn, cycle)
    data_use = usage.get("data")
    used_kb = data_use.quantity if data_use else 0
    charged = data_use.charged if data_use else 0
    packages = _data_packages(ctx, await ctx.ledger.subscriptions(ctx.msisdn, cycle), cycle)
    caps = ctx.ledger.products.data_caps
    notes = (ctx.render("data_charge_cap", cap=yuan(caps.charge_fen)) if charged >= caps.charge_fen else "") + (
        ctx.render("data_volume_cap", cap=data(caps.volume_kb)) if used_kb >= caps.volume_kb else ""
    )
    if not packages:
        return ctx.render(
            "data_usage_no_package", as_of=_as_of(ctx), used=data(used_kb), charged=yuan(charged), notes=notes
        )
    uses, outside_kb = spread_data(used_kb, packages)
    items = [ctx.render("data_package", name=u.package.name, used=data(u.used_kb), left=data(u.left_kb)) for u in uses]
    return ctx.render(
        "data_usage",
        as_of=_as_of(ctx),
        packages=ctx.render("item_separator").join(items),
        left=data(sum(u.left_kb for u in uses)),
        outside=data(outside_kb, down=True),  # charged by the whole MB: shown as it is charged
        charged=yuan(charged),
        notes=notes,
    )


def _data_packages(ctx: CommandContext, subscriptions: list[Subscription], cycle: str) -> list[tuple[Package, int]]:
    products = ctx.ledger.products
    found = []
    for s in subscriptions:
        package = products.packages.get(s.product)
        if package is not None and package.kind == "data":
            found.append((package, prorated(package.quota_kb, s.started_at, cycle, ctx.ledger.calendar)))
    return found


async def payment_history(ctx: CommandContext) -> str:
    """110: the last five payments."""
    await ctx.holder()
    payments = await ctx.ledger.payments(ctx.msisdn, PAYMENTS_SHOWN)
    if not payments:
        return ctx.render("payments_none")
    calendar = ctx.ledger.calendar
    items = [
        ctx.render("payment_item", day=day_cn(calendar.today(p.paid_at)), amount=yuan(p.amount), channel=p.channel)
        for p in payments
    ]
    return ctx.render("payments", count=len(payments), items=ctx.render("item_separator").join(items))


async def current_plan(ctx: CommandContext) -> str:
    """501: the plan and the services ordered on top of it, with their monthly fees."""
    subscriber, _ = await ctx.holder()
    products = ctx.ledger.products
    plan = products.plans.get(subscriber.plan)
    name, fee = (plan.name, plan.monthly_fee_fen) if plan else (subscriber.plan, 0)
    ordered = await ordered_packages(ctx)
    if ordered:
        items = [ctx.render("service_fee", name=p.name, fee=yuan(p.monthly_fee_fen)) for p in ordered]
        services = ctx.render("current_plan_services", items=ctx.render("list_separator").join(items))
    else:
        services = ctx.render("current_plan_no_services")
    return ctx.render("current_plan", plan=name, fee=yuan(fee), services=services)


async def ordered_services(ctx: CommandContext) -> str:
    """0000: a numbered list of ordered services with their fees."""
    await ctx.holder()
    ordered = await ordered_packages(ctx)
    if not ordered:
        return ctx.render("ordered_services_none")
    return ordered_list(ctx, ordered)


def ordered_list(ctx: CommandContext, ordered: list[Package]) -> str:
    """The numbered list of 0000; the numbers are what the subscriber replies to cancel one."""
    items = [
        ctx.render("ordered_service", number=i, name=p.name, fee=yuan(p.monthly_fee_fen))
        for i, p in enumerate(ordered, 1)
    ]
    return ctx.render("ordered_services", items=ctx.render("item_separator").join(items))


async def ordered_packages(ctx: CommandContext) -> list[Package]:
    """The packages still ordered (not cancelled), oldest first."""
    products = ctx.ledger.products
    subscriptions = await ctx.ledger.subscriptions(ctx.msisdn, _cycle(ctx))
    ordered = []
    for s in subscriptions:
        if s.ends_at is not None:
            continue  # cancelled: runs to the end of the month, but is no longer ordered
        package = products.packages.get(s.product)
        if package is not None:
            ordered.append(package)
    return ordered


REQUESTS_SHOWN = 5


async def service_records(ctx: CommandContext) -> str:
    """504: the subscriber's latest messages to the service numbers (before this one), newest first."""
    await ctx.holder()
    records = await ctx.ledger.requests(ctx.msisdn, REQUESTS_SHOWN)
    if not records:
        return ctx.render("service_records_none")
    items = []
    for at, number, text in records:
        when = ctx.moment(at)
        template = "service_record" if text else "service_record_secret"  # a password or ID number is not kept
        items.append(ctx.render(template, moment=when, text=text, number=number))
    return ctx.render("service_records", count=len(records), items=ctx.render("item_separator").join(items))


async def puk_code(ctx: CommandContext) -> str:
    """604: the PUK code of the asking number's SIM, to that number only (the answer goes nowhere else)."""
    await ctx.holder()
    code = await ctx.ledger.puk(ctx.msisdn)
    return ctx.render("puk", puk=code) if code else ctx.render("puk_none")
