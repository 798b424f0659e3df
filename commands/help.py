"""The help answer: the service's name and the main codes of its catalog."""

from __future__ import annotations

from gateway.context import CommandContext


async def help_answer(ctx: CommandContext) -> str:
    t = ctx.templates
    codes = t.render("help_code_separator").join(
        t.render("help_code", code=entry.code, summary=entry.summary) for entry in ctx.catalog.entries if entry.listed
    )
    return t.render("help", name=ctx.catalog.name, codes=codes)
