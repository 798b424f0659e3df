"""Rating a batch of usage records inside the store's transactions, with what follows from it.

A batch is rated in chunks, each one transaction: records already rated (by id) are reported as
duplicates and not charged again; a record longer than 3 days, or overlapping a rated record of the same
number and category, goes to the error list (``usage_reject``) with its reason; the rest are rated
(:mod:`gateway.ledger.rating`), their charges drawn from the books and added to the cycle's usage. In the
same transaction credit control looks at every subscriber charged, and the reminders the new usage calls
for are raised: low balance, data left low or used up, abnormal charges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.config import Config
from gateway.credit.control import CreditControl, standings
from gateway.credit.machine import effective_floor
from gateway.db.store import Tx, Writer
from gateway.ledger.bills import recent_bills
from gateway.ledger.calendar import Calendar
from gateway.ledger.data import prorated
from gateway.ledger.products import Products
from gateway.ledger.rating import Books, Position, Rater
from gateway.pushes.notices import StateNotices
from gateway.pushes.policy import PushSetup
from gateway.pushes.queue import raise_pushes

MAX_DURATION = 3 * 86400  # a record longer than this is refused (seed 002/004)
CHUNK = 250  # records per transaction: a chunk holds the writer's batch while it runs


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    id: str
    msisdn: str
    category: str  # voice | sms | mms | data
    quantity: int  # seconds, messages or KB
    start: float  # epoch seconds
    duration: int  # seconds

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, slots=True, kw_only=True)
class Rated:
    id: str
    msisdn: str
    granted: int
    charged: int
    refused: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    id: str
    msisdn: str
    reason: str
    detail: str


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
        result = BatchResult()
        ids = [r.id for r in records]
        marks = ",".join("?" * len(ids))
        seen = {row[0] for row in await tx.fetch(f"SELECT id FROM usage_record WHERE id IN ({marks})", ids)}
        msisdns = sorted({r.msisdn for r in records})
        books, plans = await self._books(tx, msisdns, now)
        opening = {m: (b.cash, b.gift) for m, b in books.items()}
        positions: dict[tuple[str, str], Position] = {}
        spans: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        inserts: list[tuple[object, ...]] = []
        rejects: list[tuple[object, ...]] = []
        daily: dict[tuple[str, str], int] = defaultdict(int)
        usage: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        for record in records:
            if record.id in seen:
                result.duplicates.append(record.id)
                continue
            seen.add(record.id)
            problem = await self._problem(tx, record, books, plans, spans)
            if problem is not None:
                reason, detail = problem
                result.rejected.append(Rejected(id=record.id, msisdn=record.msisdn, reason=reason, detail=detail))
                rejects.append((record.id, record.msisdn, record.category, record.quantity, reason, detail, now))
                continue
            spans[(record.msisdn, record.category)].append((record.start, record.end))
            cycle = self.calendar.cycle(record.start)
            key = (record.msisdn, cycle)
            if key not in positions:
                positions[key] = await self._position(tx, record.msisdn, cycle, books[record.msisdn])
            rating = self.rater.rate(record.category, record.quantity, positions[key])
            inserts.append(
                (
                    record.id,
                    record.msisdn,
                    record.category,
                    cycle,
                    record.quantity,
                    rating.granted,
                    rating.charge,
                    record.start,
                    record.end,
                    now,
                )
            )
            totals = usage[(record.msisdn, cycle, record.category)]
            totals[0] += rating.granted
            totals[1] += rating.charge
            if rating.charge:
                daily[(record.msisdn, self.calendar.today(record.start).isoformat())] += rating.charge
            if rating.refused:
                detail = f"{rating.refused} of {record.quantity} not granted"
                rejects.append((record.id, record.msisdn, record.category, rating.refused, rating.reason, detail, now))
            result.rated.append(
                Rated(
                    id=record.id,
                    msisdn=record.msisdn,
                    granted=rating.granted,
                    charged=rating.charge,
                    refused=rating.refused,
                    reason=rating.reason,
                )
            )
        await self._write(tx, inserts, rejects, usage, daily)
        await tx.execute_many(
            "UPDATE account SET cash = cash - ?, gift = gift - ? WHERE msisdn = ?",
            [
                (opening[m][0] - b.cash, opening[m][1] - b.gift, m)
                for m, b in books.items()
                if (b.cash, b.gift) != opening[m]
            ],
        )
        charged = sorted({r.msisdn for r in result.rated})
        moved = await self.credit.check(tx, charged, now=now)
        result.suspended = [t.msisdn for t in moved if t.target == "suspended"]
        await self._reminders(tx, charged, positions, books, plans, now)
        return result

    async def _books(
        self, tx: Tx, msisdns: list[str], now: float
    ) -> tuple[dict[str, Books], dict[str, tuple[str, str]]]:
        """Each known subscriber's books, and their (plan, credit state)."""
        today = self.calendar.today(now)
        books, plans = {}, {}
        for msisdn, standing in (await standings(tx, msisdns)).items():
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
        return books, plans

    async def _problem(
        self,
        tx: Tx,
        record: UsageRecord,
        books: dict[str, Books],
        plans: dict[str, tuple[str, str]],
        spans: dict[tuple[str, str], list[tuple[float, float]]],
    ) -> tuple[str, str] | None:
        if record.msisdn not in books:
            return "unknown_subscriber", f"{record.msisdn} is not a subscriber"
        state = plans[record.msisdn][1]
        if state == "terminated":
            return "terminated", "the number is terminated"
        if state == "suspended" and books[record.msisdn].prepaid:
            return "suspended", "the number is suspended: no usage is granted"
        if record.duration > MAX_DURATION:
            return "too_long", f"lasts {record.duration} s, more than {MAX_DURATION} s (3 days)"
        start, end = record.start, record.end
        for other_start, other_end in spans[(record.msisdn, record.category)]:
            if other_start < end and start < other_end:
                return "overlap", "overlaps another record of this batch"
        rows = await tx.fetch(  # a rated record lasts at most MAX_DURATION: none that began earlier can overlap
            "SELECT id FROM usage_record WHERE msisdn = ? AND category = ? AND start_at >= ? AND start_at < ?"
            " AND end_at > ? LIMIT 1",
            (record.msisdn, record.category, start - MAX_DURATION, end, start),
        )
        if rows:
            return "overlap", f"overlaps record {rows[0][0]}"
        return None

    async def _position(self, tx: Tx, msisdn: str, cycle: str, books: Books) -> Position:
        position = Position(books=books)
        for category, quantity, charged in await tx.fetch(
            "SELECT category, quantity, charged FROM usage WHERE msisdn = ? AND cycle = ?", (msisdn, cycle)
        ):
            position.used[category] = quantity
            position.charged[category] = charged
        start, end = self.calendar.cycle_start(cycle), self.calendar.cycle_end(cycle)
        for product, started_at in await tx.fetch(
            "SELECT product, started_at FROM subscription"
            " WHERE msisdn = ? AND started_at < ? AND (ends_at IS NULL OR ends_at > ?)",
            (msisdn, end, start),
        ):
            package = self.products.packages.get(product)
            if package is None:
                continue
            if package.kind == "data":
                position.has_data_package = True
                position.data_quota_kb += prorated(package.quota_kb, started_at, cycle, self.calendar)
            elif package.kind == "sms":
                position.sms_quota += prorated(package.quota_sms, started_at, cycle, self.calendar)
        return position

    async def _write(
        self,
        tx: Tx,
        inserts: list[tuple[object, ...]],
        rejects: list[tuple[object, ...]],
        usage: dict[tuple[str, str, str], list[int]],
        daily: dict[tuple[str, str], int],
    ) -> None:
        await tx.execute_many("INSERT INTO usage_record VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
        await tx.execute_many(
            "INSERT INTO usage_reject (record_id, msisdn, category, quantity, reason, detail, rejected_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rejects,
        )
        await tx.execute_many(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?) ON CONFLICT (msisdn, cycle, category)"
            " DO UPDATE SET quantity = quantity + excluded.quantity, charged = charged + excluded.charged",
            [(m, cycle, category, q, c) for (m, cycle, category), (q, c) in usage.items()],
        )
        await tx.execute_many(
            "INSERT INTO daily_charge VALUES (?, ?, ?) ON CONFLICT (msisdn, day)"
            " DO UPDATE SET amount = amount + excluded.amount",
            [(m, day, amount) for (m, day), amount in daily.items()],
        )

    async def _reminders(
        self,
        tx: Tx,
        charged: list[str],
        positions: dict[tuple[str, str], Position],
        books: dict[str, Books],
        plans: dict[str, tuple[str, str]],
        now: float,
    ) -> None:
        cycle = self.calendar.cycle(now)
        today = self.calendar.today(now).isoformat()
        wanted: list[tuple[str, str, str]] = []
        states = await self._states(tx, charged)
        for msisdn in charged:
            position = positions.get((msisdn, cycle))
            if states.get(msisdn) == "active" and books[msisdn].available < self.pushes.low_balance_fen:
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

    async def _states(self, tx: Tx, msisdns: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(msisdns))
        rows = await tx.fetch(
            f"SELECT s.msisdn, COALESCE(c.state, s.status) FROM subscriber s LEFT JOIN credit c"
            f" ON c.msisdn = s.msisdn WHERE s.msisdn IN ({marks})",
            msisdns,
        )
        return {r[0]: r[1] for r in rows}

    async def _abnormal(self, tx: Tx, msisdns: list[str], now: float) -> list[str]:
        """Those whose usage charges today pass ``abnormal_factor`` × their daily average of the last 3 bills."""
        if not msisdns:
            return []
        today = self.calendar.today(now).isoformat()
        cycle = self.calendar.cycle(now)
        marks = ",".join("?" * len(msisdns))
        spent = await tx.fetch(
            f"SELECT msisdn, amount FROM daily_charge WHERE day = ? AND msisdn IN ({marks})", (today, *msisdns)
        )
        found = []
        for msisdn, amount in spent:
            total, days = await recent_bills(tx, msisdn, cycle)
            if total > 0 and amount * days > self.pushes.abnormal_factor * total:
                found.append(msisdn)
        return found
