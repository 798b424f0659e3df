"""Credit and reminder commands, each one change in the MO's own transaction (no dialog follows).

- ``JJKJ`` (紧急开机): a suspended subscriber asks for a protective restore (docs/credit.md).
- ``TDTX`` / ``KTTX``: stop / start the non-essential reminders (docs/pushes.md).
- ``321`` (报停): suspend a number of one's own accord, or restore it, each after 是/Y (a dialog).
- ``381`` / ``385``: the bill by SMS (the bill-ready reminder) and the e-bill, switched after 是/Y.
"""

from __future__ import annotations

from gateway.db import choices
from gateway.db import credit as credit_repo
from gateway.dialog.machines import TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
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
        until = ctx.moment(refused.until or turn.now)
        return Step(text=ctx.render(f"protect_refused_{refused.reason}", days=days, until=until))
    until = ctx.moment(moved.restore_until or turn.now)
    return Step(text=ctx.render("protect_done", amount=yuan(moved.allowance), until=until))


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


async def voluntary_suspension(turn: Turn, _: str) -> Step:
    """321 (报停): an active number is asked to confirm its suspension; one suspended so is asked to confirm its
    restore; one suspended for another reason is told why 321 cannot help."""
    ctx = turn.ctx
    await ctx.holder()
    standing = (await credit_repo.standings(turn.tx, [ctx.msisdn]))[ctx.msisdn]
    current = standing.state
    reason = standing.credit.reason if standing.credit is not None else ""
    if current == "active":
        return Step(
            text=ctx.render("voluntary_suspend_confirm", minutes=turn.minutes), dialog=turn.start("voluntary_suspend")
        )
    if current == "suspended" and reason == "voluntary":
        return Step(
            text=ctx.render("voluntary_restore_confirm", minutes=turn.minutes), dialog=turn.start("voluntary_restore")
        )
    if current == "protected":
        return Step(text=ctx.render("voluntary_refused_protected"))
    return Step(text=ctx.render("voluntary_refused_suspended"))


async def voluntary_confirmation(turn: Turn, record: DialogRecord) -> Step:
    """是/Y to 321's prompt: suspended (or restored) in this transaction; anything else: nothing changes."""
    ctx = turn.ctx
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=ctx.text, now=turn.now))
    if record.state != "confirmed":
        return Step(text=ctx.render(f"{record.kind}_{record.state}"))
    assert ctx.credit is not None, "the router was built without credit control"
    suspend = record.kind == "voluntary_suspend"
    moved = await ctx.credit.voluntary(turn.tx, ctx.msisdn, suspend=suspend, now=turn.now)
    if not moved:  # the state changed since the prompt (a payment, the operator)
        return Step(text=ctx.render("voluntary_not_now"))
    if suspend:
        return Step(text=ctx.render("voluntary_suspended"))
    if moved[-1].target == "suspended":  # restored, and at once suspended again by the balance rule
        return Step(text=ctx.render("voluntary_restored_in_arrears"))
    return Step(text=ctx.render("voluntary_restored"))


async def bill_choice(turn: Turn, what: str) -> Step:
    """381 (``sms``: the bill by SMS) and 385 (``ebill``): say how it stands and offer to switch it, after 是/Y."""
    ctx = turn.ctx
    await ctx.holder()
    by_sms, ebill = await choices.bill_choice(turn.tx, ctx.msisdn)
    on = by_sms if what == "sms" else ebill
    text = ctx.render(f"bill_{what}_{'on' if on else 'off'}_confirm", minutes=turn.minutes)
    return Step(text=text, dialog=turn.start("bill_choice", what=what, on=not on))


async def bill_choice_confirmation(turn: Turn, record: DialogRecord) -> Step:
    """是/Y to 381's or 385's prompt: the choice switched in this transaction; anything else keeps it."""
    ctx = turn.ctx
    TRANSITIONS[record.kind].send(record, "reply", reply=Reply(text=ctx.text, now=turn.now))
    what, on = str(record.data["what"]), bool(record.data["on"])
    if record.state != "confirmed":
        return Step(text=ctx.render("bill_choice_kept"))
    by_sms, ebill = await choices.bill_choice(turn.tx, ctx.msisdn)
    if what == "sms":
        by_sms = on
    else:
        ebill = on
    await choices.choose_bill(turn.tx, ctx.msisdn, by_sms=by_sms, ebill=ebill, now=turn.now)
    return Step(text=ctx.render(f"bill_{what}_{'on' if on else 'off'}_done"))
