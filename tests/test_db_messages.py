"""gateway.db.messages: MOs, their parts, MTs and receipts in the inbox and outbox tables (real SQLite files)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.db import opened

from gateway.db import messages
from gateway.db.database import open_database
from gateway.db.messages import StoredPart
from gateway.db.unit import Tx
from gateway.types import InboundMessage, OutboundMessage, Reply

SUBSCRIBER = "13800138000"
OTHER = "13900139000"


@pytest.fixture
async def tx(ledger_at: str) -> AsyncIterator[Tx]:
    async with opened(ledger_at) as handle:
        yield handle


def mo(
    text: str = "102",
    *,
    source: str = SUBSCRIBER,
    at: float = 100.0,
    complete: bool = True,
    too_long: bool = False,
    redelivery_of: int | None = None,
) -> InboundMessage:
    """An MO to store (its id is the database's to give)."""
    return InboundMessage(
        id=0,
        source_addr=source,
        destination_addr="10086",
        text=text,
        received_at=at,
        complete=complete,
        too_long=too_long,
        redelivery_of=redelivery_of,
    )


def part(seqno: int, *, reference: int = 7, payload: bytes = b"", at: float = 100.0) -> StoredPart:
    return StoredPart(
        source_addr=SUBSCRIBER,
        destination_addr="10086",
        reference=reference,
        total=3,
        seqno=seqno,
        data_coding=8,
        payload=payload or f"第{seqno}段".encode("utf-16-be"),
        received_at=at,
    )


def reply(text: str) -> Reply:
    return Reply(text=text, destination_addr=SUBSCRIBER, source_addr="10086")


async def add_sent_mt(tx: Tx, text: str, message_ids: list[str]) -> int:
    mt = await messages.queue_mt(tx, reply(text), now=50.0)
    await messages.mts_sent(tx, [(mt.id, message_ids)], now=51.0)
    return mt.id


# --- MOs and their parts -------------------------------------------------------------------------


async def test_add_mo_returns_the_id_the_database_gave(tx: Tx) -> None:
    await tx.execute("INSERT INTO mo (source_addr, destination_addr, text, received_at) VALUES ('x', 'y', '', 1)")
    stored = await messages.add_mo(tx, mo("查话费", too_long=True, redelivery_of=1))
    assert stored == InboundMessage(
        id=2,
        source_addr=SUBSCRIBER,
        destination_addr="10086",
        text="查话费",
        received_at=100.0,
        complete=True,
        too_long=True,
        redelivery_of=1,
    )
    assert await tx.fetch("SELECT text, complete, too_long, redelivery_of, status, effect FROM mo WHERE id = 2") == [
        ("查话费", 1, 1, 1, "new", 0)
    ]


async def test_a_part_sent_again_replaces_the_first_and_parts_come_back_in_arrival_order(tx: Tx) -> None:
    await messages.add_part(tx, part(2, at=101.0))
    await messages.add_part(tx, part(1, payload=b"\x00A", at=102.0))
    await messages.add_part(tx, part(2, payload=b"\x00B", at=103.0))  # the SMSC sent part 2 again
    assert await messages.stored_parts(tx) == [part(1, payload=b"\x00A", at=102.0), part(2, payload=b"\x00B", at=103.0)]


async def test_a_joined_mo_drops_its_own_parts_only(tx: Tx) -> None:
    for seqno in (1, 2, 3):
        await messages.add_part(tx, part(seqno, at=100.0 + seqno))
    await messages.add_part(tx, part(1, reference=8, at=110.0))
    joined = await messages.add_mo(tx, mo("第1段第2段第3段"), parts_done=part(3))
    assert joined.id == 1
    assert await messages.stored_parts(tx) == [part(1, reference=8, at=110.0)]


async def test_unanswered_mos_are_the_new_ones_oldest_first(tx: Tx) -> None:
    first = await messages.add_mo(tx, mo("102"))
    handled = await messages.add_mo(tx, mo("101"))
    half = await messages.add_mo(tx, mo("半条", source=OTHER, at=101.5, complete=False, too_long=True))
    await messages.finish_mo(tx, handled, [], now=102.0, effect=False)
    unanswered = await messages.unanswered_mos(tx)
    assert unanswered == [first, half]
    assert (unanswered[1].complete, unanswered[1].too_long) == (False, True)
    assert isinstance(unanswered[1].complete, bool)
    assert isinstance(unanswered[1].too_long, bool)


async def test_finish_mo_with_replies_marks_it_answered_and_queues_them_with_new_ids(tx: Tx) -> None:
    await tx.execute("INSERT INTO mt (source_addr, destination_addr, text, created_at) VALUES ('x', 'y', '', 1)")
    stored = await messages.add_mo(tx, mo("DGYW"))
    queued = await messages.finish_mo(tx, stored, [reply("确认订购？回复是"), reply("谢谢")], now=102.5, effect=True)
    assert queued == [
        OutboundMessage(id=2, source_addr="10086", destination_addr=SUBSCRIBER, text="确认订购？回复是"),
        OutboundMessage(id=3, source_addr="10086", destination_addr=SUBSCRIBER, text="谢谢"),
    ]
    assert await tx.fetch("SELECT status, handled_at, effect FROM mo") == [("answered", 102.5, 1)]
    assert await tx.fetch("SELECT id, mo_id, created_at, status FROM mt WHERE id > 1 ORDER BY id") == [
        (2, 1, 102.5, "queued"),
        (3, 1, 102.5, "queued"),
    ]


async def test_finish_mo_without_replies_marks_it_ignored(tx: Tx) -> None:
    stored = await messages.add_mo(tx, mo("你好"))
    assert await messages.finish_mo(tx, stored, [], now=103.0, effect=False) == []
    assert await tx.fetch("SELECT status, handled_at, effect FROM mo") == [("ignored", 103.0, 0)]
    assert await messages.queued_mts(tx) == []


async def test_drop_redelivery_and_forget_text(tx: Tx) -> None:
    secret = await messages.add_mo(tx, mo("MMCZ 123456 654321"))
    again = await messages.add_mo(tx, mo("MMCZ 123456 654321", redelivery_of=secret.id))
    await messages.forget_text(tx, secret)
    await messages.drop_redelivery(tx, again, now=104.0)
    assert await tx.fetch("SELECT id, text, status, handled_at, effect FROM mo ORDER BY id") == [
        (1, "", "new", None, 0),
        (2, "MMCZ 123456 654321", "duplicate", 104.0, 1),
    ]


async def test_acks_confirmed_marks_only_those_mos(tx: Tx) -> None:
    for text in ("1", "2", "3"):
        await messages.add_mo(tx, mo(text))
    await messages.acks_confirmed(tx, [1, 3])
    assert await tx.fetch("SELECT id, ack_confirmed FROM mo ORDER BY id") == [(1, 1), (2, 0), (3, 1)]


async def test_redelivered_only_when_the_first_had_an_effect_and_is_the_senders_last(tx: Tx) -> None:
    first = await messages.add_mo(tx, mo("是"))
    await messages.finish_mo(tx, first, [reply("订购成功")], now=101.0, effect=True)
    await messages.add_mo(tx, mo("102", source=OTHER))  # someone else's MO in between does not count
    again = await messages.add_mo(tx, mo("是", redelivery_of=first.id))
    assert await messages.redelivered(tx, again) is True

    later = await messages.add_mo(tx, mo("是", redelivery_of=first.id))  # `again` came between
    assert await messages.redelivered(tx, later) is False


async def test_not_redelivered_when_the_first_had_no_effect(tx: Tx) -> None:
    first = await messages.add_mo(tx, mo("102"))
    await messages.finish_mo(tx, first, [reply("余额10.00元")], now=101.0, effect=False)
    again = await messages.add_mo(tx, mo("102", redelivery_of=first.id))
    assert await messages.redelivered(tx, again) is False


async def test_recent_mos_are_the_unconfirmed_complete_ones_within_the_window_of_the_newest(tx: Tx) -> None:
    await messages.add_mo(tx, mo("too old", at=89.9))
    await messages.add_mo(tx, mo("edge", at=90.0))
    await messages.add_mo(tx, mo("half", at=95.0, complete=False))
    confirmed = await messages.add_mo(tx, mo("confirmed", at=96.0))
    await messages.add_mo(tx, mo("newest", source=OTHER, at=100.0))
    await messages.acks_confirmed(tx, [confirmed.id])
    assert await messages.recent_mos(tx, 10.0) == [(2, SUBSCRIBER, "10086", "edge"), (5, OTHER, "10086", "newest")]


async def test_recent_mos_of_the_instances_that_died_leave_out_those_of_the_ones_alive(ledger_at: str) -> None:
    db = await open_database(ledger_at)
    try:
        dead, alive = Tx(db, instance="dead"), Tx(db, instance="alive")
        await messages.add_mo(dead, mo("103", at=80.0))  # older than the window before the dead one's newest
        lost = await messages.add_mo(dead, mo("102", at=95.0))
        await messages.add_mo(alive, mo("101", source=OTHER, at=100.0))  # newer, but another's
        assert await messages.recent_mos(dead, 10.0, ["dead"]) == [(lost.id, SUBSCRIBER, "10086", "102")]
    finally:
        await db.close()


# --- MTs and receipts ----------------------------------------------------------------------------


async def test_queue_mt_returns_a_new_id_and_queued_mts_leaves_out_sent_and_failed(tx: Tx) -> None:
    push = await messages.queue_mt(tx, reply("您的余额不足5元"), now=60.0)
    sent = await add_sent_mt(tx, "已发送", ["a1"])
    failed = await messages.queue_mt(tx, reply("发送失败"), now=61.0)
    await messages.mt_failed(tx, failed.id, 0x58, now=62.0)
    assert push == OutboundMessage(id=1, source_addr="10086", destination_addr=SUBSCRIBER, text="您的余额不足5元")
    assert await messages.queued_mts(tx) == [push]
    assert await tx.fetch("SELECT id, mo_id, status, sent_at, command_status FROM mt ORDER BY id") == [
        (1, None, "queued", None, None),
        (sent, None, "sent", 51.0, 0),
        (3, None, "failed", 62.0, 0x58),
    ]


async def test_mts_sent_numbers_the_parts_and_a_second_report_replaces_their_ids(tx: Tx) -> None:
    mt_id = await add_sent_mt(tx, "长短信", ["a1", "a2"])
    await messages.mts_sent(tx, [(mt_id, ["b1", "b2", "b3"])], now=52.0)
    assert await tx.fetch("SELECT mt_id, seqno, message_id FROM mt_part ORDER BY seqno") == [
        (mt_id, 1, "b1"),
        (mt_id, 2, "b2"),
        (mt_id, 3, "b3"),
    ]
    assert await tx.fetch("SELECT status, sent_at FROM mt") == [("sent", 52.0)]


async def test_a_receipt_finds_its_mt_by_the_id_as_given(tx: Tx) -> None:
    mt_id = await add_sent_mt(tx, "余额10.00元", ["1a2b", "1a2c"])
    await messages.add_receipt(tx, ("1a2c", "1a2c", "6700"), "DELIVRD", now=70.0)
    assert await tx.fetch("SELECT message_id, stat, received_at, mt_id FROM receipt") == [
        ("1a2c", "DELIVRD", 70.0, mt_id)
    ]
    assert await tx.fetch("SELECT delivery_stat FROM mt") == [("DELIVRD",)]


async def test_a_receipt_in_decimal_finds_an_mt_sent_with_a_hex_id_and_the_other_way_round(tx: Tx) -> None:
    hex_sent = await add_sent_mt(tx, "hex", ["ff"])
    dec_sent = await add_sent_mt(tx, "dec", ["4096"])
    await messages.add_receipt(tx, ("255", "ff", "597"), "DELIVRD", now=70.0)  # 255 = 0xff
    await messages.add_receipt(tx, ("1000", "3e8", "4096"), "UNDELIV", now=71.0)  # 0x1000 = 4096
    assert await tx.fetch("SELECT message_id, mt_id FROM receipt ORDER BY id") == [
        ("255", hex_sent),
        ("1000", dec_sent),
    ]
    assert await tx.fetch("SELECT id, delivery_stat FROM mt ORDER BY id") == [
        (hex_sent, "DELIVRD"),
        (dec_sent, "UNDELIV"),
    ]


async def test_the_id_as_given_wins_over_its_other_readings(tx: Tx) -> None:
    as_decimal = await add_sent_mt(tx, "10", ["10"])  # hex "a" read as decimal; it sorts first in the index
    as_given = await add_sent_mt(tx, "a", ["a"])
    await messages.add_receipt(tx, ("a", "a", "10"), "DELIVRD", now=70.0)
    assert await tx.fetch("SELECT mt_id FROM receipt") == [(as_given,)]
    assert await tx.fetch("SELECT id, delivery_stat FROM mt ORDER BY id") == [(as_decimal, None), (as_given, "DELIVRD")]


async def test_a_message_id_the_smsc_used_twice_names_the_later_mt(tx: Tx) -> None:
    earlier = await add_sent_mt(tx, "first", ["abc"])
    later = await add_sent_mt(tx, "second", ["abc"])  # the SMSC's ids wrapped round
    await messages.add_receipt(tx, ("abc", "abc", "2748"), "DELIVRD", now=70.0)
    assert await tx.fetch("SELECT mt_id FROM receipt") == [(later,)]
    assert await tx.fetch("SELECT id, delivery_stat FROM mt ORDER BY id") == [(earlier, None), (later, "DELIVRD")]


async def test_a_receipt_for_no_known_mt_is_kept_and_marks_nothing(tx: Tx) -> None:
    await add_sent_mt(tx, "余额10.00元", ["1a2b"])
    await messages.add_receipt(tx, ("777", "309", "1911"), "EXPIRED", now=70.0)
    assert await tx.fetch("SELECT message_id, stat, mt_id FROM receipt") == [("777", "EXPIRED", None)]
    assert await tx.fetch("SELECT delivery_stat FROM mt") == [(None,)]
