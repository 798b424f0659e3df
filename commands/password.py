"""502 (change the service password) and 503 (reset it with the ID number), as dialogs.

``change_password`` / ``reset_password`` start them; ``password_change_reply`` / ``password_reset_reply``
take each next reply: they gather the facts the machine's guards read (is the old password or the ID
number right, is the subscriber locked out, which rule the new password breaks, does the repeat match),
send ``reply``, and act on the state the machine lands in.

The rules for a new password (seed 003), checked in this order, each with its own answer:

1. exactly 6 digits (0-9);
2. no run of 3 or more identical digits (``111``);
3. no run of 3 or more consecutive digits, ascending or descending by value (``123``, ``321``); there is
   no wrap-around, so ``890`` and ``901`` are allowed;
4. not the last 6 digits of the phone number;
5. not the last 6 characters of the ID number (checked against their salted hash, when one is on file).

Secrets stay out of storage and answers: the dialog keeps only a salted hash of the first entry of the
new password, the answers never quote what was sent, and the inbox's copy of each reply is blanked in the
same transaction.

Hashing takes about 50 ms, so it runs in worker threads, and before the transaction:
``prepare_change_reply`` / ``prepare_reset_reply`` check the reply against the hashes as committed and
hash it anew, outside the writer, so no other subscriber's commit waits for it. The transaction reads the
hashes again and uses a result only if what it was checked against is still on file; otherwise (changed
meanwhile) it checks there, as before.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from itertools import pairwise

from gateway.context import CommandContext
from gateway.dialog.machines import TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
from gateway.dialog.turn import Hashed, Step, Turn
from gateway.ledger import passwords
from gateway.ledger.passwords import Attempts, SecretHashes
from gateway.ledger.secrets import hash_secret, verify_secret

log = logging.getLogger("gateway.password")

PASSWORD_LENGTH = 6
RUN = 3  # identical or consecutive digits in a row that make a password too easy
_DIGITS = frozenset("0123456789")


def password_problem(candidate: str, msisdn: str) -> str | None:
    """The template of the first of rules 1-4 that ``candidate`` breaks, or None if it keeps them all.

    Rule 5 (the ID number's tail) needs the hash on file: see :func:`_check_new`.
    """
    if len(candidate) != PASSWORD_LENGTH or not set(candidate) <= _DIGITS:
        return "password_not_six_digits"
    digits = [int(c) for c in candidate]
    runs = [digits[i : i + RUN] for i in range(len(digits) - RUN + 1)]
    if any(len(set(run)) == 1 for run in runs):
        return "password_repeated_digits"
    if any(_consecutive(run) for run in runs):
        return "password_sequential_digits"
    if candidate == msisdn[-PASSWORD_LENGTH:]:
        return "password_phone_tail"
    return None


def _consecutive(run: list[int]) -> bool:
    steps = {b - a for a, b in pairwise(run)}
    return steps in ({1}, {-1})


# --- starting -------------------------------------------------------------------------------------


async def change_password(turn: Turn, _: str) -> Step:
    """502: ask for the old password, unless none is set or the password functions are locked."""
    return await _start(turn, CHANGE)


async def reset_password(turn: Turn, _: str) -> Step:
    """503: ask for the ID number, unless none is on file or the password functions are locked."""
    return await _start(turn, RESET)


async def _start(turn: Turn, flow: _Flow) -> Step:
    ctx = turn.ctx
    await ctx.holder()
    if flow.on_file(await passwords.secret_hashes(turn.tx, ctx.msisdn)) is None:
        return Step(text=ctx.render(flow.missing))
    refusal = await _refusal_if_locked(turn)
    if refusal is not None:
        return Step(text=refusal)
    return Step(text=ctx.render(flow.ask, minutes=turn.minutes), dialog=turn.start(flow.kind))


async def _refusal_if_locked(turn: Turn) -> str | None:
    attempts = await passwords.attempts(turn.tx, turn.ctx.msisdn, turn.now)
    return None if attempts.locked_until is None else _locked(turn, attempts.locked_until)


def _locked(turn: Turn, until: float) -> str:
    local = turn.ctx.ledger.calendar.local(until)
    when = turn.ctx.render(
        "password_unlock_time", month=local.month, day=local.day, hour=local.hour, minute=local.minute
    )
    return turn.ctx.render("password_locked", limit=passwords.MAX_FAILURES, until=when)


# --- the replies ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Flow:
    """What differs between 502 and 503: the dialog kind (which secret on file is checked) and two answers."""

    kind: str
    missing: str  # the answer when there is no such secret on file
    ask: str  # the first question
    wrong: str  # the answer when the secret on file does not match
    done: str  # the answer once the new password is set

    def on_file(self, hashes: SecretHashes) -> str | None:
        return hashes.password_hash if self.kind == "password_change" else hashes.id_hash


FIRST = "check"  # the state whose reply is checked against the secret on file
CHANGE = _Flow(
    kind="password_change",
    missing="password_not_set",
    ask="password_ask_old",
    wrong="password_wrong_old",
    done="password_changed",
)
RESET = _Flow(
    kind="password_reset", missing="reset_no_id", ask="reset_ask_id", wrong="reset_wrong_id", done="reset_done"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Facts:
    """The reply as the machine sees it, and what acting on its outcome needs."""

    reply: Reply
    attempts: Attempts | None = None  # after a check of the old password or ID number
    new_hash: str | None = None  # a fresh salted hash of an acceptable new password, or of its repeat


async def password_change_reply(turn: Turn, record: DialogRecord) -> Step:
    return await _continue(turn, record, CHANGE)


async def password_reset_reply(turn: Turn, record: DialogRecord) -> Step:
    return await _continue(turn, record, RESET)


async def _continue(turn: Turn, record: DialogRecord, flow: _Flow) -> Step:
    """Every reply in these dialogs is a password or an ID number: each Step says so (``secret``), and the
    inbox's copy of it is blanked in the same transaction."""
    facts = await _facts(turn, record, flow)
    before = record.state
    TRANSITIONS[record.kind].send(record, "reply", reply=facts.reply)
    ctx, state = turn.ctx, record.state
    if state == "changed":
        assert facts.new_hash is not None
        await passwords.set_password_hash(turn.tx, ctx.msisdn, facts.new_hash)
        return Step(text=ctx.render(flow.done), secret=True)
    if state == "expired":
        return Step(text=ctx.render(f"{record.kind}_expired", name=""), secret=True)
    if state == "locked":
        assert facts.attempts is not None and facts.attempts.locked_until is not None
        return Step(text=_locked(turn, facts.attempts.locked_until), secret=True)
    record.expires_at = turn.now + turn.window  # still waiting: the window starts again
    if state == FIRST:
        assert facts.attempts is not None
        text = ctx.render(flow.wrong, left=facts.attempts.left)
    elif state == "repeat":
        record.data["new_hash"] = facts.new_hash
        text = ctx.render("password_ask_repeat")
    elif before == FIRST:
        text = ctx.render("password_ask_new")
    elif before == "new":
        text = ctx.render(str(facts.reply.rule_problem))
    else:  # the repeat did not match: start the new password again
        record.data.pop("new_hash", None)
        text = ctx.render("password_repeat_mismatch")
    return Step(text=text, dialog=record, secret=True)


async def _facts(turn: Turn, record: DialogRecord, flow: _Flow) -> _Facts:
    """Look up what the guards of the record's current state read; nothing at all once it is too late."""
    if turn.now >= record.expires_at:
        return _Facts(reply=Reply(text=turn.ctx.text, now=turn.now))
    hashes = await passwords.secret_hashes(turn.tx, turn.ctx.msisdn)
    if record.state == FIRST:
        return await _check_first(turn, flow.on_file(hashes))
    if record.state == "new":
        return await _check_new(turn, hashes.id_tail_hash)
    return await _check_repeat(turn, record.data["new_hash"])


async def _check_first(turn: Turn, on_file: str | None) -> _Facts:
    """The old password (502) or ID number (503); a mismatch is a failure, and may lock."""
    text, now, msisdn = turn.ctx.text, turn.now, turn.ctx.msisdn
    attempts = await passwords.attempts(turn.tx, msisdn, now)
    if attempts.locked_until is None:  # locked meanwhile (e.g. by 503 on the other service number): no check
        if await _matches(turn, on_file):
            return _Facts(reply=Reply(text=text, now=now, password_ok=True))
        attempts = await passwords.record_failure(turn.tx, msisdn, now)
    return _Facts(reply=Reply(text=text, now=now, locked=attempts.locked_until is not None), attempts=attempts)


async def _check_new(turn: Turn, id_tail_hash: str | None) -> _Facts:
    """Rules 1-5; an acceptable password is hashed at once (beside the rule 5 check) for the repeat."""
    text, now = turn.ctx.text, turn.now
    problem = password_problem(text, turn.ctx.msisdn)
    if problem is not None:
        return _Facts(reply=Reply(text=text, now=now, rule_problem=problem))
    if await _matches(turn, id_tail_hash):
        return _Facts(reply=Reply(text=text, now=now, rule_problem="password_id_tail"))
    return _Facts(reply=Reply(text=text, now=now), new_hash=await _fresh_hash(turn))


async def _check_repeat(turn: Turn, new_hash: str) -> _Facts:
    """Does the repeat match the first entry? Its fresh hash (made beside the check) is what gets stored."""
    text, now = turn.ctx.text, turn.now
    same = await _matches(turn, new_hash)
    return _Facts(reply=Reply(text=text, now=now, repeat_ok=same), new_hash=await _fresh_hash(turn) if same else None)


async def _matches(turn: Turn, stored: str | None) -> bool:
    """Whether the reply matches ``stored``: as worked out before the transaction, if it was checked against
    this very hash; if not (the hash on file changed meanwhile), checked here, on the database thread, and the
    batch waits for it."""
    if stored is None:
        return False
    known = turn.hashed.matches.get(stored)
    if known is None:
        log.info("a hash on file changed before the transaction: checked inside it", extra={"msisdn": turn.ctx.msisdn})
        return verify_secret(turn.ctx.text, stored)
    return known


async def _fresh_hash(turn: Turn) -> str:
    """A new salted hash of the reply: the one made before the transaction, or (none was) one made here."""
    if turn.hashed.fresh is None:
        log.info("no hash made before the transaction: made inside it", extra={"msisdn": turn.ctx.msisdn})
        return hash_secret(turn.ctx.text)
    return turn.hashed.fresh


# --- before the transaction -----------------------------------------------------------------------


async def prepare_change_reply(ctx: CommandContext, record: DialogRecord, now: float) -> Hashed:
    return await _prepare(ctx, record, now, CHANGE)


async def prepare_reset_reply(ctx: CommandContext, record: DialogRecord, now: float) -> Hashed:
    return await _prepare(ctx, record, now, RESET)


async def _prepare(ctx: CommandContext, record: DialogRecord, now: float, flow: _Flow) -> Hashed:
    """Outside the writer: the hashing :func:`_facts` will need for this reply, from the dialog and the hashes
    on file as committed (read through the ledger's read connection). Nothing is written or kept."""
    if now >= record.expires_at:
        return Hashed()
    hashes = await passwords.secret_hashes(ctx.ledger, ctx.msisdn)
    if record.state == FIRST:
        return await _hash_ahead(ctx.text, flow.on_file(hashes), fresh=False)
    if record.state == "new":
        if password_problem(ctx.text, ctx.msisdn) is not None:
            return Hashed()
        return await _hash_ahead(ctx.text, hashes.id_tail_hash, fresh=True)
    return await _hash_ahead(ctx.text, record.data["new_hash"], fresh=True)


async def _hash_ahead(text: str, stored: str | None, *, fresh: bool) -> Hashed:
    """Check ``text`` against ``stored`` and, if ``fresh``, make a new salted hash of it, side by side in threads."""

    async def check() -> dict[str, bool]:
        return {} if stored is None else {stored: await asyncio.to_thread(verify_secret, text, stored)}

    async def new_hash() -> str | None:
        return await asyncio.to_thread(hash_secret, text) if fresh else None

    matches, made = await asyncio.gather(check(), new_hash())
    return Hashed(matches=matches, fresh=made)
