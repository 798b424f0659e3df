"""Usage as rating writes it: the rated records, the error list, the cycle's usage and the day's charges;
with the fees and the closed months' bills the seed and the tests put in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gateway.db.marks import named_list
from gateway.db.unit import Reads, Tx
from gateway.model.usage import CycleCharge, DayCharge, RatedRecord, Refusal


async def rated_ids(reads: Reads, ids: Sequence[str]) -> set[str]:
    """Those of the record ids ``ids`` that were rated before."""
    marks, params = named_list(ids)
    return {row[0] for row in await reads.fetch(f"SELECT id FROM usage_record WHERE id IN ({marks})", params)}


async def overlapped(
    reads: Reads, *, msisdn: str, category: str, start: float, end: float, longest: float
) -> str | None:
    """The id of a rated record of the number and category that overlaps [start, end), if there is one;
    none lasts more than ``longest`` seconds, so none that began earlier can."""
    rows = await reads.fetch(
        "SELECT id FROM usage_record WHERE msisdn = :msisdn AND category = :category"
        " AND start_at >= :earliest AND start_at < :end AND end_at > :start LIMIT 1",
        {"msisdn": msisdn, "category": category, "earliest": start - longest, "end": end, "start": start},
    )
    return str(rows[0][0]) if rows else None


async def add_records(tx: Tx, records: Iterable[RatedRecord], *, now: float) -> None:
    """Add the rated records, rated at ``now``."""
    await tx.execute_many(
        "INSERT INTO usage_record (id, msisdn, category, cycle, quantity, granted, charged, start_at, end_at,"
        " rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_record_row(r, now) for r in records],
    )


def _record_row(r: RatedRecord, now: float) -> tuple[object, ...]:
    u = r.record
    return (u.id, u.msisdn, u.category, r.cycle, u.quantity, r.granted, r.charged, u.start, u.end, now)


async def add_refusals(tx: Tx, refusals: Iterable[Refusal], *, now: float) -> None:
    """Put the refused records and parts on the error list, at ``now``."""
    await tx.execute_many(
        "INSERT INTO usage_reject (record_id, msisdn, category, quantity, reason, detail, rejected_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.record.id, r.record.msisdn, r.record.category, r.quantity, r.reason, r.detail, now) for r in refusals],
    )


async def add_to_cycles(tx: Tx, charges: Iterable[CycleCharge]) -> None:
    """Add to each cycle's usage of a category, and to what it cost beyond packages."""
    await tx.execute_many(
        "INSERT INTO usage (msisdn, cycle, category, quantity, charged) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (msisdn, cycle, category)"
        " DO UPDATE SET quantity = usage.quantity + excluded.quantity, charged = usage.charged + excluded.charged",
        [(c.msisdn, c.cycle, c.category, c.quantity, c.charged) for c in charges],
    )


async def add_day_charges(tx: Tx, charges: Iterable[DayCharge]) -> None:
    """Add to what each subscriber was charged for usage on a day."""
    await tx.execute_many(
        "INSERT INTO daily_charge (msisdn, day, amount) VALUES (?, ?, ?)"
        " ON CONFLICT (msisdn, day) DO UPDATE SET amount = daily_charge.amount + excluded.amount",
        [(c.msisdn, c.day, c.amount) for c in charges],
    )


async def day_charges(reads: Reads, day: str, msisdns: Sequence[str]) -> dict[str, int]:
    """What each of ``msisdns`` was charged for usage on ``day`` (an ISO date), for those charged at all."""
    marks, params = named_list(msisdns)
    rows = await reads.fetch(
        f"SELECT msisdn, amount FROM daily_charge WHERE day = :day AND msisdn IN ({marks})", {"day": day, **params}
    )
    return {row[0]: row[1] for row in rows}


FEE_LINE = "CASE WHEN category IN ('plan', 'vas') THEN category ELSE category || '_package' END"
"""The bill line of a fee: a package's fee is its kind's ``_package`` line (``data_package``: the GPRS packs), apart
from the usage of that kind beyond the packages (``data``), as 101 tells them."""


async def add_fee(
    tx: Tx, *, msisdn: str, cycle: str, category: str, product: str, amount: int, charged_at: float
) -> None:
    """Charge a fixed fee (a plan's or a package's) in the cycle."""
    await tx.execute(
        "INSERT INTO fee (msisdn, cycle, category, product, amount, charged_at)"
        " VALUES (:msisdn, :cycle, :category, :product, :amount, :charged_at)",
        {
            "msisdn": msisdn,
            "cycle": cycle,
            "category": category,
            "product": product,
            "amount": amount,
            "charged_at": charged_at,
        },
    )


async def add_bill(tx: Tx, *, msisdn: str, cycle: str, lines: Mapping[str, int]) -> None:
    """A closed month's bill with its lines (category → amount); its total is the sum of the lines."""
    await tx.execute(
        "INSERT INTO bill (msisdn, cycle, total) VALUES (:msisdn, :cycle, :total)",
        {"msisdn": msisdn, "cycle": cycle, "total": sum(lines.values())},
    )
    await tx.execute_many(
        "INSERT INTO bill_line (msisdn, cycle, category, amount) VALUES (?, ?, ?, ?)",
        [(msisdn, cycle, category, amount) for category, amount in lines.items()],
    )
