"""Which copies are taken for the SMSC's second delivery after a link drop, and which are new MOs.

Each case reproduces a defect found from outside (issue 13, items 1 and 2): a genuine MO was
acknowledged and then silently dropped because it had the same text as one whose acknowledgement was
not confirmed when the link went. Over real TCP through the simulator; the ledger is read back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import SUBSCRIBER, StartGateway
from support.exactly_once import seed, wait_submits
from support.storing import StoreMo, store_mos_through

from gateway.clock import ManualClock
from gateway.redelivery import Redeliveries
from gateway.smpp.constants import Status
from gateway.smsc import SmscSimulator
from gateway.types import InboundMessage

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 in Shanghai: half a month's fee
BALANCE = "您好，您的账户余额为58.90元，其中现金余额58.90元，赠送余额0.00元；可用余额58.90元。"
PROMPT_20 = (
    "您好，您将订购GPRS20元包，月费20.00元，含国内流量150.00MB。本月16日（含）后订购，本月按半月收取10.00元，"
    "含国内流量75.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
DONE_20 = "您好，您已成功订购GPRS20元包，本次扣费10.00元，当前余额48.90元。"
PROMPT_50 = (
    "您好，您将订购GPRS50元包，月费50.00元，含国内流量500.00MB。本月16日（含）后订购，本月按半月收取25.00元，"
    "含国内流量250.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
DONE_50 = "您好，您已成功订购GPRS50元包，本次扣费25.00元，当前余额23.90元。"


async def drop_with_ack_unconfirmed(sim: SmscSimulator, text: str, service_number: str) -> None:
    """Send ``text`` with the SMSC answering nothing after its acknowledgement, then drop the link once its
    answer is on the wire: the gateway wrote the ack but cannot know it was read. The held answer is resent
    after the rebind."""
    sim.faults.hold_submits = True
    before = sim.submits  # an earlier answer may have had several parts
    assert await sim.send_mo(SUBSCRIBER, service_number, text) == [Status.ESME_ROK]
    await wait_submits(sim, before + 1)
    await sim.drop_connections()
    sim.faults.hold_submits = False
    await sim.wait_bound(5)


async def test_a_yes_to_a_new_order_after_a_drop_is_not_taken_for_the_old_yes(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    """KTGPRS20 → 是 (ack unconfirmed, link dropped) → 40 s later KTGPRS50 → 是: both ordered, all answered."""
    await seed(tmp_path / "gateway.db")
    clock = ManualClock(NOW)
    gateway = await start_gateway(clock=clock)
    await sim.send_mo(SUBSCRIBER, "10086", "KTGPRS20")
    await sim.wait_for_mts(1)
    await drop_with_ack_unconfirmed(sim, "是", "10086")
    await sim.wait_for_mts(2, timeout=5)  # the confirmation, resent after the rebind
    clock.advance(40)
    assert await sim.send_mo(SUBSCRIBER, "10086", "KTGPRS50") == [Status.ESME_ROK]
    await sim.wait_for_mts(3, timeout=5)
    assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]
    await sim.wait_for_mts(4, timeout=5)
    await asyncio.sleep(0.3)
    assert [mt.text for mt in sim.mts] == [PROMPT_20, DONE_20, PROMPT_50, DONE_50]
    assert await gateway.store.fetch("SELECT product, amount FROM fee ORDER BY id") == [
        ("GPRS20", 1000),
        ("GPRS50", 2500),
    ]
    assert await gateway.store.fetch("SELECT cash FROM account") == [(2390,)]
    assert gateway.deduplicated == 0


async def test_the_same_yes_right_after_the_rebind_is_the_redelivery(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    """The other side of the rule: the same 是 as the sender's next MO is the SMSC delivering it again."""
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW))
    await sim.send_mo(SUBSCRIBER, "10086", "KTGPRS20")
    await sim.wait_for_mts(1)
    await drop_with_ack_unconfirmed(sim, "是", "10086")
    assert await sim.send_mo(SUBSCRIBER, "10086", "是") == [Status.ESME_ROK]
    await sim.wait_for_mts(2, timeout=5)
    await asyncio.sleep(0.5)
    assert [mt.text for mt in sim.mts] == [PROMPT_20, DONE_20]
    assert await gateway.store.fetch("SELECT product, amount FROM fee") == [("GPRS20", 1000)]
    assert gateway.deduplicated == 1


async def test_a_query_repeated_20_s_after_a_drop_is_answered_again(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await seed(tmp_path / "gateway.db")
    clock = ManualClock(NOW)
    gateway = await start_gateway(clock=clock)
    await drop_with_ack_unconfirmed(sim, "102", "10001")
    await sim.wait_for_mts(1, timeout=5)
    clock.advance(20)
    assert await sim.send_mo(SUBSCRIBER, "10001", "102") == [Status.ESME_ROK]
    await sim.wait_for_mts(2, timeout=5)
    assert [mt.text for mt in sim.mts] == [BALANCE, BALANCE]
    assert await gateway.store.fetch("SELECT id, status, redelivery_of FROM mo") == [
        (1, "answered", None),
        (2, "answered", 1),  # perhaps the SMSC's second delivery: a query is answered all the same
    ]
    assert gateway.deduplicated == 0


async def test_an_mo_whose_ack_was_never_written_is_dropped_when_it_comes_again(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    """The SMSC surely delivers again what it never got an acknowledgement for: one answer, not two."""
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW))
    stored = asyncio.Event()

    async def then_drop(mo: InboundMessage, store: StoreMo) -> InboundMessage:
        kept = await store(mo)
        await sim.drop_connections()  # the link goes before the ack can be written
        await asyncio.sleep(0.1)
        stored.set()
        return kept

    restore = store_mos_through(gateway.store, then_drop)
    first = asyncio.create_task(sim.send_mo(SUBSCRIBER, "10001", "102"))
    await stored.wait()
    restore()
    await asyncio.gather(first, return_exceptions=True)
    await sim.wait_bound(5)
    assert await sim.send_mo(SUBSCRIBER, "10001", "102") == [Status.ESME_ROK]
    [mt] = await sim.wait_for_mts(1, timeout=5)
    await asyncio.sleep(0.5)
    assert (mt.text, len(sim.mts)) == (BALANCE, 1)
    assert gateway.inbox.deduplicated == 1
    assert await gateway.store.fetch("SELECT id, status FROM mo") == [(1, "answered")]


# --- the bookkeeping itself -------------------------------------------------------------------------


A = ("13800138000", "10086", "是")
B = ("13800138000", "10086", "KTGPRS50")
OTHER = ("13900139000", "10086", "是")


def test_an_expectation_is_met_once() -> None:
    r = Redeliveries(window=30.0)
    r.expect(A, 7, 0.0, sure=False)
    found = r.arrived(A)
    assert found is not None and (found.mo_id, found.sure) == (7, False)
    assert r.arrived(A) is None


def test_the_senders_next_mo_with_other_content_ends_its_expectations_only() -> None:
    r = Redeliveries(window=30.0)
    r.expect(A, 1, 0.0, sure=True)
    r.expect(OTHER, 2, 0.0, sure=True)
    assert r.arrived(B) is None  # newer than anything the SMSC had to deliver again
    assert r.arrived(A) is None
    found = r.arrived(OTHER)
    assert found is not None and found.mo_id == 2


def test_expectations_run_out_a_window_after_the_rebind_not_while_unbound() -> None:
    r = Redeliveries(window=30.0)
    r.expect(A, 1, 100.0, sure=False)
    r.link_bound(False, 100.0)
    r.expire(1000.0)
    assert len(r) == 1  # the link was down all along: the SMSC could not deliver it again yet
    r.link_bound(True, 1000.0)
    r.expire(1029.0)
    assert len(r) == 1
    r.expire(1030.0)
    assert len(r) == 0


def test_a_write_that_failed_once_stays_sure() -> None:
    r = Redeliveries(window=30.0)
    r.expect(A, 1, 0.0, sure=True)
    r.expect(A, 1, 1.0, sure=False)  # the copy's ack was dropped as well: still the same MO
    found = r.arrived(A)
    assert found is not None and found.sure
