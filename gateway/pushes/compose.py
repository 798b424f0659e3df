"""The recheck at send time: is the reminder still true, and what does it say now?

For a batch of due reminders the facts are read in a few queries inside the sender's transaction, so a
payment committed a moment ago is seen: a low-balance reminder for a subscriber who has paid since it
was raised is dropped, not sent (seed 002). Figures in the text are the ones of the moment it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.credit.control import standings
from gateway.db import choices
from gateway.db import pushes as pushes_repo
from gateway.db.unit import Tx
from gateway.format import cycle_cn, data, day_cn, yuan
from gateway.ledger.bills import recent_bills
from gateway.ledger.calendar import cycle_of
from gateway.ledger.data import prorated
from gateway.model.ledger import Account, Subscriber
from gateway.model.pushes import Due
from gateway.pushes.policy import PushSetup
from gateway.templates import Templates


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    text: str | None  # None: dropped
    reason: str = ""  # why it was dropped


@dataclass(frozen=True, slots=True, kw_only=True)
class _Facts:
    subscriber: Subscriber
    account: Account
    state: str
    since: float | None
    reason: str
    restore_until: float | None
    opted_out: bool


def _drop(reason: str) -> Decision:
    return Decision(text=None, reason=reason)


class Composer:
    def __init__(self, *, templates: Templates, setup: PushSetup) -> None:
        self.templates = templates
        self.products = setup.products
        self.calendar = setup.calendar
        self.policy = setup.policy
        self.pushes = setup.pushes
        self.credit = setup.credit

    async def decide(self, tx: Tx, due: Sequence[Due], *, now: float) -> dict[int, Decision]:
        msisdns = sorted({d.msisdn for d in due})
        facts = await self._facts(tx, msisdns)
        decisions = {}
        for d in due:
            f = facts.get(d.msisdn)
            if f is None:
                decisions[d.id] = _drop("not_a_subscriber")
            elif f.state == "terminated" and d.kind != "termination":
                decisions[d.id] = _drop("terminated")
            elif f.opted_out and d.kind not in self.policy.essential:
                decisions[d.id] = _drop("opted_out")
            else:
                decisions[d.id] = await self._decide(tx, d, f, now)
        return decisions

    async def _facts(self, tx: Tx, msisdns: list[str]) -> dict[str, _Facts]:
        out = await pushes_repo.opted_out(tx, msisdns)
        found = {}
        for msisdn, standing in (await standings(tx, msisdns)).items():
            c = standing.credit
            found[msisdn] = _Facts(
                subscriber=standing.subscriber,
                account=standing.account,
                state=standing.state,
                since=c.since if c else None,
                reason=c.reason if c else "",
                restore_until=c.restore_until if c else None,
                opted_out=msisdn in out,
            )
        return found

    def _render(self, kind: str, **values: object) -> Decision:
        return Decision(text=self.templates.render(f"push_{kind}", **values))

    async def _decide(self, tx: Tx, d: Due, f: _Facts, now: float) -> Decision:
        today = self.calendar.today(now)
        available = f.account.available_on(today)
        kind = d.kind
        if kind == "low_balance":
            if f.state != "active" or available >= self.pushes.low_balance_fen:
                return _drop("condition_gone")
            return self._render(kind, available=yuan(available), threshold=yuan(self.pushes.low_balance_fen))
        if kind == "suspension":
            if f.state != "suspended":
                return _drop("condition_gone")
            reason = await self._change_reason(tx, d.trigger)
            if f"push_suspension_reason_{reason}" not in self.templates.texts:
                reason = "arrears"
            return self._render(
                kind, reason=self.templates.render(f"push_suspension_reason_{reason}"), available=yuan(available)
            )
        if kind == "restore":
            if f.state not in ("active",):
                return _drop("condition_gone")
            return self._render(kind, available=yuan(available))
        if kind == "protective_restore":
            if f.state != "protected" or f.restore_until is None:
                return _drop("condition_gone")
            vip = f.subscriber.vip in self.credit.protect_vip_levels
            amount = self.credit.protect_vip_fen if vip else self.credit.protect_fen
            return self._render(kind, amount=yuan(amount), until=self._moment(f.restore_until))
        if kind == "termination_warning":
            if f.state != "suspended" or f.reason == "operator" or f.since is None:
                return _drop("condition_gone")
            if d.trigger != f"since:{int(f.since)}":
                return _drop("condition_gone")
            since_day = self.calendar.today(f.since)
            ends = since_day + timedelta(days=self.credit.terminate_after_days)
            return self._render(kind, days=(today - since_day).days, day=day_cn(ends))
        if kind == "termination":
            if await self._change_reason(tx, d.trigger) == "operator":
                return self._render("termination_by_operator", day=day_cn(today))
            return self._render(kind, days=self.credit.terminate_after_days, day=day_cn(today))
        if kind in ("data_low", "data_used_up", "data_periodic"):
            return await self._data(tx, d, f, now)
        if kind == "abnormal_charges":
            return await self._abnormal(tx, d)
        if kind == "bill_ready":
            total = await pushes_repo.bill_total(tx, d.msisdn, d.trigger)
            if total is None:
                return _drop("condition_gone")
            by_sms, ebill = await choices.bill_choice(tx, d.msisdn)
            if not by_sms:  # 381: the subscriber stopped the bill by SMS since it was raised
                return _drop("bill_by_sms_off")
            ebill_note = self.templates.render("push_bill_ready_ebill") if ebill else ""
            return self._render(kind, cycle=cycle_cn(d.trigger), total=yuan(total), ebill=ebill_note)
        if kind == "package_lapsed":
            return await self._lapsed(tx, d, now)
        return _drop("unknown_kind")

    def _moment(self, instant: float) -> str:
        local = self.calendar.local(instant)
        return self.templates.render("moment", month=local.month, day=local.day, hour=local.hour, minute=local.minute)

    def _as_of(self, now: float) -> str:
        local = self.calendar.local(now)
        return self.templates.render("as_of", month=local.month, day=local.day, hour=local.hour)

    async def _change_reason(self, tx: Tx, trigger: str) -> str:
        _, _, change = trigger.partition(":")
        found = await pushes_repo.change_reason(tx, int(change) if change.isdigit() else 0)
        reason = found if found is not None else "arrears"
        return reason if f"push_suspension_reason_{reason}" in self.templates.texts else "arrears"

    async def _data(self, tx: Tx, d: Due, f: _Facts, now: float) -> Decision:
        cycle = self.calendar.cycle(now)
        start, end = self.calendar.cycle_start(cycle), self.calendar.cycle_end(cycle)
        quota = 0
        holds = False
        for product, started_at in await pushes_repo.subscriptions_between(tx, d.msisdn, start=start, end=end):
            package = self.products.packages.get(product)
            if package is not None and package.kind == "data":
                holds = True
                quota += prorated(package.quota_kb, started_at, cycle, self.calendar)
        if not holds:
            return _drop("condition_gone")
        used = await pushes_repo.data_used(tx, d.msisdn, cycle)
        left = max(0, quota - used)
        plan = self.products.plans.get(f.subscriber.plan)
        low = self.pushes.data_low_kb_data_only if plan and plan.data_only else self.pushes.data_low_kb
        if d.kind == "data_low" and not 0 < left <= low:
            return _drop("condition_gone")
        if d.kind == "data_used_up" and left > 0:
            return _drop("condition_gone")
        return self._render(d.kind, as_of=self._as_of(now), used=data(used), left=data(left))

    async def _lapsed(self, tx: Tx, d: Due, now: float) -> Decision:
        """A package not renewed on the 1st (trigger ``cycle:code``, or ``cycle:code:suspended`` for a suspended
        number): told unless ordered again since."""
        cycle, _, rest = d.trigger.partition(":")
        code, _, reason = rest.partition(":")
        package = self.products.packages.get(code)
        if package is None:
            return _drop("condition_gone")
        held = await pushes_repo.subscriptions_between(tx, d.msisdn, start=now, end=now + 1)
        if any(product == code for product, _ in held):
            return _drop("condition_gone")
        how = self.templates.render("push_package_order_again", code=package.order[0]) if package.order else ""
        kind = "package_lapsed_suspended" if reason == "suspended" else d.kind
        return self._render(
            kind, name=package.name, month=int(cycle[5:]), fee=yuan(package.monthly_fee_fen), order_again=how
        )

    async def _abnormal(self, tx: Tx, d: Due) -> Decision:
        day = date.fromisoformat(d.trigger)
        amount = await pushes_repo.day_charge(tx, d.msisdn, d.trigger)
        total, days = await recent_bills(tx, d.msisdn, cycle_of(day))
        if not total:
            return _drop("condition_gone")
        return self._render(
            d.kind,
            day=day_cn(day),
            amount=yuan(amount),
            average=yuan(total // days),
            factor=self.pushes.abnormal_factor,
        )
