"""The instances repository on both engines: leases, signing off, and taking over the work of an instance
gone: its unanswered MOs and unsent MTs, not those of a live one, and not an MO delivered again elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.db import instances, messages
from gateway.db.database import open_database
from gateway.db.unit import Tx
from gateway.types import InboundMessage, OutboundMessage, Reply

T0 = 1_700_000_000.0


def mo(text: str, sender: str = "13800138000") -> InboundMessage:
    return InboundMessage(id=0, source_addr=sender, destination_addr="10086", text=text, received_at=T0)


def reply(to: str, text: str = "您好") -> Reply:
    return Reply(text=text, destination_addr=to, source_addr="10086")


@asynccontextmanager
async def instance(ledger: str, name: str) -> AsyncIterator[Tx]:
    """A connection that stores for instance ``name`` (autocommit: each statement its own transaction)."""
    db = await open_database(ledger)
    try:
        yield Tx(db, instance=name, shared=True)
    finally:
        await db.close()


async def owners(tx: Tx, table: str) -> list[tuple[int, str | None]]:
    return [(r[0], r[1]) for r in await tx.fetch(f"SELECT id, instance FROM {table} ORDER BY id")]


async def test_a_lease_that_ran_out_hands_the_instances_work_to_a_live_one(ledger_at: str) -> None:
    async with instance(ledger_at, "a") as a, instance(ledger_at, "b") as b:
        assert await instances.sign_on(a, "a", now=T0, lease=10) is False
        waiting = await messages.add_mo(a, mo("102"))
        answered = await messages.add_mo(a, mo("101", sender="13800138001"))
        (answer,) = await messages.finish_mo(a, answered, [reply("13800138001")], now=T0, effect=False)
        await messages.mts_sent(a, [(answer.id, ["m1"])], now=T0)
        push = await messages.queue_mt(a, reply("13800138002"), now=T0)
        await instances.sign_on(b, "b", now=T0 + 5, lease=10)
        assert await instances.live(b, now=T0 + 9) == ["a", "b"]

        early = await instances.take_over(b, "b", now=T0 + 9)  # a's lease runs to T0 + 10
        assert await instances.renew(b, "b", now=T0 + 11, lease=10) is True
        taken = await instances.take_over(b, "b", now=T0 + 11)
        again = await instances.take_over(b, "b", now=T0 + 12)

        assert (early.gone, early.mos, early.mts) == ((), (), ())
        assert taken.gone == ("a",)
        assert taken.mos == (waiting,)  # the answered one is not work left
        assert taken.mts == (
            OutboundMessage(id=push.id, source_addr="10086", destination_addr="13800138002", text="您好"),
        )
        assert (again.gone, again.mos, again.mts) == ((), (), ())
        assert await instances.live(b, now=T0 + 12) == ["b"]
        assert await owners(b, "mo") == [(waiting.id, "b"), (answered.id, "a")]
        assert await owners(b, "mt") == [(answer.id, "a"), (push.id, "b")]
        assert await instances.renew(a, "a", now=T0 + 13, lease=10) is False  # a, back, learns it was taken for dead


async def test_an_instance_that_signed_off_leaves_its_unsent_mts_to_the_next_and_a_restart_takes_its_own(
    ledger_at: str,
) -> None:
    async with instance(ledger_at, "a") as a, instance(ledger_at, "b") as b:
        await instances.sign_on(a, "a", now=T0, lease=10)
        push = await messages.queue_mt(a, reply("13800138002"), now=T0)
        await instances.sign_off(a, "a")
        await instances.sign_on(b, "b", now=T0 + 1, lease=10)
        taken = await instances.take_over(b, "b", now=T0 + 1)  # a's lease had not run out: it signed off
        assert (taken.gone, [m.id for m in taken.mts]) == ((), [push.id])

        own = await messages.queue_mt(b, reply("13800138003"), now=T0 + 2)
        assert await instances.sign_on(b, "b", now=T0 + 3, lease=10) is True  # b again, after a crash
        not_own = await instances.take_over(b, "b", now=T0 + 3)
        restarted = await instances.take_over(b, "b", now=T0 + 3, own=True)
        assert not_own.mts == ()
        assert [m.id for m in restarted.mts] == [push.id, own.id]


async def test_one_file_one_instance_every_other_counts_as_gone(ledger_at: str) -> None:
    async with instance(ledger_at, "a") as a, instance(ledger_at, "b") as b:
        await instances.sign_on(a, "a", now=T0, lease=10)
        left = await messages.add_mo(a, mo("102"))
        await instances.sign_on(b, "b", now=T0 + 1, lease=10)
        taken = await instances.take_over(b, "b", now=T0 + 1, others_gone=True)
        assert (taken.gone, taken.mos) == (("a",), (left,))


async def test_an_mo_delivered_again_to_a_live_instance_is_not_answered_again(ledger_at: str) -> None:
    """a stored ``是`` and died before its acknowledgement was read; the SMSC delivered it to b, which answered
    it. The copy a left is marked so; an MO whose acknowledgement was read, or followed by other text, is work."""
    async with instance(ledger_at, "a") as a, instance(ledger_at, "b") as b:
        await instances.sign_on(a, "a", now=T0, lease=10)
        unread = await messages.add_mo(a, mo("是"))
        read = await messages.add_mo(a, mo("102", sender="13800138001"))
        await messages.acks_confirmed(a, [read.id])
        followed = await messages.add_mo(a, mo("101", sender="13800138002"))
        await instances.sign_on(b, "b", now=T0 + 1, lease=10)
        for copy in (mo("是"), mo("102", sender="13800138001"), mo("KTGPRS10", sender="13800138002")):
            await messages.add_mo(b, copy)

        taken = await instances.take_over(b, "b", now=T0 + 11)

        assert [m.id for m in taken.mos] == [read.id, followed.id]
        assert taken.redelivered == (unread.id,)
        rows = await b.fetch("SELECT status FROM mo WHERE id = :id", {"id": unread.id})
        assert rows == [("duplicate",)]
