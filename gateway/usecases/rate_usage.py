"""Rating a batch of usage records inside the store's transactions, with what follows from it.

A batch is rated in chunks, each one transaction: records already rated (by id) are reported as
duplicates and not charged again; a record longer than 3 days, or overlapping a rated record of the same
number and category, goes to the error list (``usage_reject``) with its reason; the rest are rated
(:mod:`gateway.ledger.usage_batch`), their charges drawn from the books and added to the cycle's usage. In
the same transaction credit control looks at every subscriber charged, and the reminders the new usage
calls for are raised: low balance, data left low or used up, abnormal charges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.config import Config
from gateway.credit.control import CreditControl
from gateway.credit.machine import effective_floor
from gateway.db import accounts, ledger, usage
from gateway.db import credit as credit_repo
from gateway.db.unit import Tx, Writer
from gateway.ledger.bills import recent_bills
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.rating import Books, Rater
from gateway.ledger.usage_batch import MAX_DURATION, BatchFacts, CycleUse, cycle_use, rate_batch
from gateway.ledger.usage_records import BatchRating
from gateway.model.usage import Rated, Rejected, UsageRecord
from gateway.pushes.notices import StateNotices
from gateway.pushes.policy import PushSetup
from gateway.pushes.queue import raise_pushes

__all__ = ["MAX_DURATION", "BatchResult", "Rated", "Rejected", "UsageRating", "UsageRecord"]

CHUNK = 250  # records per transaction: a chunk holds the writer's batch while it runs


@dataclass(slots=True)
class BatchResult:
    rated: list[Rated] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)

    def extend(self, other: BatchResult) -> None:
        self.rated += other.rated
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.suspended += other.suspended


class UsageRating:
    def __init__(self, *, setup: PushSetup, credit: CreditControl) -> None:
        self.setup = setup
        self.products = setup.products
        self.calendar = setup.calendar
        self.policy = setup.policy
        self.pushes = setup.pushes
        self.credit = credit
        self.rater = Rater(setup.products.tariffs, setup.products.data_caps)

    @classmethod
    def of(cls, config: Config, products: Products, calendar: Calendar) -> UsageRating:
        """Rating with the credit control and the reminder policy ``config`` describes."""
        setup = PushSetup.of(config, products, calendar)
        credit = CreditControl(
            config=config.credit, products=products, calendar=calendar, notices=StateNotices(setup.policy)
        )
        return cls(setup=setup, credit=credit)

    async def rate(self, store: Writer, records: Sequence[UsageRecord], *, now: float) -> BatchResult:
        """Rate ``records`` in order, a chunk per transaction."""
        result = BatchResult()
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]

            async def work(tx: Tx, chunk: Sequence[UsageRecord] = chunk) -> BatchResult:
                return await self.rate_in(tx, chunk, now=now)

            result.extend(await store.transact(work))
        return result

    async def rate_in(self, tx: Tx, records: Sequence[UsageRecord], *, now: float) -> BatchResult:
        """Rate one chunk in the transaction ``tx``: load, rate, write, credit control, reminders."""
        facts, plans = await self._load(tx, records, now)
        rating = rate_batch(records, facts, rater=self.rater, calendar=self.calendar)
        await _write(tx, rating, now)
        moved = await self.credit.check(tx, rating.charged, now=now)
        await self._reminders(tx, rating, plans, now)
        return BatchResult(
            rated=list(rating.rated),
            duplicates=list(rating.duplicates),
            rejected=list(rating.rejected),
            suspended=[t.msisdn for t in moved if t.target == "suspended"],
        )

    async def _load(
        self, tx: Tx, records: Sequence[UsageRecord], now: float
    ) -> tuple[BatchFacts, dict[str, tuple[str, str]]]:
        """What rating the records needs, and each subscriber's (plan, credit state)."""
        seen = await usage.rated_ids(tx, [r.id for r in records])
        books, plans, since = await self._books(tx, sorted({r.msisdn for r in records}), now)
        first: dict[str, UsageRecord] = {}
        for record in records:
            first.setdefault(record.id, record)
        fresh = [r for r in first.values() if r.id not in seen and r.msisdn in books]  # those that may be rated
        overlaps = {}
        for record in fresh:
            other = await usage.overlapped(
                tx,
                msisdn=record.msisdn,
                category=record.category,
                start=record.start,
                end=record.end,
                longest=MAX_DURATION,
            )
            if other is not None:
                overlaps[record.id] = other
        cycles: dict[tuple[str, str], CycleUse] = {}
        for key in dict.fromkeys((r.msisdn, self.calendar.cycle(r.start)) for r in fresh):
            cycles[key] = await self._cycle(tx, *key)
        states = {m: state for m, (_, state) in plans.items()}
        facts = BatchFacts(
            seen=frozenset(seen),
            books=books,
            states=states,
            overlaps=overlaps,
            cycles=cycles,
            suspended_since=since,
        )
        return facts, plans

    async def _books(
        self, tx: Tx, msisdns: list[str], now: float
    ) -> tuple[dict[str, Books], dict[str, tuple[str, str]], dict[str, float]]:
        """Each known subscriber's books, their (plan, credit state), and since when each suspended one is (one
        suspended before credit control knew it is not here: suspended from the start)."""
        today = self.calendar.today(now)
        books, plans, since = {}, {}, {}
        for msisdn, standing in (await credit_repo.standings(tx, msisdns)).items():
            subscriber, account, c = standing.subscriber, standing.account, standing.credit
            plan = self.products.plans.get(subscriber.plan)
            books[msisdn] = Books(
                prepaid=plan is None or plan.payment == "prepaid",
                cash=account.cash,
                gift=account.gift_on(today),
                credit_limit=account.credit_limit,
                floor=effective_floor(standing.state, c.floor, c.guard_until, now) if c else 0,
            )
            plans[msisdn] = (subscriber.plan, standing.state)
            if standing.state == "suspended" and c is not None:
                since[msisdn] = c.since
        return books, plans, since

    async def _cycle(self, tx: Tx, msisdn: str, cycle: str) -> CycleUse:
        start, end = self.calendar.cycle_start(cycle), self.calendar.cycle_end(cycle)
        used = await ledger.usage(tx, msisdn, cycle)
        held = await ledger.subscriptions(tx, msisdn, start, end)
        return cycle_use(used.values(), held, cycle, self.products, self.calendar)

    async def _reminders(self, tx: Tx, rating: BatchRating, plans: dict[str, tuple[str, str]], now: float) -> None:
        cycle = self.calendar.cycle(now)
        today = self.calendar.today(now).isoformat()
        charged = rating.charged
        wanted: list[tuple[str, str, str]] = []
        states = await credit_repo.states(tx, charged)
        for msisdn in charged:
            position = rating.positions.get((msisdn, cycle))
            if states.get(msisdn) == "active" and rating.books[msisdn].available < self.pushes.low_balance_fen:
                wanted.append((msisdn, "low_balance", cycle))
            if position is not None and position.has_data_package and "data" in position.used:
                left = position.data_quota_kb - position.used["data"]
                plan = self.products.plans.get(plans[msisdn][0])
                low = self.pushes.data_low_kb_data_only if plan and plan.data_only else self.pushes.data_low_kb
                if left <= 0:
                    wanted.append((msisdn, "data_used_up", cycle))
                elif left <= low:
                    wanted.append((msisdn, "data_low", cycle))
        wanted += [(m, "abnormal_charges", today) for m in await self._abnormal(tx, charged, now)]
        await raise_pushes(tx, self.policy, wanted, now=now)

    async def _abnormal(self, tx: Tx, msisdns: list[str], now: float) -> list[str]:
        """Those whose usage charges today pass ``abnormal_factor`` × their daily average of the last 3 bills."""
        if not msisdns:
            return []
        cycle = self.calendar.cycle(now)
        found = []
        for msisdn, amount in (await usage.day_charges(tx, self.calendar.today(now).isoformat(), msisdns)).items():
            total, days = await recent_bills(tx, msisdn, cycle)
            if total > 0 and amount * days > self.pushes.abnormal_factor * total:
                found.append(msisdn)
        return found


async def _write(tx: Tx, rating: BatchRating, now: float) -> None:
    """The batch's rows: rated records, the error list, the cycles' usage, the days' charges, the books."""
    await usage.add_records(tx, rating.records, now=now)
    await usage.add_refusals(tx, rating.refusals, now=now)
    await usage.add_to_cycles(tx, rating.usage)
    await usage.add_day_charges(tx, rating.daily)
    await accounts.draw(tx, rating.drawn)
