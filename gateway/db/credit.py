"""Credit control's rows: the machine's state (``credit``), the status it shows, the changes it made, and the
subscribers' opt-outs of the non-essential reminders (``TDTX`` / ``KTTX``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from gateway.db import subscribers
from gateway.db.marks import named_list
from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.model.credit import CreditRow, Standing

CREDIT = Columns("state", "since", "floor", "restore_until", "guard_until", "protected_at", "reason")

_SAVE = (
    f"INSERT INTO credit (msisdn, {CREDIT})"
    " VALUES (:msisdn, :state, :since, :floor, :restore_until, :guard_until, :protected_at, :reason)"
    " ON CONFLICT (msisdn) DO UPDATE SET state = excluded.state, since = excluded.since,"
    " reason = excluded.reason, floor = excluded.floor, restore_until = excluded.restore_until,"
    " guard_until = excluded.guard_until, protected_at = excluded.protected_at"
)


async def credit_rows(reads: Reads, msisdns: Sequence[str]) -> dict[str, CreditRow]:
    """The credit rows of those of ``msisdns`` that credit control has seen, by number."""
    found: dict[str, CreditRow] = {}
    chunk = subscribers.CHUNK
    for start in range(0, len(msisdns), chunk):
        marks, params = named_list(msisdns[start : start + chunk])
        for row in await reads.fetch(f"SELECT msisdn, {CREDIT} FROM credit WHERE msisdn IN ({marks})", params):
            found[row[0]] = CREDIT.to(CreditRow, row[1:])
    return found


async def standings(reads: Reads, msisdns: Sequence[str]) -> dict[str, Standing]:
    """The standing of each of ``msisdns`` that is a subscriber, by number."""
    credit = await credit_rows(reads, msisdns)
    return {
        msisdn: Standing(subscriber=subscriber, account=account, credit=credit.get(msisdn))
        for msisdn, (subscriber, account) in (await subscribers.holders(reads, msisdns)).items()
    }


async def states(reads: Reads, msisdns: Sequence[str]) -> dict[str, str]:
    """The credit state of each of ``msisdns`` that is a subscriber (their status where credit control has no row)."""
    marks, params = named_list(msisdns)
    rows = await reads.fetch(
        "SELECT s.msisdn, COALESCE(c.state, s.status) FROM subscriber s LEFT JOIN credit c"
        f" ON c.msisdn = s.msisdn WHERE s.msisdn IN ({marks})",
        params,
    )
    return {row[0]: row[1] for row in rows}


async def record_transition(tx: Tx, msisdn: str, *, source: str, row: CreditRow, status: str) -> int:
    """Save the machine's new ``row``, show ``status`` on the subscriber, and add the status change (from
    ``source`` to the row's state, at ``row.since``); the change's id."""
    await tx.execute(_SAVE, {"msisdn": msisdn, **asdict(row)})
    await tx.execute(
        "UPDATE subscriber SET status = :status WHERE msisdn = :msisdn", {"status": status, "msisdn": msisdn}
    )
    added = await tx.fetch(
        "INSERT INTO status_change (msisdn, source, target, reason, changed_at)"
        " VALUES (:msisdn, :source, :target, :reason, :changed_at) RETURNING id",
        {"msisdn": msisdn, "source": source, "target": row.state, "reason": row.reason, "changed_at": row.since},
    )
    return int(added[0][0])


async def opt_out(tx: Tx, msisdn: str, *, now: float) -> bool:
    """Stop the non-essential reminders to ``msisdn``; False if they were stopped already."""
    added = await tx.execute(
        "INSERT INTO push_opt_out (msisdn, since) VALUES (:msisdn, :since) ON CONFLICT DO NOTHING",
        {"msisdn": msisdn, "since": now},
    )
    return added > 0


async def opt_in(tx: Tx, msisdn: str) -> bool:
    """Start the non-essential reminders to ``msisdn`` again; False if they were not stopped."""
    return await tx.execute("DELETE FROM push_opt_out WHERE msisdn = :msisdn", {"msisdn": msisdn}) > 0
