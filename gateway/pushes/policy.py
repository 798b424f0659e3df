"""When a reminder may go: the kinds, which are urgent (quiet hours do not hold them) and which are
essential (an opt-out does not stop them), and the quiet hours. Sans-IO: times come in as epoch seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from gateway.config import Config, CreditConfig, PushConfig
from gateway.errors import ConfigError
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products

KINDS = (
    "low_balance",
    "suspension",
    "restore",
    "protective_restore",
    "termination_warning",
    "termination",
    "data_low",
    "data_used_up",
    "data_periodic",
    "abnormal_charges",
    "bill_ready",
    "package_lapsed",
)
"""Every reminder kind; each has a template ``push_<kind>`` and a recheck in :mod:`gateway.pushes.compose`."""

NOTICE_OF_STATE = {
    "suspended": "suspension",
    "active": "restore",
    "protected": "protective_restore",
    "terminated": "termination",
}
"""The notice a credit-control transition into a state sends."""


def _time(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


@dataclass(frozen=True, slots=True)
class PushPolicy:
    calendar: Calendar
    quiet_start: time
    quiet_end: time
    urgent: frozenset[str]
    essential: frozenset[str]

    @classmethod
    def of(
        cls, calendar: Calendar, *, quiet_start: str, quiet_end: str, urgent: list[str], essential: list[str]
    ) -> PushPolicy:
        for name, kinds in (("pushes.urgent", urgent), ("pushes.essential", essential)):
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise ConfigError(f"{name}: unknown reminder kind {unknown[0]!r} (known: {', '.join(KINDS)})")
        return cls(calendar, _time(quiet_start), _time(quiet_end), frozenset(urgent), frozenset(essential))

    def quiet(self, now: float) -> bool:
        t = self.calendar.local(now).time()
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        return start <= t or t < end if start > end else start <= t < end

    def due_at(self, kind: str, now: float) -> float:
        """When a reminder of ``kind`` raised ``now`` may go: at once, or at the end of the quiet hours."""
        if kind in self.urgent or not self.quiet(now):
            return now
        local = self.calendar.local(now)
        morning = datetime.combine(local.date(), self.quiet_end, tzinfo=local.tzinfo)
        if morning <= local:
            morning += timedelta(days=1)
        return morning.timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class PushSetup:
    """What raising, selecting and composing reminders needs to know: the catalog, the calendar, the policy
    and the ``[pushes]`` and ``[credit]`` settings."""

    products: Products
    calendar: Calendar
    policy: PushPolicy
    pushes: PushConfig
    credit: CreditConfig

    @classmethod
    def of(cls, config: Config, products: Products, calendar: Calendar) -> PushSetup:
        p = config.pushes
        policy = PushPolicy.of(
            calendar, quiet_start=p.quiet_start, quiet_end=p.quiet_end, urgent=p.urgent, essential=p.essential
        )
        return cls(products=products, calendar=calendar, policy=policy, pushes=p, credit=config.credit)
