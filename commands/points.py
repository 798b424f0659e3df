"""Points: ``113`` the rules, ``8`` the exchange (a numbered list of offers, a number, then 是/Y).

The offers are ``[[points.offers]]`` of ``config/products.toml``; the ledger changes only after 是/Y, in the
dialog's transaction (:func:`gateway.ledger.points.exchange`).
"""

from __future__ import annotations

from gateway.context import CommandContext
from gateway.dialog.machines import TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Step, Turn
from gateway.errors import AlreadySubscribed, NotEnoughPoints, SubscriberSuspended
from gateway.format import day_cn
from gateway.ledger import points as ledger_points
from gateway.ledger.products import Offer


def _offers(turn: Turn) -> tuple[Offer, ...]:
    return turn.ctx.ledger.products.points.offers


async def points_rules(ctx: CommandContext) -> str:
    """113: how points are earned and what they are for."""
    _, account = await ctx.holder()
    return ctx.render("points_rules", per_yuan=ctx.ledger.products.points.per_yuan, points=account.points)


async def points_exchange(turn: Turn, _argument: str) -> Step:
    """8: the offers, numbered; replying a number asks to confirm that one."""
    ctx = turn.ctx
    _, account = await ctx.holder()
    offers = _offers(turn)
    if not offers:
        return Step(text=ctx.render("exchange_none", points=account.points))
    items = ctx.render("item_separator").join(
        ctx.render("exchange_offer", number=n, points=o.points, name=o.name) for n, o in enumerate(offers, 1)
    )
    least = min(o.points for o in offers)
    if account.points < least:
        return Step(text=ctx.render("exchange_too_few", points=account.points, least=least, offers=items))
    text = ctx.render("exchange_list", points=account.points, offers=items, count=len(offers))
    return Step(text=text, dialog=turn.start("exchange_pick", count=len(offers)))


async def exchange_pick_reply(turn: Turn, record: DialogRecord) -> Step:
    """The number of an offer: its confirmation is asked; a wrong number once is asked again, twice gives up."""
    ctx = turn.ctx
    count = int(record.data["count"])
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=ctx.text, now=turn.now, number_count=count))
    if record.state in ("listing", "reasking"):
        record.expires_at = turn.now + turn.window
        return Step(text=ctx.render("exchange_out_of_range", count=count), dialog=record)
    if record.state != "picked":
        return Step(text=ctx.render(f"exchange_pick_{record.state}"))
    offers = _offers(turn)
    number = int(ctx.text)
    if number > len(offers):  # the offers changed under the dialog
        return Step(text=ctx.render("exchange_pick_expired"))
    offer = offers[number - 1]
    _, account = await ctx.holder()
    if account.points < offer.points:
        return Step(text=ctx.render("exchange_short", name=offer.name, need=offer.points, points=account.points))
    text = ctx.render("exchange_confirm", name=offer.name, need=offer.points, minutes=turn.minutes)
    return Step(text=text, dialog=turn.start("exchange", offer=number, name=offer.name))


async def exchange_confirmation(turn: Turn, record: DialogRecord) -> Step:
    """是/Y: the points are spent and the offer given, in this transaction; anything else: nothing changes."""
    ctx = turn.ctx
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=ctx.text, now=turn.now))
    name = record.data["name"]
    if record.state != "confirmed":
        return Step(text=ctx.render(f"exchange_{record.state}", name=name))
    offers = _offers(turn)
    number = int(record.data["offer"])
    if number > len(offers) or offers[number - 1].name != name:
        return Step(text=ctx.render("exchange_expired", name=name))
    offer = offers[number - 1]
    try:
        done = await ledger_points.exchange(turn.tx, ctx.msisdn, offer, now=turn.now, calendar=ctx.ledger.calendar)
    except NotEnoughPoints as short:
        return Step(text=ctx.render("exchange_short", name=name, need=short.need, points=short.have))
    except AlreadySubscribed:
        return Step(text=ctx.render("exchange_already", name=name))
    except SubscriberSuspended:
        return Step(text=ctx.render("order_suspended"))
    if done.gift_until is not None:
        text = ctx.render(
            "exchange_done_gift", name=name, need=offer.points, until=day_cn(done.gift_until), points=done.points_left
        )
    else:
        text = ctx.render("exchange_done_package", name=name, need=offer.points, points=done.points_left)
    return Step(text=text)
