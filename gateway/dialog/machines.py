"""The dialog machines. Each decides the next state from the reply and facts the caller gathered.

They do no I/O: the engine reads what a guard needs (is the old password right? is the subscriber locked
out?) before sending the event, and acts on the state the machine lands in. The model is a
:class:`~gateway.dialog.records.DialogRecord`; its ``state`` field is the machine's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from statemachine import State, StateMachine

from gateway.transitions import Transitions

YES = frozenset({"是", "是的", "Y", "确认", "确定", "YES"})  # upper-cased by the normaliser: "y" arrives as "Y"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One subscriber reply as the machines see it, with the facts the engine looked up for it."""

    text: str  # normalised
    now: float
    number_count: int = 0  # pick: how many items the list has
    password_ok: bool = False  # password change: the old password (or, for a reset, the ID number) matched
    locked: bool = False  # the subscriber is (now) locked out of the password functions
    rule_problem: str | None = None  # password: the rule the new password breaks, if any
    repeat_ok: bool = False  # password: the repeat equals the new password


class _Guards:
    """Guards shared by the machines. ``model`` is the DialogRecord."""

    model: object

    def past_deadline(self, reply: Reply) -> bool:
        return bool(reply.now >= self.model.expires_at)  # type: ignore[attr-defined]


class Confirmation(StateMachine, _Guards):
    """Order or cancel with a second confirmation: reply 是/Y within the window, anything else declines."""

    pending = State(initial=True)
    confirmed = State(final=True)
    declined = State(final=True)
    expired = State(final=True)

    reply = pending.to(expired, cond="past_deadline") | pending.to(confirmed, cond="is_yes") | pending.to(declined)
    expire = pending.to(expired)

    def is_yes(self, reply: Reply) -> bool:
        return reply.text in YES


class ServicePick(StateMachine, _Guards):
    """After 0000: reply the number of a service to cancel; one wrong number is asked again, two give up."""

    listing = State(initial=True)
    reasking = State()
    picked = State(final=True)
    gave_up = State(final=True)
    expired = State(final=True)

    reply = (
        listing.to(expired, cond="past_deadline")
        | reasking.to(expired, cond="past_deadline")
        | listing.to(listing, cond="is_zero")
        | reasking.to(reasking, cond="is_zero")
        | listing.to(picked, cond="in_range")
        | reasking.to(picked, cond="in_range")
        | listing.to(reasking)
        | reasking.to(gave_up)
    )
    expire = listing.to(expired) | reasking.to(expired)

    def is_zero(self, reply: Reply) -> bool:
        return reply.text == "0"  # "0" (退订) after the list: ask for the number

    def in_range(self, reply: Reply) -> bool:
        return reply.text.isdigit() and 1 <= int(reply.text) <= reply.number_count


class SecretChange(StateMachine, _Guards):
    """502 and 503: a secret on file (the old password, or the ID number) → a new password → it again."""

    check = State(initial=True)
    new = State()
    repeat = State()
    changed = State(final=True)
    locked = State(final=True)
    expired = State(final=True)

    reply = (
        check.to(expired, cond="past_deadline")
        | new.to(expired, cond="past_deadline")
        | repeat.to(expired, cond="past_deadline")
        | check.to(locked, cond="is_locked")
        | check.to(new, cond="password_ok")
        | check.to(check)
        | new.to(repeat, cond="acceptable")
        | new.to(new)
        | repeat.to(changed, cond="repeat_ok")
        | repeat.to(new)
    )
    expire = check.to(expired) | new.to(expired) | repeat.to(expired)

    def is_locked(self, reply: Reply) -> bool:
        return reply.locked

    def password_ok(self, reply: Reply) -> bool:
        return reply.password_ok

    def acceptable(self, reply: Reply) -> bool:
        return reply.rule_problem is None

    def repeat_ok(self, reply: Reply) -> bool:
        return reply.repeat_ok


MACHINES: dict[str, type[StateMachine]] = {
    "order": Confirmation,
    "cancel": Confirmation,
    "pick": ServicePick,
    "password_change": SecretChange,
    "password_reset": SecretChange,
    "exchange_pick": ServicePick,  # 8: the number of a points offer
    "exchange": Confirmation,  # …then 是/Y
    "menu_pick": ServicePick,  # 421, 408…: the number of a package to order
    "voluntary_suspend": Confirmation,  # 321: 报停…
    "voluntary_restore": Confirmation,  # …and its restore
    "bill_choice": Confirmation,  # 381, 385: the bill by SMS, the e-bill
}
"""Each dialog kind and its machine."""

_TABLES = {machine: Transitions(machine) for machine in set(MACHINES.values())}
TRANSITIONS: dict[str, Transitions] = {kind: _TABLES[machine] for kind, machine in MACHINES.items()}
"""Each dialog kind's machine as a table: how a step moves a dialog (``TRANSITIONS[kind].send(record, ...)``),
without building a machine each time (see :mod:`gateway.transitions`)."""
