"""Credit control inside a transaction: gather the facts, run the machine, record what it decided.

Every transition updates ``credit`` (the machine's state and the protective restore's facts) and
``subscriber.status`` (``protected`` reads as ``active`` there: the subscriber may use and query), adds a
``status_change`` row with its reason, and hands the transition to the :class:`Notices` it was given,
which raise the subscriber's notice in the same transaction (credit control itself knows nothing of
reminders: :mod:`gateway.pushes.notices` is the one the gateway wires in).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from gateway.config import CreditConfig
from gateway.credit.machine import DAY, CreditFacts, CreditMachine
from gateway.db import accounts
from gateway.db.credit import record_transition, standings
from gateway.db.unit import Tx
from gateway.errors import ProtectRefused, UnknownSubscriber
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.model.credit import CreditRow

__all__ = ["CreditControl", "Notices", "Transition", "standings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    msisdn: str
    source: str
    target: str
    reason: str
    change_id: int
    restore_until: float | None = None
    floor: int = 0
    allowance: int = 0  # a protective restore: how much more usage it allows, in fen


class Notices(Protocol):
    """Where a transition's notice to the subscriber goes, inside the transaction that made it."""

    async def transition(self, tx: Tx, transition: Transition, *, now: float) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    facts: CreditFacts
    vip: str


class CreditControl:
    def __init__(self, *, config: CreditConfig, products: Products, calendar: Calendar, notices: Notices) -> None:
        self.config = config
        self.products = products
        self.calendar = calendar
        self.notices = notices

    async def check(self, tx: Tx, msisdns: Iterable[str], *, now: float) -> list[Transition]:
        """Apply what balance and time say now to each subscriber (after a payment, a rating, a tick)."""
        rows = await self._load(tx, sorted(set(msisdns)), now)
        moved = []
        for msisdn, row in rows.items():
            if row.facts.state == "terminated" or row.facts.settled():
                continue
            machine = CreditMachine(model=row.facts, state_field="state")
            before = row.facts.state
            machine.send("check")
            if row.facts.state != before:
                moved.append(await self._record(tx, msisdn, before, row, now))
        return moved

    async def protect(self, tx: Tx, msisdn: str, *, now: float, notify: bool = True) -> Transition:
        """A protective restore (紧急开机): usage down to a floor, for a while; ProtectRefused if not allowed."""
        row = (await self._load(tx, [msisdn], now)).get(msisdn)
        if row is None:
            raise UnknownSubscriber(msisdn)
        state = row.facts.state
        if state == "terminated":
            raise ProtectRefused(msisdn, "terminated")
        if state == "protected":
            raise ProtectRefused(msisdn, "already_protected", until=row.facts.restore_until)
        if state != "suspended":
            raise ProtectRefused(msisdn, "not_suspended")
        if row.facts.reason == "operator":
            raise ProtectRefused(msisdn, "by_operator")
        if row.facts.reason == "voluntary":
            raise ProtectRefused(msisdn, "voluntary")
        machine = CreditMachine(model=row.facts, state_field="state")
        machine.send("protect")
        if row.facts.state != "protected":
            raise ProtectRefused(msisdn, "too_soon")
        vip = row.vip in self.config.protect_vip_levels
        hours = self.config.protect_vip_hours if vip else self.config.protect_hours
        amount = self.config.protect_vip_fen if vip else self.config.protect_fen
        f = row.facts
        f.floor = min(f.available, 0) - amount
        f.restore_until = now + hours * 3600
        f.guard_until = now + self.config.guard_days * DAY
        f.protected_at = now
        moved = await self._record(tx, msisdn, state, row, now, notify=notify)
        return replace(moved, allowance=amount)

    async def operator(self, tx: Tx, msisdn: str, status: str, *, now: float) -> Transition | None:
        """The operator sets ``status`` (active | suspended | terminated); None if it already is."""
        row = (await self._load(tx, [msisdn], now)).get(msisdn)
        if row is None:
            raise UnknownSubscriber(msisdn)
        before = row.facts.state
        if before == status or (before == "protected" and status == "active"):
            return None
        event = {"active": "operator_restore", "suspended": "operator_suspend", "terminated": "operator_terminate"}
        CreditMachine(model=row.facts, state_field="state").send(event[status])
        if row.facts.state == before:
            return None
        return await self._record(tx, msisdn, before, row, now)

    async def voluntary(self, tx: Tx, msisdn: str, *, suspend: bool, now: float) -> list[Transition]:
        """报停 (``suspend``) or its restore, at the subscriber's request; the changes made (none: the state did
        not allow it). After a restore the balance rule applies at once. The SMS answer is the notice."""
        row = (await self._load(tx, [msisdn], now)).get(msisdn)
        if row is None:
            raise UnknownSubscriber(msisdn)
        before = row.facts.state
        CreditMachine(model=row.facts, state_field="state").send(
            "voluntary_suspend" if suspend else "voluntary_restore"
        )
        if row.facts.state == before:
            return []
        moved = [await self._record(tx, msisdn, before, row, now, notify=False)]
        return moved + (await self.check(tx, [msisdn], now=now) if not suspend else [])

    async def payment_made(self, tx: Tx, msisdn: str, *, now: float) -> list[Transition]:
        """After a payment: a prepaid validity date moves out (if set), then the balance rule may restore."""
        days = self.config.validity_days_per_payment
        least = self.calendar.today(now) + timedelta(days=days)
        found = await accounts.plan_and_validity(tx, msisdn)
        if found is not None:
            plan_code, valid_until = found
            plan = self.products.plans.get(plan_code)
            prepaid = plan is None or plan.payment == "prepaid"
            if days and prepaid and valid_until and valid_until < least:
                await accounts.set_valid_until(tx, msisdn, least)
        return await self.check(tx, [msisdn], now=now)

    async def _load(self, tx: Tx, msisdns: list[str], now: float) -> dict[str, _Row]:
        today = self.calendar.today(now)
        unit = self.products.tariffs.smallest_unit_fen
        found: dict[str, _Row] = {}
        for msisdn, standing in (await standings(tx, msisdns)).items():
            subscriber, account, c = standing.subscriber, standing.account, standing.credit
            plan = self.products.plans.get(subscriber.plan)
            since = c.since if c else now
            facts = CreditFacts(
                state=standing.state,
                since=since,
                since_day=self.calendar.today(since),
                reason=c.reason if c else "",
                prepaid=plan is None or plan.payment == "prepaid",
                available=account.available_on(today),
                floor=c.floor if c else 0,
                unit=unit,
                valid_until=account.valid_until,
                today=today,
                now=now,
                restore_until=c.restore_until if c else None,
                guard_until=c.guard_until if c else None,
                protected_at=c.protected_at if c else None,
                terminate_after_days=self.config.terminate_after_days,
                protect_interval_days=self.config.protect_interval_days,
            )
            found[msisdn] = _Row(facts=facts, vip=subscriber.vip)
        return found

    async def _record(
        self, tx: Tx, msisdn: str, before: str, row: _Row, now: float, *, notify: bool = True
    ) -> Transition:
        f = row.facts
        if f.state != "protected":
            f.restore_until = None
        if f.state == "suspended":  # a limit passed (or another reason): the 7-day guard is over too
            f.guard_until = None
        saved = CreditRow(
            state=f.state,
            since=now,
            floor=f.floor,
            restore_until=f.restore_until,
            guard_until=f.guard_until,
            protected_at=f.protected_at,
            reason=f.reason,
        )
        status = "active" if f.state == "protected" else f.state  # protected: the subscriber may use and query
        change_id = await record_transition(tx, msisdn, source=before, row=saved, status=status)
        transition = Transition(
            msisdn=msisdn,
            source=before,
            target=f.state,
            reason=f.reason,
            change_id=change_id,
            restore_until=f.restore_until,
            floor=f.floor,
        )
        if notify:  # the notice of this change (JJKJ's own answer is its notice)
            await self.notices.transition(tx, transition, now=now)
        return transition
