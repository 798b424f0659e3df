"""Menus of 10001 (seed 004): a numbered list of packages to order (421 data packs, 408 SMS packs, 301 彩铃…),
and the operator's information texts (201 promotions, 322 呼叫转移…).

A menu's catalog entry names its packages (``argument = "GPRS3 GPRS5 …"``); the answer lists each with its
monthly fee, what it gives and its order code, and replying a number asks to confirm that order, as its
KT… code does (:func:`commands.orders.order`). An information entry names its template (``info_<argument>``
in ``config/templates/zh-CN.toml``): the words are the operator's, in config.
"""

from __future__ import annotations

from commands.orders import order, package_content
from gateway.context import CommandContext
from gateway.dialog.machines import TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Step, Turn
from gateway.format import data, yuan
from gateway.ledger.products import Package


def _packages(ctx: CommandContext, argument: str) -> list[Package]:
    return [ctx.ledger.products.packages[code] for code in argument.split()]


def _content(ctx: CommandContext, package: Package) -> str:
    if package.kind == "data":
        return ctx.render("menu_data_quota", quota=data(package.quota_kb))
    return package_content(ctx, package)


def _order_code(package: Package) -> str:
    return package.order[0] if package.order else package.code


def _item(ctx: CommandContext, number: int, package: Package) -> str:
    fee = yuan(package.monthly_fee_fen)
    content = _content(ctx, package)
    return ctx.render(
        "menu_item", number=number, name=package.name, fee=fee, content=content, order=_order_code(package)
    )


def _menu_text(ctx: CommandContext, title: str, packages: list[Package]) -> str:
    if len(packages) == 1:  # one service: its fee and its codes, no list
        [package] = packages
        codes = package.cancel[:1]
        cancel = ctx.render("menu_cancel_code", cancel=codes[0]) if codes else ctx.render("menu_cancel")
        return ctx.render(
            "menu_one",
            title="" if title == package.name else ctx.render("menu_title", title=title),
            name=package.name,
            fee=yuan(package.monthly_fee_fen),
            content=_content(ctx, package),
            order=_order_code(package),
            cancel=cancel,
        )
    items = ctx.render("item_separator").join(_item(ctx, n, p) for n, p in enumerate(packages, 1))
    return ctx.render("menu", title=title, items=items, hint=ctx.render("menu_hint"))


async def package_menu(turn: Turn, argument: str) -> Step:
    """421, 408, 301…: the packages of the menu, numbered; a number orders one (after 是/Y)."""
    ctx = turn.ctx
    await ctx.holder()
    packages = _packages(ctx, argument)
    entry = ctx.catalog.lookup(ctx.text)
    text = _menu_text(ctx, entry.summary if entry is not None else "", packages)
    return Step(text=text, dialog=turn.start("menu_pick", products=[p.code for p in packages]))


async def menu_pick_reply(turn: Turn, record: DialogRecord) -> Step:
    """The number of a menu's package: its order is asked to confirm; a wrong number once is asked again."""
    ctx = turn.ctx
    products: list[str] = record.data["products"]
    count = len(products)
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=ctx.text, now=turn.now, number_count=count))
    if record.state in ("listing", "reasking"):
        record.expires_at = turn.now + turn.window
        template = "pick_out_of_range_one" if count == 1 else "pick_out_of_range"
        return Step(text=ctx.render(template, count=count), dialog=record)
    if record.state != "picked":
        return Step(text=ctx.render(f"menu_{record.state}"))
    return await order(turn, products[int(ctx.text) - 1])


async def information(ctx: CommandContext) -> str:
    """201, 322–325, 406…: the operator's text for the code (template ``info_<argument>``)."""
    entry = ctx.catalog.lookup(ctx.text)
    return ctx.render(f"info_{entry.argument if entry is not None else ctx.text}")
