"""Rating a batch of usage records, sans-IO: which are duplicates, which are refused and why, what the rest
cost, and the rows that record it.

The caller (:mod:`gateway.usecases.rate_usage`) loads the :class:`BatchFacts` first; :func:`rate_batch`
rates on copies of their books, records in order (:class:`~gateway.ledger.rating.Rater`), and returns a
:class:`BatchRating` to write. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gateway.ledger.calendar import Calendar
from gateway.ledger.data import prorated
from gateway.ledger.products import Products
from gateway.ledger.rating import Books, Position, Rater
from gateway.ledger.usage_records import BatchRating
from gateway.model.ledger import Subscription, Usage
from gateway.model.usage import CycleCharge, DayCharge, Drawn, Rated, RatedRecord, Refusal, Rejected, UsageRecord

MAX_DURATION = 3 * 86400  # a record longer than this is refused (seed 002/004)


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleUse:
    """One subscriber's cycle so far: usage and its charges by category, and what the packages allow."""

    used: Mapping[str, int]
    charged: Mapping[str, int]
    data_quota_kb: int = 0  # prorated, all data packages together
    has_data_package: bool = False
    sms_quota: int = 0
    mms_quota: int = 0
    voice_quota_s: int = 0  # the voice packs' minutes, as seconds

    def position(self, books: Books) -> Position:
        """A position to rate in, drawing from ``books``."""
        return Position(
            books=books,
            used=dict(self.used),
            charged=dict(self.charged),
            data_quota_kb=self.data_quota_kb,
            has_data_package=self.has_data_package,
            sms_quota=self.sms_quota,
            mms_quota=self.mms_quota,
            voice_quota_s=self.voice_quota_s,
        )


def cycle_use(
    usage: Iterable[Usage], subscriptions: Iterable[Subscription], cycle: str, products: Products, calendar: Calendar
) -> CycleUse:
    """The cycle's use from its usage rows and the subscriptions that run in it (unknown products count for nothing)."""
    rows = list(usage)
    quota_kb, sms, mms, minutes, has_data = 0, 0, 0, 0, False
    for subscription in subscriptions:
        package = products.packages.get(subscription.product)
        if package is None:
            continue
        if package.kind == "data":
            has_data = True
            quota_kb += prorated(package.quota_kb, subscription.started_at, cycle, calendar)
        elif package.kind == "sms":
            sms += prorated(package.quota_sms, subscription.started_at, cycle, calendar)
        elif package.kind == "mms":
            mms += prorated(package.quota_mms, subscription.started_at, cycle, calendar)
        elif package.kind == "voice":
            minutes += prorated(package.quota_minutes, subscription.started_at, cycle, calendar)
    return CycleUse(
        used={u.category: u.quantity for u in rows},
        charged={u.category: u.charged for u in rows},
        data_quota_kb=quota_kb,
        has_data_package=has_data,
        sms_quota=sms,
        mms_quota=mms,
        voice_quota_s=minutes * 60,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchFacts:
    """What rating a batch needs of the ledger, loaded before it."""

    seen: frozenset[str]  # ids of the records rated before
    books: Mapping[str, Books]  # each subscriber's books, by number (numbers not here are not subscribers)
    states: Mapping[str, str]  # each subscriber's credit state, by number
    overlaps: Mapping[str, str]  # record id → a rated record of the same number and category it overlaps
    cycles: Mapping[tuple[str, str], CycleUse]  # (number, cycle) → that cycle so far, for each record to rate
    suspended_since: Mapping[str, float] = field(default_factory=dict)  # suspended numbers: since when


def rate_batch(records: Sequence[UsageRecord], facts: BatchFacts, *, rater: Rater, calendar: Calendar) -> BatchRating:
    """Rate ``records`` in order: duplicates (by id) skipped, problems refused whole, the rest charged."""
    batch = _Batch(facts, rater, calendar)
    for record in records:
        batch.take(record)
    return batch.result()


@dataclass(slots=True)
class _Batch:
    facts: BatchFacts
    rater: Rater
    calendar: Calendar
    books: dict[str, Books] = field(init=False)
    seen: set[str] = field(init=False)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    spans: defaultdict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    rated: list[Rated] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    records: list[RatedRecord] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    usage: defaultdict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    daily: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        self.books = {m: replace(b) for m, b in self.facts.books.items()}
        self.seen = set(self.facts.seen)

    def take(self, record: UsageRecord) -> None:
        if record.id in self.seen:
            self.duplicates.append(record.id)
            return
        self.seen.add(record.id)
        problem = self._problem(record)
        if problem is not None:
            reason, detail = problem
            self.rejected.append(Rejected(id=record.id, msisdn=record.msisdn, reason=reason, detail=detail))
            self.refusals.append(Refusal(record=record, quantity=record.quantity, reason=reason, detail=detail))
            return
        self.spans[(record.msisdn, record.category)].append((record.start, record.end))
        self._charge(record)

    def _problem(self, record: UsageRecord) -> tuple[str, str] | None:
        books = self.books.get(record.msisdn)
        if books is None:
            return "unknown_subscriber", f"{record.msisdn} is not a subscriber"
        state = self.facts.states[record.msisdn]
        if state == "terminated":
            return "terminated", "the number is terminated"
        since = self.facts.suspended_since.get(record.msisdn, 0.0)
        if state == "suspended" and (books.prepaid or record.start >= since):
            # 暂停服务后不再计列收入 (seed 001): prepaid or postpaid, nothing used since the suspension is charged;
            # a postpaid number's usage from before it, reported late, still is
            return "suspended", "the number is suspended: no usage is granted"
        if record.duration > MAX_DURATION:
            return "too_long", f"lasts {record.duration} s, more than {MAX_DURATION} s (3 days)"
        for other_start, other_end in self.spans[(record.msisdn, record.category)]:
            if other_start < record.end and record.start < other_end:
                return "overlap", "overlaps another record of this batch"
        other = self.facts.overlaps.get(record.id)
        if other is not None:
            return "overlap", f"overlaps record {other}"
        return None

    def _charge(self, record: UsageRecord) -> None:
        cycle = self.calendar.cycle(record.start)
        key = (record.msisdn, cycle)
        if key not in self.positions:
            self.positions[key] = self.facts.cycles[key].position(self.books[record.msisdn])
        rating = self.rater.rate(record.category, record.quantity, self.positions[key])
        self.records.append(RatedRecord(record=record, cycle=cycle, granted=rating.granted, charged=rating.charge))
        totals = self.usage[(record.msisdn, cycle, record.category)]
        totals[0] += rating.granted
        totals[1] += rating.charge
        if rating.charge:
            self.daily[(record.msisdn, self.calendar.today(record.start).isoformat())] += rating.charge
        if rating.refused:
            detail = f"{rating.refused} of {record.quantity} not granted"
            self.refusals.append(Refusal(record=record, quantity=rating.refused, reason=rating.reason, detail=detail))
        self.rated.append(
            Rated(
                id=record.id,
                msisdn=record.msisdn,
                granted=rating.granted,
                charged=rating.charge,
                refused=rating.refused,
                reason=rating.reason,
            )
        )

    def result(self) -> BatchRating:
        opening = self.facts.books
        return BatchRating(
            rated=tuple(self.rated),
            duplicates=tuple(self.duplicates),
            rejected=tuple(self.rejected),
            records=tuple(self.records),
            refusals=tuple(self.refusals),
            usage=tuple(
                CycleCharge(msisdn=m, cycle=cycle, category=category, quantity=q, charged=c)
                for (m, cycle, category), (q, c) in self.usage.items()
            ),
            daily=tuple(DayCharge(msisdn=m, day=day, amount=amount) for (m, day), amount in self.daily.items()),
            drawn=tuple(
                Drawn(msisdn=m, cash=opening[m].cash - b.cash, gift=opening[m].gift - b.gift)
                for m, b in self.books.items()
                if (b.cash, b.gift) != (opening[m].cash, opening[m].gift)
            ),
            positions=dict(self.positions),
            books=dict(self.books),
        )
