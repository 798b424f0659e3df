"""What one sender can make the inbox hold or do, and that every deliver_sm gets a response (issue 13,
items 3, 7 and 8). Over real TCP through the simulator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from conftest import SUBSCRIBER, StartGateway
from support.storing import StoreMo, store_mos_through
from support.texts import HELP_10086, TEXT

from gateway.clock import ManualClock
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, EsmClass, Status, Tag
from gateway.smsc import SmscSimulator
from gateway.types import InboundMessage

NOW = 1_795_400_000.0
TOO_LONG = "您好，您发送的短信过长，无法办理，请发送业务代码，如发送102查询余额。"
INCOMPLETE = "您好，您发送的长短信没有收全，请重新发送。"
OTHER = "13900139000"


def raw_receipt(text: bytes, tlvs: tuple[tuple[int, bytes], ...] = ()) -> ShortMessage:
    return ShortMessage(
        source_addr=SUBSCRIBER,
        destination_addr="10086",
        esm_class=EsmClass.DELIVERY_RECEIPT,
        data_coding=DataCoding.SMSC_DEFAULT,
        short_message=text,
        tlvs=tlvs,
    )


# --- every deliver_sm gets a response -----------------------------------------------------------


@pytest.mark.parametrize(
    "receipt",
    [
        raw_receipt(b"id:\xb2 sub:001 dlvrd:001 submit date:2611231013 done date:2611231013 stat:DELIVRD err:000"),
        raw_receipt(b"stat:DELIVRD", ((Tag.receipted_message_id, b"\xb2\xb3\0"),)),
    ],
    ids=["in the text", "in the tlv"],
)
async def test_a_receipt_with_a_superscript_digit_for_an_id_is_acknowledged(
    sim: SmscSimulator, start_gateway: StartGateway, receipt: ShortMessage
) -> None:
    gateway = await start_gateway()
    assert await sim.send_deliver(receipt) == Status.ESME_ROK
    [(stat, mt_id)] = await gateway.store.fetch("SELECT stat, mt_id FROM receipt")
    assert (stat, mt_id) == ("DELIVRD", None)


async def test_a_deliver_sm_whose_handling_fails_is_answered_with_an_error_and_one_log_line(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway()
    store = gateway.store

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    store_mos_through(store, broken)
    store.add_receipt = broken  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="gateway")
    assert await sim.send_mo(SUBSCRIBER, "10001", "102", timeout=2) == [Status.ESME_RX_T_APPN]  # offer it later
    assert await sim.send_deliver(raw_receipt(b"id:1f stat:DELIVRD"), timeout=2) == Status.ESME_RSYSERR
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.getMessage(), r.__dict__["error"], r.__dict__["status"]) for r in failures] == [
        ("deliver_sm could not be handled", "RuntimeError: disk on fire", "ESME_RX_T_APPN"),
        ("deliver_sm could not be handled", "RuntimeError: disk on fire", "ESME_RSYSERR"),
    ]
    assert gateway.inbox.failed == 2


# --- concatenated MOs: how much is held ------------------------------------------------------------


async def test_parts_held_for_one_sender_are_capped_and_others_still_get_through(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    gateway = await start_gateway(gateway__max_parts_per_sender="4")
    for reference in (1, 2):  # two 3-part MOs whose third part never comes: 4 parts held
        assert await sim.send_mo(SUBSCRIBER, "10086", TEXT, drop_parts=(3,), reference=reference) == [0, 0]
    statuses = await sim.send_mo(SUBSCRIBER, "10086", TEXT, drop_parts=(3,), reference=3)
    assert statuses == [Status.ESME_RMSGQFUL] * 2  # refused for now: the SMSC offers them again later
    assert await sim.send_mo(OTHER, "10086", TEXT, reference=9) == [0, 0, 0]  # another sender is not held up
    [mt] = await sim.wait_for_mts(1)
    assert (mt.destination_addr, mt.text) == (OTHER, HELP_10086)
    assert await gateway.store.fetch("SELECT COUNT(*) FROM mo_part WHERE source_addr = ?", (SUBSCRIBER,)) == [(4,)]
    assert gateway.inbox.refused_parts == 2


async def test_parts_held_in_all_are_capped(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    await start_gateway(gateway__max_parts="3")
    assert await sim.send_mo(SUBSCRIBER, "10086", TEXT, drop_parts=(3,), reference=1) == [0, 0]
    assert await sim.send_mo(OTHER, "10086", TEXT, drop_parts=(3,), reference=1) == [0, Status.ESME_RMSGQFUL]


async def test_a_joined_mo_longer_than_the_cap_is_answered_too_long_once(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    gateway = await start_gateway(gateway__max_mo_octets="200")
    # 3 UCS2 parts of at most 134 octets: the second one passes 200 octets, the set is closed there
    assert await sim.send_mo(SUBSCRIBER, "10086", TEXT, reference=5) == [0, 0, 0]
    [mt] = await sim.wait_for_mts(1)
    await asyncio.sleep(0.3)
    assert (mt.text, len(sim.mts)) == (TOO_LONG, 1)
    [(text, too_long, status)] = await gateway.store.fetch("SELECT text, too_long, status FROM mo")
    assert (len(text) <= 200, too_long, status) == (True, 1, "answered")
    assert await gateway.store.fetch("SELECT COUNT(*) FROM mo_part") == [(0,)]


async def test_one_mo_of_60_kb_is_stored_cut_and_answered_too_long(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    gateway = await start_gateway()
    assert await sim.send_mo(SUBSCRIBER, "10086", "话" * 30_000, concat="payload") == [0]  # message_payload
    [mt] = await sim.wait_for_mts(1)
    assert mt.text == TOO_LONG
    assert await gateway.store.fetch("SELECT length(text), too_long FROM mo") == [(1600, 1)]


async def test_sets_that_never_complete_give_one_notice_per_sender_per_window(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    clock = ManualClock(NOW)
    gateway = await start_gateway(clock=clock, gateway__reassembly_timeout="5")
    for reference in (1, 2, 3):
        assert await sim.send_mo(SUBSCRIBER, "10086", TEXT, drop_parts=(3,), reference=reference) == [0, 0]
    clock.advance(6)
    [mt] = await sim.wait_for_mts(1, timeout=5)
    assert mt.text == INCOMPLETE
    async with asyncio.timeout(5):
        while await gateway.store.fetch("SELECT COUNT(*) FROM mo WHERE status = 'new'") != [(0,)]:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert len(sim.mts) == 1
    assert await gateway.store.fetch("SELECT complete, status FROM mo") == [(0, "answered"), *[(0, "ignored")] * 2]


# --- a flood of one text from one number ------------------------------------------------------------


async def test_copies_of_one_text_on_one_connection_are_stored_side_by_side(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    """5,000 identical 102s once took 47.9 s to acknowledge: each waited for the one before it to be
    stored. On one connection no copy can be the SMSC's second delivery of another, so none waits."""
    gateway = await start_gateway()
    storing = busiest = 0

    async def counted(mo: InboundMessage, store: StoreMo) -> InboundMessage:
        nonlocal storing, busiest
        storing += 1
        busiest = max(busiest, storing)
        try:
            await asyncio.sleep(0.05)
            return await store(mo)
        finally:
            storing -= 1

    store_mos_through(gateway.store, counted)
    statuses = await asyncio.gather(*(sim.send_mo(SUBSCRIBER, "10001", "102") for _ in range(40)))
    assert statuses == [[Status.ESME_ROK]] * 40
    assert busiest >= 20  # before: 1


async def test_an_answer_that_cannot_be_sent_does_not_hold_up_the_senders_next_mo(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer is committed, then handing it to the link fails: logged, and the subscriber's next MO is
    still answered (its dispatcher queue goes on). The first answer stays queued in the outbox."""
    gateway = await start_gateway()
    send = gateway.outbox.send
    calls = 0

    def failing_once(mt: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("link adapter broke")
        send(mt)

    gateway.outbox.send = failing_once  # type: ignore[method-assign]
    caplog.set_level(logging.ERROR, logger="gateway")
    assert await sim.send_mo(SUBSCRIBER, "10086", "hello") == [Status.ESME_ROK]
    assert await sim.send_mo(SUBSCRIBER, "10086", "hello again") == [Status.ESME_ROK]
    [mt] = await sim.wait_for_mts(1, timeout=5)
    assert (mt.destination_addr, mt.text) == (SUBSCRIBER, HELP_10086)
    assert calls == 2
    assert await gateway.store.fetch("SELECT text, status FROM mo ORDER BY id") == [
        ("hello", "answered"),
        ("hello again", "answered"),
    ]
    for _ in range(100):  # the second is marked sent in a commit after its submit_sm_resp
        if await gateway.store.fetch("SELECT status FROM mt ORDER BY id") == [("queued",), ("sent",)]:
            break
        await asyncio.sleep(0.02)
    assert await gateway.store.fetch("SELECT status FROM mt ORDER BY id") == [("queued",), ("sent",)]
    assert "link adapter broke" in caplog.text
