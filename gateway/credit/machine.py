"""The credit-control machine (seed 001 信控停复机, seed 000 保护性开机), sans-IO.

States: ``active``; ``protected`` (a protective restore, 紧急开机: usage allowed down to a floor for a
while); ``suspended`` (信控停机); ``terminated`` (拆机, final). The model is :class:`CreditFacts`, the
facts the caller gathered; the transition's ``on`` action names the reason, which the caller records.

- active → suspended: the prepaid validity date has passed, or the balance rule: a prepaid account that
  cannot pay for the smallest unit of usage, a postpaid one below zero. The floor of a protective restore
  still applies during its guard period (7 days): no automatic suspension unless that limit is passed.
- suspended → active: a payment brings the available balance above 0 (and the validity date is not past).
- suspended → protected (``protect``): on request, at most once per interval.
- protected → active when paid up; → suspended past the amount limit (the floor) or the time limit.
- suspended → terminated after the configured days (local days) without a payment.
- A suspension by the operator stays until the operator lifts it: no payment restores it, no count of
  days terminates it.
- The operator may suspend, restore or terminate from any state but terminated.
- The subscriber may suspend an active number of their own accord (报停, 321) and restore it: such a suspension,
  like the operator's, is neither lifted by a payment nor counted towards termination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from statemachine import State, StateMachine

DAY = 86400.0


@dataclass(slots=True, kw_only=True)
class CreditFacts:
    state: str
    since: float  # when it entered the state
    since_day: date  # the local day it entered the state
    prepaid: bool
    available: int  # fen: cash + valid gift + credit limit
    floor: int  # fen, ≤ 0: the protective restore's floor
    unit: int  # fen: the smallest unit of usage
    valid_until: date | None
    today: date
    now: float
    restore_until: float | None
    guard_until: float | None
    protected_at: float | None
    terminate_after_days: int
    protect_interval_days: int
    reason: str = ""  # why it is in its state (set anew by each transition)

    @property
    def floor_now(self) -> int:
        return effective_floor(self.state, self.floor, self.guard_until, self.now)

    # --- the machine's guards -----------------------------------------------------------------

    def validity_passed(self) -> bool:
        return self.prepaid and self.valid_until is not None and self.valid_until < self.today

    def in_arrears(self) -> bool:
        spendable = self.available - self.floor_now
        return spendable < self.unit if self.prepaid else spendable < 0

    def paid_up(self) -> bool:
        return self.available > 0 and not self.validity_passed() and not self.by_operator()

    def by_operator(self) -> bool:
        """The operator suspended them, or they asked (报停): credit rules neither lift that nor end it in
        termination."""
        return self.state == "suspended" and self.reason in ("operator", "voluntary")

    def voluntarily(self) -> bool:
        return self.state == "suspended" and self.reason == "voluntary"

    def time_up(self) -> bool:
        return self.restore_until is not None and self.now >= self.restore_until

    def suspended_too_long(self) -> bool:
        """Counted in local days: suspended on the 20th of November, terminated on the 18th of February."""
        return not self.by_operator() and (self.today - self.since_day).days >= self.terminate_after_days

    def may_protect(self) -> bool:
        recent = self.protected_at is not None and self.now - self.protected_at < self.protect_interval_days * DAY
        return not recent and not self.by_operator()

    def settled(self) -> bool:
        """Active, in credit and in date: ``check`` cannot move them (the common case after a usage batch,
        decided without building a machine)."""
        return self.state == "active" and not self.validity_passed() and not self.in_arrears()


def effective_floor(state: str, floor: int, guard_until: float | None, now: float) -> int:
    """How far below zero the available balance may go now: the floor while protected or guarded, else 0."""
    if state == "protected" or (guard_until is not None and now < guard_until):
        return min(floor, 0)
    return 0


class CreditMachine(StateMachine):
    allow_event_without_transition = True  # ``check`` with nothing to change is the usual case

    active = State(initial=True)
    protected = State()
    suspended = State()
    terminated = State(final=True)

    check = (
        active.to(suspended, cond="validity_passed", on="because_validity")
        | active.to(suspended, cond="in_arrears", on="because_arrears")
        | protected.to(active, cond="paid_up", on="because_payment")
        | protected.to(suspended, cond="in_arrears", on="because_protect_amount")
        | protected.to(suspended, cond="time_up", on="because_protect_time")
        | suspended.to(active, cond="paid_up", on="because_payment")
        | suspended.to(terminated, cond="suspended_too_long", on="because_unpaid")
    )
    protect = suspended.to(protected, cond="may_protect", on="because_requested")
    operator_suspend = active.to(suspended, on="because_operator") | protected.to(suspended, on="because_operator")
    operator_restore = suspended.to(active, on="because_operator") | protected.to(active, on="because_operator")
    voluntary_suspend = active.to(suspended, on="because_voluntary")
    voluntary_restore = suspended.to(active, cond="voluntarily", on="because_voluntary")
    operator_terminate = (
        active.to(terminated, on="because_operator")
        | protected.to(terminated, on="because_operator")
        | suspended.to(terminated, on="because_operator")
    )

    @property
    def facts(self) -> CreditFacts:
        model: CreditFacts = self.model
        return model

    # The guards are the model's (CreditFacts) methods: python-statemachine finds them there by name.

    # --- reasons ------------------------------------------------------------------------------

    def _because(self, reason: str) -> None:
        self.facts.reason = reason

    def because_validity(self) -> None:
        self._because("validity_passed")

    def because_arrears(self) -> None:
        self._because("arrears")

    def because_payment(self) -> None:
        self._because("payment")

    def because_protect_amount(self) -> None:
        self._because("protective_amount_limit")

    def because_protect_time(self) -> None:
        self._because("protective_time_limit")

    def because_unpaid(self) -> None:
        self._because("suspended_unpaid")

    def because_requested(self) -> None:
        self._because("protective_restore")

    def because_operator(self) -> None:
        self._because("operator")

    def because_voluntary(self) -> None:
        self._because("voluntary")
