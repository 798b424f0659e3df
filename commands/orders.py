"""Ordering and cancelling packages with a second confirmation, and cancelling from the 0000 list.

``order`` / ``cancel`` / ``pick`` start a dialog; ``confirmation`` and ``pick_reply`` take the next reply.
The ledger is changed only in :func:`confirmation`, inside the dialog's transaction.
"""

from __future__ import annotations

from commands.queries import ordered_list, ordered_packages
from gateway.context import CommandContext
from gateway.db.unit import Tx
from gateway.dialog.machines import TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Step, Turn
from gateway.errors import AlreadySubscribed, InsufficientFunds, NotSubscribed, SubscriberSuspended
from gateway.format import data, day_cn, yuan
from gateway.ledger import orders as ledger_orders
from gateway.ledger.products import Package


def _package(turn: Turn, product: str) -> Package:
    return turn.ctx.ledger.products.packages[product]


def package_content(ctx: CommandContext, package: Package, quote: ledger_orders.Quote | None = None) -> str:
    """'，含国内流量70.00MB' / '，含短信50条' / '，含国内通话100分钟' / '' (what the package gives in a whole month,
    or with ``quote`` what ordering it now gives this month), as the order prompts say it."""
    gives = quote or package
    if package.kind == "data":
        return ctx.render("package_data_quota", quota=data(gives.quota_kb))
    if package.kind == "sms":
        return ctx.render("package_sms_quota", count=gives.quota_sms)
    if package.kind == "mms":
        return ctx.render("package_mms_quota", count=gives.quota_mms)
    if package.kind == "voice":
        return ctx.render("package_voice_quota", minutes=gives.quota_minutes)
    return ""


def this_month(ctx: CommandContext, package: Package, now: float) -> str:
    """What ordering now costs and gives this month (half after the 16th): part of the SMS and USSD prompts."""
    quote = ledger_orders.quote(package, now, ctx.ledger.calendar)
    return ctx.render(
        "order_prorated" if quote.prorated else "order_full_month",
        fee=yuan(quote.fee),
        content=package_content(ctx, package, quote),
    )


async def order(turn: Turn, product: str) -> Step:
    """KT…: say what the package costs and gives this month, and ask for 是/Y."""
    ctx = turn.ctx
    subscriber, _ = await ctx.holder()
    package = _package(turn, product)
    if subscriber.status == "suspended":
        return Step(text=ctx.render("order_suspended"))
    if await ledger_orders.subscription_id(turn.tx, ctx.msisdn, product) is not None:
        return Step(text=ctx.render("order_already", name=package.name))
    if await ledger_orders.cancelled_this_month(turn.tx, ctx.msisdn, product, turn.now):
        text = ctx.render("order_reinstate_confirm", name=package.name, minutes=turn.minutes)
        return Step(text=text, dialog=turn.start("order", product=product, name=package.name))
    text = ctx.render(
        "order_confirm",
        name=package.name,
        fee=yuan(package.monthly_fee_fen),
        content=package_content(ctx, package),
        this_month=this_month(ctx, package, turn.now),
        minutes=turn.minutes,
    )
    return Step(text=text, dialog=turn.start("order", product=product, name=package.name))


async def cancel(turn: Turn, product: str) -> Step:
    """QX…: ask to confirm the cancellation of a package the subscriber has."""
    ctx = turn.ctx
    await ctx.holder()
    if product not in ctx.ledger.products.packages:  # a family (QXGPRS): the package of it the subscriber holds
        held = [
            code
            for code in sorted(ctx.ledger.products.packages)
            if code.startswith(product) and await ledger_orders.subscription_id(turn.tx, ctx.msisdn, code) is not None
        ]
        if not held:
            name = ctx.render("package_family", family=product)
            return Step(text=ctx.render("cancel_not_subscribed", name=name))
        product = held[0]
    package = _package(turn, product)
    if await ledger_orders.subscription_id(turn.tx, ctx.msisdn, product) is None:
        return Step(text=ctx.render("cancel_not_subscribed", name=package.name))
    return Step(text=_cancel_prompt(turn, package), dialog=turn.start("cancel", product=product, name=package.name))


def _cancel_prompt(turn: Turn, package: Package) -> str:
    return turn.ctx.render("cancel_confirm", name=package.name, minutes=turn.minutes)


async def confirmation(turn: Turn, record: DialogRecord) -> Step:
    """The reply to an order or cancel prompt: 是/Y does it, anything else (or too late) does not."""
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=turn.ctx.text, now=turn.now))
    name = record.data["name"]
    if record.state != "confirmed":
        return Step(text=turn.ctx.render(f"{record.kind}_{record.state}", name=name))
    package = _package(turn, record.data["product"])
    if record.kind == "order":
        return Step(text=await place_order(turn.tx, ctx=turn.ctx, package=package, now=turn.now))
    return Step(text=await _cancel(turn, package))


async def place_order(tx: Tx, *, ctx: CommandContext, package: Package, now: float) -> str:
    """Order ``package`` in ``tx`` and say how it went (by SMS after 是/Y, by USSD after 1 确认)."""
    try:
        charged = await ledger_orders.order(tx, ctx.msisdn, package, now=now, calendar=ctx.ledger.calendar)
    except InsufficientFunds as short:
        fee = ledger_orders.quote(package, now, ctx.ledger.calendar).fee
        return ctx.render(
            "order_insufficient",
            name=package.name,
            fee=yuan(fee),
            available=yuan(short.available),
            shortfall=yuan(short.shortfall),
        )
    except AlreadySubscribed:
        return ctx.render("order_already", name=package.name)
    except SubscriberSuspended:
        return ctx.render("order_suspended")
    if charged.reinstated:
        return ctx.render("order_reinstated", name=package.name, balance=yuan(charged.balance))
    return ctx.render("order_done", name=package.name, charged=yuan(charged.fee), balance=yuan(charged.balance))


async def _cancel(turn: Turn, package: Package) -> str:
    ctx = turn.ctx
    try:
        last_day = await ledger_orders.cancel(turn.tx, ctx.msisdn, package, now=turn.now, calendar=ctx.ledger.calendar)
    except NotSubscribed:
        return ctx.render("cancel_not_subscribed", name=package.name)
    return ctx.render("cancel_done", name=package.name, last_day=day_cn(last_day))


async def pick(turn: Turn, _: str) -> Step:
    """0000 (or 0): the numbered list of ordered services; replying a number cancels that one."""
    ctx = turn.ctx
    await ctx.holder()
    ordered = await ordered_packages(ctx)
    if not ordered:
        return Step(text=ctx.render("ordered_services_none"))
    text = ordered_list(ctx, ordered) + ctx.render("pick_hint")
    return Step(text=text, dialog=turn.start("pick", products=[p.code for p in ordered]))


async def pick_reply(turn: Turn, record: DialogRecord) -> Step:
    products: list[str] = record.data["products"]
    reply = Reply(text=turn.ctx.text, now=turn.now, number_count=len(products))
    TRANSITIONS[record.kind].send(record, "reply", reply=reply)
    ctx = turn.ctx
    count = len(products)
    if record.state == "picked":
        package = _package(turn, products[int(ctx.text) - 1])
        return Step(
            text=_cancel_prompt(turn, package), dialog=turn.start("cancel", product=package.code, name=package.name)
        )
    if record.state in ("listing", "reasking"):
        record.expires_at = turn.now + turn.window
        template = ("pick_ask" if ctx.text == "0" else "pick_out_of_range") + ("_one" if count == 1 else "")
        return Step(text=ctx.render(template, count=count), dialog=record)
    return Step(text=ctx.render(f"pick_{record.state}"))
