"""The table of a machine's transitions lands where python-statemachine's own machine lands."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed as LibraryNotAllowed

from gateway.dialog.machines import MACHINES, TRANSITIONS, Reply
from gateway.dialog.records import DialogRecord
from gateway.transitions import TransitionNotAllowed, Transitions

TEXTS = st.sampled_from(["是", "Y", "确认", "YES", "否", "N", "0", "1", "2", "3", "9", "12", "abc", "", "KTGPRS10"])
REPLIES = st.builds(
    Reply,
    text=TEXTS,
    now=st.sampled_from([0.0, 99.0, 100.0, 101.0]),
    number_count=st.integers(min_value=0, max_value=4),
    password_ok=st.booleans(),
    locked=st.booleans(),
    rule_problem=st.sampled_from([None, "too_short"]),
    repeat_ok=st.booleans(),
)


def states(kind: str) -> list[str]:
    return [state.value for state in MACHINES[kind].states]


def record(kind: str, state: str) -> DialogRecord:
    return DialogRecord(msisdn="13800138000", service_number="10086", kind=kind, state=state, expires_at=100.0)


def by_library(kind: str, state: str, event: str, reply: Reply | None) -> str:
    model = record(kind, state)
    try:
        machine = MACHINES[kind](model=model)
        if reply is None:
            machine.send(event)
        else:
            machine.send(event, reply=reply)
    except LibraryNotAllowed:
        return "not allowed"
    assert model.state is not None
    return model.state


def by_table(kind: str, state: str, event: str, reply: Reply | None) -> str:
    model = record(kind, state)
    arguments = {} if reply is None else {"reply": reply}
    try:
        landed = TRANSITIONS[kind].send(model, event, **arguments)
    except TransitionNotAllowed:
        return "not allowed"
    assert landed == model.state
    return landed


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(sorted(MACHINES)), data=st.data(), reply=REPLIES)
def test_every_reply_from_every_state_lands_where_the_library_lands(
    kind: str, data: st.DataObject, reply: Reply
) -> None:
    state = data.draw(st.sampled_from(states(kind)))

    assert by_table(kind, state, "reply", reply) == by_library(kind, state, "reply", reply)


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_expiry_from_every_state_lands_where_the_library_lands(kind: str) -> None:
    for state in states(kind):
        assert by_table(kind, state, "expire", None) == by_library(kind, state, "expire", None)


def test_a_confirmation_is_decided_by_its_reply_and_its_deadline() -> None:
    assert by_table("order", "pending", "reply", Reply(text="是", now=99.0)) == "confirmed"
    assert by_table("order", "pending", "reply", Reply(text="否", now=99.0)) == "declined"
    assert by_table("order", "pending", "reply", Reply(text="是", now=100.0)) == "expired"
    assert by_table("cancel", "pending", "expire", None) == "expired"
    assert by_table("order", "confirmed", "reply", Reply(text="是", now=99.0)) == "not allowed"
    assert TRANSITIONS["order"].initial == "pending"
    assert TRANSITIONS["password_reset"].initial == "check"


class Counter(StateMachine):
    low = State(initial=True)
    high = State()
    done = State(final=True)

    bump = low.to(high, unless="stuck") | low.to(done) | high.to(done, cond="enough")

    def stuck(self, amount: int) -> bool:
        return amount == 0

    def enough(self, amount: int) -> bool:
        return amount >= int(self.model.limit)


@dataclass
class Model:
    state: str
    limit: int = 3


def test_unless_guards_arguments_by_name_and_the_model_as_the_guards_see_it() -> None:
    table = Transitions(Counter)

    assert table.send(Model("low"), "bump", amount=1, ignored="x") == "high"
    assert table.send(Model("low"), "bump", amount=0) == "done"
    assert table.send(Model("high"), "bump", amount=3) == "done"
    with pytest.raises(TransitionNotAllowed) as refused:
        table.send(Model("high"), "bump", amount=2)
    assert str(refused.value) == "Counter: no 'bump' from state 'high' whose guards hold"
    with pytest.raises(TransitionNotAllowed) as unknown:
        table.send(Model("low"), "reset")
    assert str(unknown.value) == "Counter: no 'reset' from state 'low'"


def test_a_machine_with_callbacks_or_expressions_is_refused_at_import() -> None:
    class Acting(StateMachine):
        a = State(initial=True)
        b = State(final=True)
        go = a.to(b)

        def on_enter_b(self) -> None:
            pass

    class Expressive(StateMachine):
        a = State(initial=True)
        b = State(final=True)
        go = a.to(b, cond="x and y")

        def x(self) -> bool:
            return True

        def y(self) -> bool:
            return True

    with pytest.raises(TypeError) as acting:
        Transitions(Acting)
    with pytest.raises(TypeError) as expressive:
        Transitions(Expressive)

    assert str(acting.value) == "Acting has callbacks a table cannot run: on_enter_b"
    assert "Expressive: guard" in str(expressive.value)
