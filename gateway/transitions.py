"""A python-statemachine class read once into a table of its transitions, to step a model without a machine.

The machines stay written as python-statemachine classes: that is where a reader finds the states, the
events and the guards. But building a machine and sending it an event costs about 0.3 ms of CPU (listeners,
an event queue, an engine per instance), a third of a dialog step's work on the database thread. A
:class:`Transitions` reads the class's transitions at import, in the order the class declares them, and
steps a model with a dictionary look-up and the guards' own methods: the first transition of the model's
state for the event whose guards all hold wins, as in the library.

Only what the dialog machines use is read: plain method names as guards (``cond=`` and ``unless=``), no
actions and no callbacks. Anything else makes :class:`Transitions` refuse the class at import, and
``tests/test_transitions.py`` checks that the table lands where the library's own machine lands, for every
state, event and reply.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from statemachine import StateMachine

Guard = tuple[Callable[..., Any], frozenset[str], bool]  # (the guard's function, its parameter names, wanted)
Rule = tuple[str, tuple[Guard, ...]]  # (the target state's value, the guards that must all hold)

_CALLBACK_PREFIXES = ("on_", "before_", "after_")


class TransitionNotAllowed(LookupError):
    """The event has no transition from the model's state (the library raises its own error alike)."""


class Transitions:
    def __init__(self, machine: type[StateMachine]) -> None:
        callbacks = [name for name in vars(machine) if name.startswith(_CALLBACK_PREFIXES)]
        if callbacks:
            raise TypeError(f"{machine.__name__} has callbacks a table cannot run: {', '.join(callbacks)}")
        self.name = machine.__name__
        self.initial: str = machine.initial_state.value
        self._rules: dict[tuple[str, str], tuple[Rule, ...]] = {}
        for state in machine.states:
            for transition in state.transitions:
                for event in transition.events:
                    key = (state.value, str(event))
                    rule = (transition.target.value, _guards(machine, transition))
                    self._rules[key] = (*self._rules.get(key, ()), rule)

    def send(self, model: Any, event: str, **arguments: Any) -> str:
        """Move ``model.state`` by ``event`` (the guards see ``model`` as the machine's model, and get the
        ``arguments`` they name); the new state's value."""
        rules = self._rules.get((model.state, event))
        if rules is None:
            raise TransitionNotAllowed(f"{self.name}: no {event!r} from state {model.state!r}")
        judge = _Judge(model)
        for target, guards in rules:
            if all(
                bool(guard(judge, **{k: v for k, v in arguments.items() if k in names})) is wanted
                for guard, names, wanted in guards
            ):
                model.state = target
                return target
        raise TransitionNotAllowed(f"{self.name}: no {event!r} from state {model.state!r} whose guards hold")


class _Judge:
    """What a guard method gets as ``self``: the model, as a machine's guards see it."""

    __slots__ = ("model",)

    def __init__(self, model: Any) -> None:
        self.model = model


def _guards(machine: type[StateMachine], transition: Any) -> tuple[Guard, ...]:
    guards = []
    for spec in transition.cond:
        name = spec.func
        function = getattr(machine, name, None) if isinstance(name, str) else None
        if not inspect.isfunction(function) or not name.isidentifier():
            raise TypeError(f"{machine.__name__}: guard {name!r} is not a method name a table can call")
        names = frozenset(list(inspect.signature(function).parameters)[1:])
        guards.append((function, names, bool(spec.expected_value)))
    return tuple(guards)
