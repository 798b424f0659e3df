"""Exactly once: a confirmation is charged and answered once across a lost acknowledgement and a crash."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from conftest import SUBSCRIBER, StartGateway
from support.exactly_once import seed, wait_recorded_sent, wait_submits
from support.process import gateway_env, spawn

from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.smpp.constants import Status
from gateway.smsc import SmscSimulator

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 in Shanghai: half a month's fee
PROMPT = (
    "您好，您将订购GPRS10元包，月费10.00元，含国内流量70.00MB。本月16日（含）后订购，本月按半月收取5.00元，"
    "含国内流量35.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
DONE = "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额53.90元。"


async def ledger(path: Path) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    db = await open_database(str(path))
    try:
        fees = [tuple(r) for r in await db.fetch("SELECT product, amount FROM fee")]
        cash = [tuple(r) for r in await db.fetch("SELECT cash, gift FROM account")]
    finally:
        await db.close()
    return fees, cash


async def test_a_confirmation_delivered_again_after_its_ack_was_lost_is_charged_and_answered_once(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW))
    await sim.send_mo(SUBSCRIBER, "10086", "KTGPRS10")
    [prompt] = await sim.wait_for_mts(1)
    assert prompt.text == PROMPT
    sim.faults.hold_submits = True  # nothing the gateway writes after its ack gets answered...
    before = sim.submits  # the prompt's parts
    assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]
    await wait_submits(sim, before + 1)
    await sim.drop_connections()  # ...so it cannot know the SMSC read the ack before the link went
    sim.faults.hold_submits = False
    await sim.wait_bound(5)
    assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]  # the SMSC delivers it again
    mts = await sim.wait_for_mts(2, timeout=5)
    await asyncio.sleep(0.5)
    assert [mt.text for mt in sim.mts] == [PROMPT, DONE] == [mt.text for mt in mts]
    assert gateway.deduplicated == 1
    assert await gateway.store.fetch("SELECT id, text, status, redelivery_of FROM mo") == [
        (1, "KTGPRS10", "answered", None),
        (2, "是", "answered", None),
        (3, "是", "duplicate", 2),  # kept, marked as the second delivery of MO 2, not handled
    ]
    assert await gateway.store.fetch("SELECT product, amount FROM fee") == [("GPRS10", 500)]


async def test_a_subscriber_who_really_sends_the_same_code_twice_gets_two_answers(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW))
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    first, second = await sim.wait_for_mts(2)
    assert (
        first.text
        == second.text
        == "您好，您的账户余额为58.90元，其中现金余额58.90元，赠送余额0.00元；可用余额58.90元。"
    )
    assert gateway.deduplicated == 0


async def test_sigkill_between_the_confirmation_and_its_answer_charges_and_answers_once(
    sim: SmscSimulator, tmp_path: Path
) -> None:
    await seed(tmp_path / "gateway.db")
    # The process runs on the system clock: the prompt's proration depends on today, so only its
    # start is checked; the charge and the answer are read back from the ledger and the simulator.
    env = gateway_env(tmp_path, sim.port)
    process = await spawn(env)
    try:
        await sim.wait_bound(10)
        await sim.send_mo(SUBSCRIBER, "10086", "KTGPRS10")
        [prompt] = await sim.wait_for_mts(1)
        assert prompt.text.startswith("您好，您将订购GPRS10元包，月费10.00元")
        await wait_recorded_sent(tmp_path / "gateway.db", 1)  # the prompt is not the answer this test is about
        sim.faults.hold_submits = True
        before = sim.submits  # the prompt's parts (one or two: its length depends on the day)
        assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]
        await wait_submits(sim, before + 1)  # charged, committed, answer on the wire but not acknowledged
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    sim.faults.hold_submits = False
    restarted = await spawn(env)
    try:
        await sim.wait_bound(10)
        assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]  # redelivered after the crash
        [_, done] = await sim.wait_for_mts(2, timeout=10)
        await asyncio.sleep(0.5)
        assert len(sim.mts) == 2, [(mt.text, mt.received_at) for mt in sim.mts]
        assert done.text.startswith("您好，您已成功订购GPRS10元包，本次扣费")
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 10) == 0
    fees, accounts = await ledger(tmp_path / "gateway.db")
    assert len(fees) == 1 and fees[0][0] == "GPRS10"
    assert accounts == [(5890 - fees[0][1], 0)]


async def test_after_a_crash_a_real_repeat_of_an_answered_mo_is_answered_again(
    sim: SmscSimulator, tmp_path: Path
) -> None:
    """The first 102's acknowledgement was surely read (the SMSC answered the answer's submit_sm, written
    after it), so after a SIGKILL the same text again is a new MO, not a redelivery: it gets its answer."""
    await seed(tmp_path / "gateway.db")
    env = gateway_env(tmp_path, sim.port)
    process = await spawn(env)
    try:
        await sim.wait_bound(10)
        assert await sim.send_mo(SUBSCRIBER, "10001", "102") == [Status.ESME_ROK]
        [first] = await sim.wait_for_mts(1)
        await asyncio.sleep(0.5)  # the confirmation is recorded in the next commit
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    restarted = await spawn(env)
    try:
        await sim.wait_bound(10)
        assert await sim.send_mo(SUBSCRIBER, "10001", "102") == [Status.ESME_ROK]
        [_, again] = await sim.wait_for_mts(2, timeout=10)
        assert again.text == first.text
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 10) == 0
