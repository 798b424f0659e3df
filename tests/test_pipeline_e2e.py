"""End to end over real TCP: simulator ↔ gateway, MO in, answer out, with the SMSC's faults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import SUBSCRIBER, StartGateway
from support.texts import HELP_10086

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, Status
from gateway.smsc import SmscSimulator

HELP_10001 = (
    "您好，欢迎使用10001短信营业厅。请回复以下代码：101当月话费，102账户余额，103上月账单，104历史账单，"
    "105积分查询，108流量查询，110缴费记录，501当前套餐，502改密码，503重置密码，0000已订业务，0退订业务。"
)
NOT_A_SUBSCRIBER = "您好，您的号码不是本网用户，无法办理此项查询。"
INCOMPLETE = "您好，您发送的长短信没有收全，请重新发送。"


async def rows(gateway: Gateway, sql: str) -> list[tuple[object, ...]]:
    return await gateway.store.fetch(sql)


async def test_ascii_mo_gets_the_help_answer_split_in_two_ucs2_parts(sim: SmscSimulator, gateway: Gateway) -> None:
    assert await sim.send_mo(SUBSCRIBER, "10001", "hello") == [Status.ESME_ROK]
    [mt] = await sim.wait_for_mts(1)
    assert (mt.source_addr, mt.destination_addr, mt.text) == ("10001", SUBSCRIBER, HELP_10001)
    assert mt.parts == 2
    assert mt.data_coding == DataCoding.UCS2


async def test_chinese_mo_to_10001_is_answered_from_the_10001_catalog(sim: SmscSimulator, gateway: Gateway) -> None:
    assert await sim.send_mo(SUBSCRIBER, "10001", "查询话费") == [Status.ESME_ROK]
    [mt] = await sim.wait_for_mts(1)
    assert (mt.source_addr, mt.text) == ("10001", HELP_10001)
    assert await rows(gateway, "SELECT text, status FROM mo") == [("查询话费", "answered")]


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
async def test_empty_or_blank_mo_gets_help_not_silence(sim: SmscSimulator, gateway: Gateway, text: str) -> None:
    await sim.send_mo(SUBSCRIBER, "10086", text)
    [mt] = await sim.wait_for_mts(1)
    assert mt.text == HELP_10086


@pytest.mark.parametrize("long_messages", ["udh8", "udh16", "sar"])
async def test_long_reply_reassembles_to_the_exact_text(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path, long_messages: str
) -> None:
    long_help = "尊敬的客户🙂，" * 40 + "{name}：{codes}"
    templates = tmp_path / "long.toml"
    templates.write_text(
        (Path(__file__).parent.parent / "config/templates/zh-CN.toml")
        .read_text(encoding="utf-8")
        .replace('help = "您好，欢迎使用{name}。请回复以下代码：{codes}。"', f'help = "{long_help}"'),
        encoding="utf-8",
    )
    await start_gateway(gateway__templates=str(templates), smpp__long_messages=long_messages)
    await sim.send_mo(SUBSCRIBER, "10001", "?")
    [mt] = await sim.wait_for_mts(1)
    expected = "尊敬的客户🙂，" * 40 + (
        "10001短信营业厅：101当月话费，102账户余额，103上月账单，104历史账单，105积分查询，108流量查询，"
        "110缴费记录，501当前套餐，502改密码，503重置密码，0000已订业务，0退订业务"
    )
    assert mt.text == expected
    assert mt.parts == 7  # 424 UTF-16 units at 67 (66 for udh16) per part


async def test_concatenated_mo_is_answered_once(sim: SmscSimulator, gateway: Gateway) -> None:
    text = "请问怎么查询本月的话费和流量？" * 12
    statuses = await sim.send_mo(SUBSCRIBER, "10086", text, concat="udh8")
    assert statuses == [Status.ESME_ROK] * 3
    [mt] = await sim.wait_for_mts(1)
    assert mt.text == HELP_10086
    assert await rows(gateway, "SELECT text, complete FROM mo") == [(text, 1)]
    assert await rows(gateway, "SELECT COUNT(*) FROM mo_part") == [(0,)]


async def test_ten_part_mo_with_a_part_missing_is_answered_after_the_reassembly_timeout(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    clock = ManualClock(1_795_000_000.0)
    gateway = await start_gateway(clock=clock)
    text = "长" * 660  # 10 UCS2 parts of 67 units
    statuses = await sim.send_mo(SUBSCRIBER, "10086", text, concat="sar", drop_parts=[7])
    assert statuses == [Status.ESME_ROK] * 9
    await asyncio.sleep(1.5)
    assert sim.mts == []  # still waiting for part 7
    assert await rows(gateway, "SELECT COUNT(*) FROM mo_part") == [(9,)]
    clock.advance(61)
    [mt] = await sim.wait_for_mts(1, timeout=5)
    assert mt.text == INCOMPLETE
    assert await rows(gateway, "SELECT complete, length(text) FROM mo") == [(0, 660 - 67)]


async def test_unknown_service_number_is_acknowledged_logged_and_not_answered(
    sim: SmscSimulator, gateway: Gateway
) -> None:
    assert await sim.send_mo(SUBSCRIBER, "12345", "102") == [Status.ESME_ROK]
    await asyncio.sleep(0.5)
    assert sim.mts == []
    assert await rows(gateway, "SELECT destination_addr, status FROM mo") == [("12345", "ignored")]


async def test_delivery_receipt_is_matched_by_hex_or_decimal_id(sim: SmscSimulator, gateway: Gateway) -> None:
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await sim.send_mo("13900139000", "10001", "102")
    first, second = await sim.wait_for_mts(2)
    await asyncio.sleep(0.2)  # the gateway records the message ids after the submit_sm_resp
    assert await sim.send_receipt(first.message_ids[0], stat="DELIVRD", id_format="decimal") == Status.ESME_ROK
    assert await sim.send_receipt(second.message_ids[0], stat="UNDELIV", id_format="hex") == Status.ESME_ROK
    await asyncio.sleep(0.3)
    assert await rows(gateway, "SELECT destination_addr, status, delivery_stat FROM mt ORDER BY id") == [
        (first.destination_addr, "sent", "DELIVRD"),
        (second.destination_addr, "sent", "UNDELIV"),
    ]


async def test_throttled_submits_are_retried_and_every_mo_answered_once(sim: SmscSimulator, gateway: Gateway) -> None:
    sim.faults.throttle_every = 5
    senders = [f"1390000{n:04d}" for n in range(20)]
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in senders))
    mts = await sim.wait_for_mts(20, timeout=10)
    assert sorted(mt.destination_addr for mt in mts) == sorted(senders)
    assert {mt.text for mt in mts} == {NOT_A_SUBSCRIBER}
    assert gateway.link.throttled >= 4
    await asyncio.sleep(0.3)
    assert len(sim.mts) == 20


async def test_permanent_refusal_marks_the_mt_failed(sim: SmscSimulator, gateway: Gateway) -> None:
    sim.faults.reject_status = Status.ESME_RINVDSTADR
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await asyncio.sleep(0.5)
    assert await rows(gateway, "SELECT status, command_status FROM mt") == [("failed", Status.ESME_RINVDSTADR)]
    assert sim.mts == []


async def test_smsc_vanishing_mid_window_loses_nothing(sim: SmscSimulator, gateway: Gateway) -> None:
    sim.faults.hold_submits = True
    senders = [f"1370000{n:04d}" for n in range(10)]
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in senders))
    async with asyncio.timeout(5):
        while sim.submits < 10:  # 10 single-part MTs, all unanswered
            await asyncio.sleep(0.02)
    assert gateway.link.in_flight == 10
    sim.faults.hold_submits = False
    await sim.drop_connections()
    mts = await sim.wait_for_mts(10, timeout=10)
    assert sorted(mt.destination_addr for mt in mts) == sorted(senders)
    await asyncio.sleep(0.3)
    assert len(sim.mts) == 10
    assert gateway.link.reconnects >= 1


async def test_refused_binds_are_retried_with_backoff(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    sim.faults.refuse_binds = 3
    gateway = await start_gateway(wait_bound=False)
    await gateway.link.wait_bound(5.0)
    assert sim.bind_attempts == 4
    assert gateway.link.last_bind_error == "ESME_RINVPASWD"
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await sim.wait_for_mts(1)


async def test_garbage_from_the_smsc_is_nacked_and_the_link_stays_up(sim: SmscSimulator, gateway: Gateway) -> None:
    # A well-framed PDU with an unknown command id, then one whose body does not decode.
    await sim.send_garbage(bytes.fromhex("00000010000000ff0000000000000007"))
    await sim.send_garbage(bytes.fromhex("0000001400000005000000000000000841424344"))
    await asyncio.sleep(0.3)
    assert sim.generic_nacks_received == 2
    assert gateway.link.reconnects == 0
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await sim.wait_for_mts(1)


async def test_broken_framing_resets_the_link_and_it_recovers(sim: SmscSimulator, gateway: Gateway) -> None:
    await sim.send_garbage(b"\xff\xff\xff\xff garbage")
    async with asyncio.timeout(5):
        while gateway.link.reconnects < 1 or not gateway.link.bound:
            await asyncio.sleep(0.02)
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await sim.wait_for_mts(1)


async def test_enquire_link_from_the_smsc_is_answered(sim: SmscSimulator, gateway: Gateway) -> None:
    await sim.send_enquire_link()
    await asyncio.sleep(0.2)
    assert gateway.link.reconnects == 0
    assert gateway.link.bound


async def test_transmitter_and_receiver_binds(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    await start_gateway(smpp__bind_mode="tx_rx")
    await sim.wait_bound(count=2)
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    [mt] = await sim.wait_for_mts(1)
    assert mt.text == NOT_A_SUBSCRIBER


async def test_stop_drains_the_window_then_unbinds(
    sim: SmscSimulator, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.respond_delay = 0.3
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    async with asyncio.timeout(5):
        while sim.submits < 1:
            await asyncio.sleep(0.01)
    await gateway.stop()
    assert len(sim.mts) == 1  # the in-flight parts were answered before the unbind
    assert "window did not drain" not in caplog.text  # it drained on the answer, not on the timeout
    assert sim.received_unbinds == 1
    assert await rows_after_stop(gateway) == [("sent",)]


async def rows_after_stop(gateway: Gateway) -> list[tuple[object, ...]]:
    import aiosqlite

    async with aiosqlite.connect(gateway.config.resolve(gateway.config.ledger.path)) as db:
        return [tuple(r) for r in await db.execute_fetchall("SELECT status FROM mt")]


async def test_raw_deliver_sm_with_message_payload(sim: SmscSimulator, gateway: Gateway) -> None:
    payload = "查余额".encode("utf-16-be")
    status = await sim.send_deliver(
        ShortMessage(
            source_addr=SUBSCRIBER,
            destination_addr="10001",
            data_coding=DataCoding.UCS2,
            tlvs=((0x0424, payload),),
        )
    )
    assert status == Status.ESME_ROK
    await sim.wait_for_mts(1)
    assert await rows(gateway, "SELECT text FROM mo") == [("查余额",)]


async def test_held_submits_expire_and_go_again_without_a_reset(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    """The SMSC answers the enquire_link but holds the submit_sm: the copy expires, the link stays, the part
    goes again, and the first copy answered settles it."""
    gateway = await start_gateway(smpp__response_timeout="0.3")
    sim.faults.hold_submits = True
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    async with asyncio.timeout(5):
        while gateway.link.expired < 1:
            await asyncio.sleep(0.01)
    sim.faults.hold_submits = False
    [mt] = await sim.wait_for_mts(1, timeout=5)
    assert mt.text == NOT_A_SUBSCRIBER
    await asyncio.sleep(0.3)
    assert len(sim.mts) == 1
    assert (gateway.link.reconnects, gateway.link.given_up, gateway.link.bound) == (0, 0, True)
    assert gateway.link.submitted == sim.submits == gateway.link.expired + 1
    assert await rows(gateway, "SELECT status FROM mt") == [("sent",)]


async def test_a_submit_never_answered_goes_again_three_times_then_fails(
    sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    """One destination's submit_sm are swallowed (never answered) while the others' go through: each copy
    expires alone, the link stays bound, the part is sent 1 + smpp.max_resends (3) times and then its MT
    fails with ESME_RSUBMITFAIL; the other MTs are sent."""
    gateway = await start_gateway(smpp__response_timeout="0.3")
    others = [f"1370000{n:04d}" for n in range(8)]
    sim.faults.swallow_to = SUBSCRIBER
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    for sender in others:  # the others' answers flow while the swallowed part waits and goes again
        await sim.send_mo(sender, "10001", "102")
        await sim.wait_for_mts(others.index(sender) + 1)
        await asyncio.sleep(0.1)
    async with asyncio.timeout(5):
        while gateway.outbox.failed < 1:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # time for a copy too many
    assert sim.swallowed == 4
    assert sorted(mt.destination_addr for mt in sim.mts) == others
    assert sim.submits == 4 + len(others)
    link = gateway.link
    assert (link.expired, link.given_up, link.reconnects, link.in_flight, link.bound) == (4, 1, 0, 0, True)
    assert await rows(gateway, "SELECT destination_addr, status, command_status FROM mt ORDER BY id") == [
        (SUBSCRIBER, "failed", Status.ESME_RSUBMITFAIL),
        *((sender, "sent", Status.ESME_ROK) for sender in others),
    ]
    assert gateway.outbox.depth == 0


async def test_tps_limit_counts_every_part(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    gateway = await start_gateway(smpp__tps="20")
    await asyncio.gather(*(sim.send_mo(f"1380000{n:04d}", "10001", "?") for n in range(5)))  # help: 2 parts each
    mts = await sim.wait_for_mts(5, timeout=10)
    assert [mt.parts for mt in mts] == [2] * 5
    # 10 PDUs at 20/s after a burst of 2: the first MT is whole after its 2nd PDU, the last after the
    # 10th, which cannot leave sooner than 8 / 20 s after the 2nd. A busy machine only adds to this.
    assert mts[-1].received_at - mts[0].received_at >= 0.35
    assert gateway.link.throttled == 0


async def test_stop_sends_what_is_queued_before_unbinding(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    gateway = await start_gateway(smpp__window="1")
    sim.faults.respond_delay = 0.1
    senders = [f"1350000{n:04d}" for n in range(4)]
    await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in senders))
    async with asyncio.timeout(5):
        while sim.submits < 1:
            await asyncio.sleep(0.01)
    await gateway.stop()  # one part in the window, three queued behind it
    assert sorted(mt.destination_addr for mt in sim.mts) == senders
    assert sim.received_unbinds == 1
