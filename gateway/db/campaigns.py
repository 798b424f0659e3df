"""Campaigns and what selects many subscribers at once: who each sweep raises a reminder for, the numbers the
scheduler hands to credit control, the month's bills (:mod:`gateway.pushes.campaigns`, ``sweeps``, ``schedule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from gateway.db.choices import BY_SMS_OFF
from gateway.db.pushes import Selection
from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.db.usage import FEE_LINE

_OPTED_IN = "NOT EXISTS (SELECT 1 FROM push_opt_out o WHERE o.msisdn = s.msisdn)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    kind: str
    started_at: float
    finished_at: float | None  # None: the sweep is still selecting


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """A campaign's reminders by where they are, and their outbox messages by how they went."""

    selected: int
    pending: int
    queued: int
    dropped: int
    sent: int
    delivered: int
    failed: int
    in_flight: int  # in the outbox, not yet accepted or refused by the SMSC


_CAMPAIGN = Columns("kind", "started_at", "finished_at")
_TALLY = Columns(*(field.name for field in fields(Tally)))
_COUNTS = """
SELECT
    COUNT(*) AS selected,
    SUM(CASE WHEN p.status = 'pending' THEN 1 ELSE 0 END) AS pending,
    SUM(CASE WHEN p.status = 'queued' THEN 1 ELSE 0 END) AS queued,
    SUM(CASE WHEN p.status = 'dropped' THEN 1 ELSE 0 END) AS dropped,
    SUM(CASE WHEN m.status = 'sent' THEN 1 ELSE 0 END) AS sent,
    SUM(CASE WHEN m.delivery_stat = 'DELIVRD' THEN 1 ELSE 0 END) AS delivered,
    SUM(CASE WHEN m.status = 'failed' OR (m.delivery_stat IS NOT NULL AND m.delivery_stat != 'DELIVRD')
        THEN 1 ELSE 0 END) AS failed,
    SUM(CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END) AS in_flight
FROM push p LEFT JOIN mt m ON m.id = p.mt_id
WHERE p.campaign = :campaign
"""


async def create(tx: Tx, kind: str, *, now: float) -> int:
    """Record a campaign of ``kind`` started ``now``; its id."""
    rows = await tx.fetch(
        "INSERT INTO campaign (kind, started_at) VALUES (:kind, :now) RETURNING id", {"kind": kind, "now": now}
    )
    return int(rows[0][0])


async def finish(tx: Tx, campaign: int, *, selected: int, now: float) -> None:
    """Record that the campaign's sweep is done and how many reminders it raised."""
    await tx.execute(
        "UPDATE campaign SET selected = :selected, finished_at = :now WHERE id = :id",
        {"selected": selected, "now": now, "id": campaign},
    )


async def find(reads: Reads, campaign: int) -> Campaign | None:
    """The campaign; None when there is none of that id."""
    rows = await reads.fetch(f"SELECT {_CAMPAIGN} FROM campaign WHERE id = :id", {"id": campaign})
    return _CAMPAIGN.to(Campaign, rows[0]) if rows else None


async def latest(reads: Reads, limit: int) -> list[tuple[int, Campaign]]:
    """The newest ``limit`` campaigns with their ids, newest first."""
    rows = await reads.fetch(f"SELECT id, {_CAMPAIGN} FROM campaign ORDER BY id DESC LIMIT :limit", {"limit": limit})
    return [(int(r[0]), _CAMPAIGN.to(Campaign, r[1:])) for r in rows]


async def tally(reads: Reads, campaign: int) -> Tally:
    """The campaign's counts (0 where it has no reminders)."""
    rows = await reads.fetch(f"SELECT {_TALLY} FROM ({_COUNTS}) counts", {"campaign": campaign})
    return Tally(**{name: int(value or 0) for name, value in _TALLY.mapping(rows[0]).items()})


# --- who each sweep applies to --------------------------------------------------------------------


async def range_end(reads: Reads, low: str, *, size: int) -> str | None:
    """The last of the ``size`` numbers after ``low``; None when fewer are left."""
    rows = await reads.fetch(
        "SELECT msisdn FROM subscriber WHERE msisdn > :low ORDER BY msisdn LIMIT 1 OFFSET :skip",
        {"low": low, "skip": size - 1},
    )
    return str(rows[0][0]) if rows else None


def low_balance(*, cycle: str, today: str, threshold: int) -> Selection:
    """Active subscribers, opted in, whose available balance on ``today`` is below ``threshold``."""
    return Selection(
        sql="SELECT s.msisdn AS msisdn, :cycle AS trigger FROM subscriber s"
        " JOIN account a ON a.msisdn = s.msisdn LEFT JOIN credit c ON c.msisdn = s.msisdn"
        " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status = 'active'"
        " AND COALESCE(c.state, 'active') = 'active'"
        " AND a.cash + a.credit_limit"
        " + CASE WHEN a.gift_expires IS NULL OR a.gift_expires >= :today THEN a.gift ELSE 0 END < :threshold"
        f" AND {_OPTED_IN}",
        params={"cycle": cycle, "today": today, "threshold": threshold},
    )


def data_periodic(*, day: str, packages: Sequence[str]) -> Selection:
    """Active subscribers, opted in, who hold one of the data ``packages`` now."""
    marks = ",".join(f":p{n}" for n in range(len(packages)))
    return Selection(
        sql="SELECT s.msisdn AS msisdn, :day AS trigger FROM subscriber s"
        " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status = 'active'"
        " AND EXISTS (SELECT 1 FROM subscription u WHERE u.msisdn = s.msisdn"
        f" AND u.product IN ({marks}) AND u.started_at <= :now AND (u.ends_at IS NULL OR u.ends_at > :now))"
        f" AND {_OPTED_IN}",
        params={"day": day, **{f"p{n}": code for n, code in enumerate(packages)}},
    )


def bill_ready(*, cycle: str) -> Selection:
    """Subscribers not terminated, opted in, who have a bill for ``cycle``."""
    return Selection(
        sql="SELECT s.msisdn AS msisdn, b.cycle AS trigger FROM subscriber s"
        " JOIN bill b ON b.msisdn = s.msisdn AND b.cycle = :cycle"
        " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND s.status != 'terminated'"
        f" AND {_OPTED_IN} AND {BY_SMS_OFF}",
        params={"cycle": cycle},
    )


def termination_warning(*, warn_before: float, ends_before: float) -> Selection:
    """Subscribers suspended (not by the operator) before ``warn_before`` and not before ``ends_before``."""
    return Selection(
        sql="SELECT s.msisdn AS msisdn, 'since:' || CAST(FLOOR(c.since) AS INTEGER) AS trigger FROM subscriber s"
        " JOIN credit c ON c.msisdn = s.msisdn AND c.state = 'suspended' AND c.reason != 'operator'"
        " WHERE s.msisdn > :lo AND s.msisdn <= :hi AND c.since < :warn_before AND c.since >= :ends_before",
        params={"warn_before": warn_before, "ends_before": ends_before},
    )


# --- the scheduler's jobs -------------------------------------------------------------------------


async def claim_daily(tx: Tx, day: str) -> bool:
    """Claim the daily jobs of ``day``; False when they were claimed before."""
    sql = "INSERT INTO schedule_run (job, day) VALUES ('daily', :day) ON CONFLICT DO NOTHING"
    return await tx.execute(sql, {"day": day}) == 1


async def adopt_uncontrolled(tx: Tx, *, now: float) -> int:
    """Give credit control the subscribers not active that it does not know (imported, seeded); how many."""
    return await tx.execute(
        "INSERT INTO credit (msisdn, state, since) SELECT msisdn, status, :now FROM subscriber"
        " WHERE status != 'active' ON CONFLICT DO NOTHING",
        {"now": now},
    )


async def restores_run_out(reads: Reads, *, now: float) -> list[str]:
    """The numbers in a protective restore whose time limit has come."""
    return await _numbers(
        reads, "SELECT msisdn FROM credit WHERE state = 'protected' AND restore_until <= :now", {"now": now}
    )


async def guards_run_out(reads: Reads, *, now: float) -> list[str]:
    """The active numbers whose guard against automatic suspension has run out."""
    return await _numbers(
        reads, "SELECT msisdn FROM credit WHERE state = 'active' AND guard_until <= :now", {"now": now}
    )


async def clear_guards(tx: Tx, *, now: float) -> None:
    """Drop the guards that have run out, so the balance rule applies again."""
    await tx.execute(
        "UPDATE credit SET guard_until = NULL WHERE state = 'active' AND guard_until <= :now", {"now": now}
    )


async def prepaid_expired(reads: Reads, *, today: str, plans: Sequence[str]) -> list[str]:
    """The active numbers on one of the prepaid ``plans`` whose validity date is before ``today``."""
    marks = ",".join(f":plan{n}" for n in range(len(plans)))
    return await _numbers(
        reads,
        "SELECT s.msisdn FROM subscriber s JOIN account a ON a.msisdn = s.msisdn WHERE s.status = 'active'"
        f" AND a.valid_until < :today AND s.plan IN ({marks})",
        {"today": today, **{f"plan{n}": plan for n, plan in enumerate(plans)}},
    )


async def suspended_before(reads: Reads, *, before: float) -> list[str]:
    """The numbers suspended (not by the operator) since before ``before``."""
    return await _numbers(
        reads,
        "SELECT msisdn FROM credit WHERE state = 'suspended' AND reason != 'operator' AND since < :before",
        {"before": before},
    )


async def close_month(tx: Tx, cycle: str, *, points_per_yuan: int) -> int:
    """Make the cycle's bill for everyone charged in it who has none: fees and usage charges by category; credit
    the points each new bill earned (``points_per_yuan`` per whole yuan of it that is paid: the total less what
    the cash book owes at the close); how many bills were made."""
    await tx.execute(
        "INSERT INTO bill_line (msisdn, cycle, category, amount)"
        " SELECT msisdn, :cycle, category, SUM(amount) FROM ("
        f"  SELECT msisdn, {FEE_LINE} AS category, amount FROM fee WHERE cycle = :cycle"
        "  UNION ALL SELECT msisdn, category, charged FROM usage WHERE cycle = :cycle AND charged > 0"
        " ) x WHERE NOT EXISTS (SELECT 1 FROM bill b WHERE b.msisdn = x.msisdn AND b.cycle = :cycle)"
        " GROUP BY msisdn, category HAVING SUM(amount) > 0",
        {"cycle": cycle},
    )
    made = await tx.execute(
        "INSERT INTO bill (msisdn, cycle, total, points) SELECT l.msisdn, l.cycle, SUM(l.amount), NULL"
        " FROM bill_line l WHERE l.cycle = :cycle AND NOT EXISTS (SELECT 1 FROM bill b WHERE b.msisdn = l.msisdn"
        " AND b.cycle = :cycle) GROUP BY l.msisdn, l.cycle",
        {"cycle": cycle},
    )
    # A bill made just now has no points yet (NULL): its points go to the account, then onto the bill, once.
    params = {"cycle": cycle, "per_yuan": points_per_yuan}
    await tx.execute(
        f"UPDATE account SET points = points + (SELECT {_earned('b.total', 'account.cash')} FROM bill b"
        " WHERE b.msisdn = account.msisdn AND b.cycle = :cycle)"
        " WHERE msisdn IN (SELECT msisdn FROM bill WHERE cycle = :cycle AND points IS NULL)",
        params,
    )
    cash = "(SELECT a.cash FROM account a WHERE a.msisdn = bill.msisdn)"
    await tx.execute(
        f"UPDATE bill SET points = {_earned('bill.total', cash)} WHERE cycle = :cycle AND points IS NULL", params
    )
    return made


def _earned(total: str, cash: str) -> str:
    """The points a bill of ``total`` earns while the cash book stands at ``cash`` (what it owes is not paid)."""
    paid = f"({total} - CASE WHEN {cash} < 0 THEN -{cash} ELSE 0 END)"
    return f"CASE WHEN {paid} > 0 THEN {paid} / 100 * :per_yuan ELSE 0 END"


async def _numbers(reads: Reads, sql: str, params: dict[str, object]) -> list[str]:
    return [str(row[0]) for row in await reads.fetch(sql, params)]
