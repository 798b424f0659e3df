"""The inbox and outbox repository: MOs, their parts, MTs, their parts and delivery receipts.

Every function takes the transaction handle (or, for reads, any :class:`~gateway.db.unit.Reads`). Ids
come from the database (``RETURNING id``), never from a counter in memory, so a second writer on the
same database cannot be handed an id that is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.db.marks import named_list
from gateway.db.rows import Columns
from gateway.db.unit import Reads, Tx
from gateway.types import InboundMessage, OutboundMessage, Reply


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPart:
    source_addr: str
    destination_addr: str
    reference: int
    total: int
    seqno: int
    data_coding: int
    payload: bytes
    received_at: float


MO = Columns("id", "source_addr", "destination_addr", "text", "received_at", "complete", "too_long", "redelivery_of")
MT = Columns("id", "source_addr", "destination_addr", "text")
PART = Columns(
    "source_addr", "destination_addr", "reference", "total", "seqno", "data_coding", "payload", "received_at"
)

_MT_BY_MESSAGE_ID = (
    "(SELECT mt_id FROM mt_part WHERE message_id IN (:given, :as_hex, :as_dec)"
    " ORDER BY message_id <> :given, mt_id DESC LIMIT 1)"
)
"""The MT a receipt's message id names: the id as given before its hex or decimal reading, and of an id the SMSC
has used twice, the later MT."""


ACK_CONFIRMED = 1  # mo.ack_confirmed: the SMSC surely read our deliver_sm_resp
ACK_UNCERTAIN = 2  # the link went before the SMSC showed it read it: the MO may come again
ACK_UNSENT = 3  # it could not be written: the MO comes again


async def add_mo(
    tx: Tx, mo: InboundMessage, *, parts_done: StoredPart | None = None, again_within: float = 0.0
) -> InboundMessage:
    """Store ``mo`` (its ``id`` is ignored) and drop the parts it was joined from; the MO with its new id.

    On a shared database, an MO whose sender's last one on that number had the same text, reached another
    instance within ``again_within`` seconds, and had its acknowledgement lost there (:func:`acks_lost`) is
    stored as perhaps that one delivered again (``redelivery_of``), for the responder to decide.
    """
    look_back = tx.shared and again_within and mo.complete and mo.redelivery_of is None
    rows = await tx.fetch(
        "INSERT INTO mo (source_addr, destination_addr, text, complete, too_long, received_at, redelivery_of, instance)"
        " VALUES (:source_addr, :destination_addr, :text, :complete, :too_long, :received_at, "
        + (_LOST_THERE if look_back else ":redelivery_of")
        + ", :instance) RETURNING id, redelivery_of",
        {
            "since": mo.received_at - again_within,
            "lost": ACK_UNCERTAIN,
            "unsent": ACK_UNSENT,
            "source_addr": mo.source_addr,
            "destination_addr": mo.destination_addr,
            "text": mo.text,
            "complete": int(mo.complete),
            "too_long": int(mo.too_long),
            "received_at": mo.received_at,
            "redelivery_of": mo.redelivery_of,
            "instance": tx.instance,
        },
    )
    if parts_done is not None:
        await tx.execute(
            "DELETE FROM mo_part WHERE source_addr = :source_addr AND destination_addr = :destination_addr"
            " AND reference = :reference AND total = :total",
            {
                "source_addr": parts_done.source_addr,
                "destination_addr": parts_done.destination_addr,
                "reference": parts_done.reference,
                "total": parts_done.total,
            },
        )
    return InboundMessage(
        id=rows[0][0],
        source_addr=mo.source_addr,
        destination_addr=mo.destination_addr,
        text=mo.text,
        received_at=mo.received_at,
        complete=mo.complete,
        too_long=mo.too_long,
        redelivery_of=rows[0][1],
    )


_LOST_THERE = (
    "(SELECT last.id FROM (SELECT id, text, complete, ack_confirmed, instance, received_at FROM mo"
    " WHERE source_addr = :source_addr AND destination_addr = :destination_addr ORDER BY id DESC LIMIT 1) last"
    " WHERE last.text = :text AND last.complete = 1 AND last.ack_confirmed IN (:lost, :unsent)"
    " AND last.instance <> :instance AND last.received_at >= :since)"
)
"""The sender's last MO on that number, if it had the same text, reached another instance within the window,
and had its acknowledgement lost there: the one this may be delivered again."""


async def add_part(tx: Tx, part: StoredPart) -> None:
    """Keep one part of a concatenated MO until all have come (a part sent again replaces the first)."""
    await tx.execute(
        f"INSERT INTO mo_part ({PART}) VALUES (:source_addr, :destination_addr, :reference, :total, :seqno,"
        " :data_coding, :payload, :received_at)"
        " ON CONFLICT (source_addr, destination_addr, reference, total, seqno) DO UPDATE SET"
        " data_coding = excluded.data_coding, payload = excluded.payload, received_at = excluded.received_at",
        PART.mapping(
            (
                part.source_addr,
                part.destination_addr,
                part.reference,
                part.total,
                part.seqno,
                part.data_coding,
                part.payload,
                part.received_at,
            )
        ),
    )


async def finish_mo(
    tx: Tx, mo: InboundMessage, replies: Sequence[Reply], *, now: float, effect: bool
) -> list[OutboundMessage]:
    """Mark ``mo`` handled (``effect``: in a unit that may change the ledger) and queue its replies. The mark
    is written at the end of the transaction, with the other MOs' of the batch."""
    await tx.at_end(_mark_handled, (mo.id, "answered" if replies else "ignored", now, int(effect)))
    return [await queue_mt(tx, reply, now=now, mo_id=mo.id) for reply in replies]


async def _mark_handled(tx: Tx, rows: list[tuple[int, str, float, int]]) -> None:
    """``(mo id, status, handled at, effect)`` of each MO: one statement, its text the same for any number of
    MOs, so it is prepared once (a text that grew with the batch was prepared again for most batches)."""
    await tx.execute_many(
        "UPDATE mo SET status = ?, handled_at = ?, effect = ? WHERE id = ?",
        [(status, handled_at, effect, mo_id) for mo_id, status, handled_at, effect in rows],
    )


async def drop_redelivery(tx: Tx, mo: InboundMessage, *, now: float) -> None:
    """Mark an MO that was the SMSC's second delivery of one with an effect: handled, not answered."""
    await tx.execute(
        "UPDATE mo SET status = 'duplicate', handled_at = :now, effect = 1 WHERE id = :id", {"now": now, "id": mo.id}
    )


async def take_turn(
    tx: Tx, mo: InboundMessage, *, since: float, windows: Sequence[float] = ()
) -> tuple[int, ...] | None:
    """None if ``mo`` may not be handled now, in this transaction; else, on a shared database, how many MOs
    its sender sent before it, on any instance, in each of the last ``windows`` seconds (a rate limit that
    counts across instances); on a database of one writer, ``()``.

    On a database of one writer (SQLite), always: the dispatcher hands on one MO per subscriber at a time.
    On a shared one, only while no other instance is handling its sender (a lock held to the end of the
    transaction, never waited for) and no earlier MO of its sender, received since ``since``, waits unanswered
    on another instance: so a subscriber's MOs are handled one after the other, in the order they were
    stored, whichever instances they reached. An instance that died with one in hand stops the wait only
    until its work is taken over, or ``since`` passes it.
    """
    if not tx.shared:
        return ()
    within = {f"w{i}": mo.received_at - seconds for i, seconds in enumerate(windows)}
    counted = "".join(f", SUM(CASE WHEN received_at > :w{i} THEN 1 ELSE 0 END)" for i in range(len(windows)))
    rows = await tx.fetch(
        "SELECT pg_try_advisory_xact_lock(hashtext(:source)),"
        " SUM(CASE WHEN status = 'new' AND instance <> :me AND received_at >= :since THEN 1 ELSE 0 END)"
        f"{counted} FROM mo WHERE source_addr = :source AND id < :id AND received_at >= :oldest",
        {
            "source": mo.source_addr,
            "id": mo.id,
            "me": tx.instance,
            "since": since,
            "oldest": min([since, *within.values()]),
            **within,
        },
    )
    locked, waiting, *counts = rows[0]
    if not locked or waiting:
        return None
    return tuple(int(n or 0) for n in counts)


async def sent_by(reads: Reads, msisdn: str, *, limit: int, skip: int = 0) -> list[tuple[float, str, str]]:
    """(received_at, service number, text) of the number's latest MOs, newest first, the newest ``skip`` left
    out (504: the one asking); a text that carried a secret is stored blank."""
    rows = await reads.fetch(
        "SELECT received_at, destination_addr, text FROM mo WHERE source_addr = :msisdn AND complete = 1"
        " ORDER BY id DESC LIMIT :limit OFFSET :skip",
        {"msisdn": msisdn, "limit": limit, "skip": skip},
    )
    return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]


async def forget_text(tx: Tx, mo: InboundMessage) -> None:
    """Blank the stored text of an MO that carried a secret."""
    await tx.execute("UPDATE mo SET text = '' WHERE id = :id", {"id": mo.id})


async def queue_mt(tx: Tx, reply: Reply, *, now: float, mo_id: int | None = None) -> OutboundMessage:
    """Put one MT in the outbox (``mo_id``: the MO it answers, if any); the MT with its new id."""
    rows = await tx.fetch(
        "INSERT INTO mt (mo_id, source_addr, destination_addr, text, created_at, instance)"
        " VALUES (:mo_id, :source_addr, :destination_addr, :text, :now, :instance) RETURNING id",
        {
            "mo_id": mo_id,
            "source_addr": reply.source_addr,
            "destination_addr": reply.destination_addr,
            "text": reply.text,
            "now": now,
            "instance": tx.instance,
        },
    )
    return OutboundMessage(
        id=rows[0][0], source_addr=reply.source_addr, destination_addr=reply.destination_addr, text=reply.text
    )


async def mts_sent(tx: Tx, sent: Iterable[tuple[int, Sequence[str]]], *, now: float) -> None:
    """Mark MTs sent, with their parts' message ids (already in :func:`normal_id` form): one statement for the
    MTs and one for the parts, each of a text that does not change with their number (prepared once)."""
    sent = list(sent)
    await tx.execute_many(
        "UPDATE mt SET status = 'sent', sent_at = ?, command_status = 0 WHERE id = ?",
        [(now, mt_id) for mt_id, _ in sent],
    )
    await tx.execute_many(
        "INSERT INTO mt_part (mt_id, seqno, message_id) VALUES (?, ?, ?)"
        " ON CONFLICT (mt_id, seqno) DO UPDATE SET message_id = excluded.message_id",
        [(mt_id, seqno, message_id) for mt_id, message_ids in sent for seqno, message_id in enumerate(message_ids, 1)],
    )


async def mt_failed(tx: Tx, mt_id: int, command_status: int, *, now: float) -> None:
    """Mark an MT the SMSC refused for good."""
    await tx.execute(
        "UPDATE mt SET status = 'failed', sent_at = :now, command_status = :status WHERE id = :id",
        {"now": now, "status": command_status, "id": mt_id},
    )


async def add_receipt(tx: Tx, keys: tuple[str, str, str], stat: str, *, now: float) -> None:
    """Record a delivery receipt and mark its MT; ``keys``: the message id as given, as hex, as decimal."""
    given, as_hex, as_dec = keys
    ids = {"given": given, "as_hex": as_hex, "as_dec": as_dec}
    await tx.execute(
        f"INSERT INTO receipt (message_id, stat, received_at, mt_id) VALUES (:given, :stat, :now, {_MT_BY_MESSAGE_ID})",
        {**ids, "stat": stat, "now": now},
    )
    await tx.execute(f"UPDATE mt SET delivery_stat = :stat WHERE id = {_MT_BY_MESSAGE_ID}", {**ids, "stat": stat})


async def acks_confirmed(tx: Tx, mo_ids: Sequence[int]) -> None:
    """Record that the SMSC surely read these MOs' acknowledgements."""
    await tx.execute_many("UPDATE mo SET ack_confirmed = ? WHERE id = ?", [(ACK_CONFIRMED, mo_id) for mo_id in mo_ids])


async def acks_lost(tx: Tx, mo_ids: Sequence[int], *, sure: bool) -> None:
    """Record that these MOs' acknowledgements may not have reached the SMSC (``sure``: they were never
    written): another instance that gets one of them again then knows it (:func:`add_mo`)."""
    mark = ACK_UNSENT if sure else ACK_UNCERTAIN
    await tx.execute_many(
        "UPDATE mo SET ack_confirmed = ? WHERE id = ? AND ack_confirmed <> ?",
        [(mark, mo_id, ACK_CONFIRMED) for mo_id in mo_ids],
    )


async def redelivered(reads: Reads, mo: InboundMessage) -> bool:
    """Whether ``mo.redelivery_of`` is the last MO its sender sent this service number before, and had an effect
    or surely comes again (its acknowledgement was never written)."""
    rows = await reads.fetch(
        "SELECT id, effect, ack_confirmed FROM mo WHERE source_addr = :source AND destination_addr = :destination"
        " AND id < :id ORDER BY id DESC LIMIT 1",
        {"source": mo.source_addr, "destination": mo.destination_addr, "id": mo.id},
    )
    return bool(rows) and rows[0][0] == mo.redelivery_of and (rows[0][1] == 1 or rows[0][2] == ACK_UNSENT)


async def unanswered_mos(reads: Reads) -> list[InboundMessage]:
    rows = await reads.fetch(f"SELECT {MO} FROM mo WHERE status = 'new' ORDER BY id")
    return [MO.to(InboundMessage, (*r[:5], bool(r[5]), bool(r[6]), r[7])) for r in rows]


async def recent_mos(reads: Reads, window: float, instances: Sequence[str] = ()) -> list[tuple[int, str, str, str]]:
    """(id, source, destination, text) of the complete MOs stored within ``window`` seconds before the newest
    one whose acknowledgement was not known to have reached the SMSC, oldest first; ``instances``: only those
    these instances stored (on a shared ledger: the ones that died, not those that live on)."""
    marks, params = named_list(instances, "i")
    stored_by = f"instance IN ({marks})" if instances else "1 = 1"
    rows = await reads.fetch(
        "SELECT id, source_addr, destination_addr, text FROM mo"
        f" WHERE received_at >= (SELECT MAX(received_at) FROM mo WHERE {stored_by}) - :window"
        f" AND complete = 1 AND ack_confirmed <> 1 AND {stored_by} ORDER BY id",
        {"window": window, **params},
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def queued_mts(reads: Reads) -> list[OutboundMessage]:
    rows = await reads.fetch(f"SELECT {MT} FROM mt WHERE status = 'queued' ORDER BY id")
    return [MT.to(OutboundMessage, r) for r in rows]


async def stored_parts(reads: Reads) -> list[StoredPart]:
    rows = await reads.fetch(f"SELECT {PART} FROM mo_part ORDER BY received_at")
    return [PART.to(StoredPart, r) for r in rows]
