"""The instances repository: who shares the ledger, their leases, and taking over the work of one gone.

Each gateway instance keeps a row with the time its lease runs out and renews it while it lives. Every MO
and MT row names the instance whose it is to answer or send. Rows of an instance whose lease ran out (it
died) or whose row is gone (it stopped, leaving work behind) are taken over by a live one, in one statement
each, so two instances taking over at once share them out and never both take one: an ``UPDATE`` waits for
the other's and finds the row no longer without an owner.

Times are wall-clock seconds of the instances' own clocks (kept in step by NTP); a lease is many seconds
long, so a skew of a few hundred milliseconds does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.db.messages import MO, MT
from gateway.db.unit import Tx
from gateway.types import InboundMessage, OutboundMessage

_NOT_OWNED = "(instance IS NULL OR instance NOT IN (SELECT name FROM instance))"
"""A row no live instance owns (NULL: made before instances existed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Takeover:
    """What an instance took over: MOs to answer, MTs to send, and MOs it will not answer."""

    gone: tuple[str, ...] = ()  # the instances whose leases ran out (they died without signing off)
    mos: tuple[InboundMessage, ...] = ()  # unanswered, oldest first
    mts: tuple[OutboundMessage, ...] = ()  # queued and not sent, oldest first
    redelivered: tuple[int, ...] = field(default=())  # MO ids delivered again to a live instance, answered there


async def sign_on(tx: Tx, name: str, *, now: float, lease: float) -> bool:
    """Start this instance's lease; whether a row of that name was left (the instance died and is back)."""
    left = await tx.fetch("SELECT 1 FROM instance WHERE name = :name", {"name": name})
    await _lease(tx, name, now=now, lease=lease)
    return bool(left)


async def renew(tx: Tx, name: str, *, now: float, lease: float) -> bool:
    """Extend this instance's lease; False if its row was gone (another instance took it for dead)."""
    changed = await tx.execute(
        "UPDATE instance SET lease_until = :until WHERE name = :name", {"until": now + lease, "name": name}
    )
    if not changed:
        await _lease(tx, name, now=now, lease=lease)
    return bool(changed)


async def sign_off(tx: Tx, name: str) -> None:
    """End this instance's lease: its rows left (an MT the link could not send) are another's to take."""
    await tx.execute("DELETE FROM instance WHERE name = :name", {"name": name})


async def live(tx: Tx, *, now: float) -> list[str]:
    rows = await tx.fetch("SELECT name FROM instance WHERE lease_until >= :now ORDER BY name", {"now": now})
    return [r[0] for r in rows]


async def take_over(tx: Tx, name: str, *, now: float, others_gone: bool = False, own: bool = False) -> Takeover:
    """Make ``name`` the owner of every unanswered MO and unsent MT no live instance owns.

    ``others_gone``: every other instance counts as gone, leases or not (one instance per SQLite file).
    ``own``: take this instance's own rows as well (at start: a restart under the same name).

    An MO whose acknowledgement was not known to have been read, followed next on its sender's number by
    the same text, was delivered again to another instance and answered there: it is marked so, not answered.
    """
    gone = await tx.fetch(
        "DELETE FROM instance WHERE name <> :name AND (lease_until < :now OR :all = 1) RETURNING name",
        {"name": name, "now": now, "all": int(others_gone)},
    )
    owned = f"({_NOT_OWNED} OR instance = :name)" if own else _NOT_OWNED
    mo_rows = await tx.fetch(
        f"UPDATE mo SET instance = :name WHERE status = 'new' AND {owned} RETURNING {MO}, ack_confirmed",
        {"name": name},
    )
    mt_rows = await tx.fetch(
        f"UPDATE mt SET instance = :name WHERE status = 'queued' AND {owned} RETURNING {MT}", {"name": name}
    )
    mos: list[InboundMessage] = []
    redelivered: list[int] = []
    for row in sorted(mo_rows, key=lambda r: r[0]):
        mo = MO.to(InboundMessage, (*row[:5], bool(row[5]), bool(row[6]), row[7]))
        if not row[8] and await _delivered_again(tx, mo):
            redelivered.append(mo.id)
        else:
            mos.append(mo)
    if redelivered:
        await tx.execute_many(
            "UPDATE mo SET status = 'duplicate', handled_at = ? WHERE id = ?", [(now, i) for i in redelivered]
        )
    return Takeover(
        gone=tuple(sorted(r[0] for r in gone)),
        mos=tuple(mos),
        mts=tuple(MT.to(OutboundMessage, r) for r in sorted(mt_rows, key=lambda r: r[0])),
        redelivered=tuple(redelivered),
    )


async def _delivered_again(tx: Tx, mo: InboundMessage) -> bool:
    if not mo.complete:
        return False
    rows = await tx.fetch(
        "SELECT text, complete FROM mo WHERE source_addr = :source AND destination_addr = :destination AND id > :id"
        " ORDER BY id LIMIT 1",
        {"source": mo.source_addr, "destination": mo.destination_addr, "id": mo.id},
    )
    return bool(rows) and rows[0][0] == mo.text and bool(rows[0][1])


async def _lease(tx: Tx, name: str, *, now: float, lease: float) -> None:
    await tx.execute(
        "INSERT INTO instance (name, started_at, lease_until) VALUES (:name, :now, :until)"
        " ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, lease_until = excluded.lease_until",
        {"name": name, "now": now, "until": now + lease},
    )
