"""Credit and reminder commands, each one change in the MO's own transaction (no dialog follows).

- ``JJKJ`` (紧急开机): a suspended subscriber asks for a protective restore (docs/credit.md).
- ``TDTX`` / ``KTTX``: stop / start the non-essential reminders (docs/pushes.md).
"""

from __future__ import annotations

from gateway.db import credit as credit_repo
from gateway.dialog.turn import Step, Turn
from gateway.errors import ProtectRefused
from gateway.format import yuan


async def protective_restore(turn: Turn, _: str) -> Step:
    ctx = turn.ctx
    await ctx.holder()
    assert ctx.credit is not None, "the router was built without credit control"
    try:
        moved = await ctx.credit.protect(turn.tx, ctx.msisdn, now=turn.now, notify=False)
    except ProtectRefused as refused:
        days = ctx.credit.config.protect_interval_days
        until = _moment(turn, refused.until or turn.now)
        return Step(text=ctx.render(f"protect_refused_{refused.reason}", days=days, until=until))
    until = _moment(turn, moved.restore_until or turn.now)
    return Step(text=ctx.render("protect_done", amount=yuan(moved.allowance), until=until))


def _moment(turn: Turn, instant: float) -> str:
    local = turn.ctx.ledger.calendar.local(instant)
    return turn.ctx.render("moment", month=local.month, day=local.day, hour=local.hour, minute=local.minute)


async def reminders_off(turn: Turn, _: str) -> Step:
    ctx = turn.ctx
    await ctx.holder()
    stopped = await credit_repo.opt_out(turn.tx, ctx.msisdn, now=turn.now)
    return Step(text=ctx.render("reminders_off" if stopped else "reminders_already_off"))


async def reminders_on(turn: Turn, _: str) -> Step:
    ctx = turn.ctx
    await ctx.holder()
    started = await credit_repo.opt_in(turn.tx, ctx.msisdn)
    return Step(text=ctx.render("reminders_on" if started else "reminders_already_on"))
