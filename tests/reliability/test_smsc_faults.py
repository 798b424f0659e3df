"""The SMSC misbehaves in the middle of a burst of MOs; once it stops, the gateway has recovered by itself
and nothing was lost or done twice.

Each test seeds a ledger, binds a gateway to the simulator, and sends the same burst (51 MOs from seven
subscribers: balance and help queries typed in different ways, and two orders with their confirmation)
while one fault is injected: binds refused, the link dropped with submits in the window, every 5th
submit throttled, slow submit_sm_resp (within and beyond ``smpp.response_timeout``: beyond it, each
submit_sm expires alone and the link stays), generic_nack for submits (the simulator has no such fault:
the test swaps its submit_sm handler), garbage on the link. The simulator plays a real SMSC's part: an
MO whose deliver_sm_resp did not come back (the connection went away) is delivered again once the
gateway has bound again.

Then: every MO is answered with the right text, once (at the SMSC; in the ledger, also when a late
submit_sm_resp made the gateway send an accepted part again) except a query delivered again after an
acknowledgement the gateway wrote but could not see read, which is answered again; the link is bound, its
counters moved as the fault says, and each order charged once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from support.storing import StoreMo, store_mos_through

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smpp.codec import Pdu, encode_pdu
from gateway.smpp.constants import CommandId, Status
from gateway.smsc import SmscSimulator
from gateway.smsc import core as smsc_core
from gateway.types import InboundMessage

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai: an order today costs half the month

StartGateway = Callable[..., Awaitable[Gateway]]

BALANCE = "您好，您的账户余额为50.00元，其中现金余额50.00元，赠送余额0.00元；可用余额50.00元。"
HELP_10086 = (
    "您好，欢迎使用中国移动10086短信营业厅。请回复以下代码：CXYE查余额，CXHF查话费，CXLL查流量，"
    "KTGPRS10订10元流量包，0000查询退订业务，502改密码，503重置密码。"
)
HELP_10001 = (
    "您好，欢迎使用10001短信营业厅。请回复以下代码：101当月话费，102账户余额，103上月账单，104历史账单，"
    "105积分查询，108流量查询，110缴费记录，501当前套餐，502改密码，503重置密码，0000已订业务，0退订业务。"
)
ORDER_PROMPT = (
    "您好，您将订购GPRS10元包，月费10.00元，含国内流量70.00MB。本月16日（含）后订购，本月按半月收取5.00元，"
    "含国内流量35.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
ORDER_DONE = "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额45.00元。"

# Each subscriber's MOs differ in their text (not in their code), so that none of them is mistaken for
# an SMSC's redelivery of an earlier one whose acknowledgement was lost with the link (docs/dialogs.md).
QUERIES = [
    ("10001", "102", BALANCE),
    ("10001", " 102", BALANCE),
    ("10001", "１０２", BALANCE),
    ("10086", "CXYE", BALANCE),
    ("10086", "cxye", BALANCE),
    ("10086", "102", BALANCE),
    ("10086", "?", HELP_10086),  # two UCS2 parts
    ("10001", "hello", HELP_10001),  # two UCS2 parts
    ("10001", "102 ", BALANCE),
]
ORDER = [
    ("10086", "KTGPRS10", ORDER_PROMPT),
    ("10086", "是", ORDER_DONE),
    ("10086", "help", HELP_10086),
]
ASKERS = [f"1380000{n:04d}" for n in range(5)]
BUYERS = ["13900000001", "13900000002"]
SCRIPTS = {**{msisdn: QUERIES for msisdn in ASKERS}, **{msisdn: ORDER for msisdn in BUYERS}}
TOTAL = sum(len(script) for script in SCRIPTS.values())  # 51 MOs, 51 answers
PARTS = TOTAL + sum(answer in (HELP_10001, HELP_10086, ORDER_PROMPT) for s in SCRIPTS.values() for *_, answer in s)
"""submit_sm PDUs the answers take: the help answers and the order prompt have two UCS2 parts."""


@pytest.fixture
async def env(sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path) -> AsyncIterator[Env]:
    db = await open_database(str(tmp_path / "gateway.db"))
    people = [
        NewSubscriber(msisdn=m, name="测试用户", brand="神州行", plan="SZX", created_on=date(2026, 1, 1), cash=5000)
        for m in SCRIPTS
    ]
    await add_subscribers(db, people)
    await db.close()

    async def start(**overrides: str) -> Gateway:
        return await start_gateway(clock=ManualClock(NOW), **overrides)

    yield Env(sim=sim, start=start)


@dataclass(slots=True)
class Env:
    sim: SmscSimulator
    start: Callable[..., Awaitable[Gateway]]


# --- the SMSC's side -----------------------------------------------------------------------------------


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout} s") from None


async def rebound(gateway: Gateway, reconnects: int, timeout: float = 10.0) -> None:
    """Wait until the link has been lost (more than ``reconnects`` reconnects) and is bound again."""
    link = gateway.link
    await until(lambda: link.reconnects > reconnects and link.bound, timeout, "bound again after the fault")


async def deliver(sim: SmscSimulator, msisdn: str, service_number: str, text: str) -> int:
    """Deliver one MO as an SMSC does: until it is acknowledged, again after a lost connection.

    Returns how many times it was sent."""
    for attempt in itertools.count(1):
        try:
            await sim.wait_bound(timeout=15.0)
            statuses = await sim.send_mo(msisdn, service_number, text, timeout=10.0)
        except ConnectionError:  # the link went before the deliver_sm_resp came back: deliver it again
            await asyncio.sleep(0.01)
            continue
        assert statuses == [Status.ESME_ROK], (msisdn, text, statuses)
        return attempt
    raise AssertionError("unreachable")


async def burst(sim: SmscSimulator) -> int:
    """Every subscriber's script, subscribers side by side, each one's MOs in order; the redeliveries."""

    async def one(msisdn: str) -> int:
        sent = 0
        for service_number, text, _ in SCRIPTS[msisdn]:
            sent += await deliver(sim, msisdn, service_number, text) - 1
        return sent

    return sum(await asyncio.gather(*(one(msisdn) for msisdn in SCRIPTS)))


def answers(sim: SmscSimulator) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {msisdn: Counter() for msisdn in SCRIPTS}
    for mt in sim.mts:
        found.setdefault(mt.destination_addr, Counter())[mt.text] += 1
    return found


def expected() -> dict[str, Counter[str]]:
    return {msisdn: Counter(answer for _, _, answer in script) for msisdn, script in SCRIPTS.items()}


@asynccontextmanager
async def watching_logs(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """No exception may escape into a log: a failed task, a failed command, asyncio's fatal errors."""
    caplog.set_level(logging.WARNING)
    yield
    crashes = [
        r
        for r in caplog.records
        if r.exc_info is not None or r.name in ("asyncio", "gateway.tasks") or r.getMessage() == "command failed"
    ]
    assert crashes == [], [r.getMessage() for r in crashes]


async def settled(sim: SmscSimulator, gateway: Gateway, *, exact_at_smsc: bool = True) -> None:
    """Every MO answered once: at the SMSC (``exact_at_smsc``; else at least once), and in the ledger.

    An MO delivered again is recognised: dropped at once when its acknowledgement could not be written,
    else stored as a possible second delivery. One that had an effect (an order, its confirmation) is then
    not handled again; a query is answered again, as a subscriber's real repeat would be (docs/dialogs.md):
    those are the only answers the SMSC may see twice.
    """
    want = expected()
    await until(lambda: all(answers(sim)[m] >= texts for m, texts in want.items()), 20.0, "every MO answered")
    link, outbox = gateway.link, gateway.outbox
    await until(lambda: link.bound and link.in_flight == 0 and outbox.depth == 0, 5.0, "the gateway idle")
    await asyncio.sleep(0.3)  # time for anything sent twice to arrive
    store = gateway.store
    copies = await store.fetch("SELECT text, status FROM mo WHERE redelivery_of IS NOT NULL")
    assert gateway.inbox.received == TOTAL + gateway.inbox.deduplicated + len(copies)  # each redelivery recognised
    answered_again = [text for text, status in copies if status == "answered"]
    assert {status for _, status in copies} <= {"answered", "duplicate"}
    assert gateway.responder.deduplicated == len(copies) - len(answered_again)
    got = answers(sim)
    extra = sum((got[m] - texts for m, texts in want.items()), Counter())
    if exact_at_smsc:
        assert all(got[m] >= texts for m, texts in want.items())
        assert set(extra) <= {BALANCE, HELP_10001, HELP_10086}  # never a prompt or an order's outcome
        assert sum(extra.values()) == len(answered_again)
        assert len(sim.mts) == TOTAL + len(answered_again)
    else:
        assert all(got[m] >= texts for m, texts in want.items())
    assert await store.fetch("SELECT status, COUNT(*) FROM mo WHERE redelivery_of IS NULL GROUP BY status") == [
        ("answered", TOTAL)
    ]
    assert await store.fetch("SELECT status, COUNT(*) FROM mt GROUP BY status") == [
        ("sent", TOTAL + len(answered_again))
    ]
    for buyer in BUYERS:  # each order charged once
        assert await store.fetch("SELECT product, amount, charged_at FROM fee WHERE msisdn = ?", (buyer,)) == [
            ("GPRS10", 500, NOW)
        ]
        assert await store.fetch("SELECT cash FROM account WHERE msisdn = ?", (buyer,)) == [(4500,)]
        assert await store.fetch("SELECT COUNT(*) FROM subscription WHERE msisdn = ?", (buyer,)) == [(1,)]
    assert await store.fetch("SELECT COUNT(*) FROM fee") == [(len(BUYERS),)]
    assert await store.fetch("SELECT COUNT(*) FROM dialog") == [(0,)]


# --- the faults ----------------------------------------------------------------------------------------


async def test_no_fault_the_burst_is_answered_once(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    gateway = await env.start()
    async with watching_logs(caplog):
        assert await burst(env.sim) == 0
        await settled(env.sim, gateway)
    assert (gateway.link.reconnects, gateway.link.throttled) == (0, 0)


async def test_binds_refused_for_a_while(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    gateway = await env.start()
    sim = env.sim

    async def fault() -> None:
        await until(lambda: sim.submits >= 10, what="submits before the fault")
        sim.faults.hold_submits = True  # some answers wait in the window when the link goes
        await until(lambda: gateway.link.in_flight >= 3, what="submits in the window")
        sim.faults.refuse_binds = 3
        attempts, reconnects = sim.bind_attempts, gateway.link.reconnects
        await sim.drop_connections()
        sim.faults.hold_submits = False
        await rebound(gateway, reconnects)
        assert sim.bind_attempts == attempts + 4  # three refused, then accepted
        assert sim.faults.refuse_binds == 0

    async with watching_logs(caplog):
        await asyncio.gather(fault(), burst(sim))
        await settled(env.sim, gateway)
    assert gateway.link.reconnects == 4  # after the drop and after each refusal
    assert gateway.link.last_bind_error == "ESME_RINVPASWD"
    assert gateway.link.throttled == 0


async def test_link_dropped_with_submits_in_the_window(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    gateway = await env.start()
    sim = env.sim

    async def fault() -> None:
        # Held by the simulator itself from the 9th submit_sm on: a test that polled for the count and then
        # held could be too late, with the burst's last answers already accepted.
        sim.faults.hold_after = 8
        for n in range(2):  # twice: the second time, what is held are the parts resent after the first drop
            await until(lambda: gateway.link.in_flight >= 5, what=f"submits in the window (fault {n + 1})")
            reconnects = gateway.link.reconnects
            sim.faults.hold_after = sim.submits if n == 0 else 0  # after the first drop, hold what comes again
            await sim.drop_connections()
            await rebound(gateway, reconnects)

    async with watching_logs(caplog):
        await asyncio.gather(fault(), burst(sim))
        await settled(env.sim, gateway)
    assert gateway.link.reconnects == 2
    assert gateway.link.throttled == 0


async def test_every_fifth_submit_throttled(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    gateway = await env.start()
    sim = env.sim
    sim.faults.throttle_every = 5
    async with watching_logs(caplog):
        await burst(sim)
        await until(lambda: len(sim.mts) >= TOTAL, 20.0, "every MT")
        throttled_submits = sim.submits // 5
        sim.faults.throttle_every = 0
        await settled(env.sim, gateway)
    assert gateway.link.throttled == throttled_submits
    assert throttled_submits >= PARTS // 5
    assert gateway.link.reconnects == 0
    assert sim.submits == PARTS + throttled_submits  # every part accepted once


async def test_slow_submit_resp_within_the_response_timeout(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    gateway = await env.start(smpp__response_timeout="2")
    sim = env.sim
    sim.faults.respond_delay = 0.5
    async with watching_logs(caplog):
        await burst(sim)
        await until(lambda: len(sim.mts) >= TOTAL, 20.0, "every MT")
        sim.faults.respond_delay = 0.0
        await settled(env.sim, gateway)
    assert (gateway.link.reconnects, gateway.link.throttled) == (0, 0)
    assert sim.submits == PARTS


async def test_submit_resp_later_than_the_response_timeout(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Each submit_sm expires by itself and is sent again; the link stays, since the SMSC keeps answering
    (late). A late submit_sm_resp is the part's answer, so no part is given up. The SMSC had taken the
    expired copies (it answers late, not never), so the subscriber may get such an answer twice: SMPP cannot
    tell; the ledger still holds one answer per MO, sent."""
    gateway = await env.start(smpp__response_timeout="0.4")
    sim = env.sim

    async def fault() -> None:
        await until(lambda: sim.submits >= 10, what="submits before the fault")
        sim.faults.respond_delay = 0.8
        await until(lambda: gateway.link.expired >= 10, what="ten submits expired")
        sim.faults.respond_delay = 0.0

    async with watching_logs(caplog):
        await asyncio.gather(fault(), burst(sim))
        await settled(env.sim, gateway, exact_at_smsc=False)
    link = gateway.link
    assert (link.reconnects, link.given_up, link.refused, link.bound) == (0, 0, {}, True)
    assert link.expired >= 10
    assert sim.submits == link.submitted
    assert PARTS < link.submitted <= PARTS + link.expired  # a copy answered late before its resend went is not resent


def nacking_submits(monkeypatch: pytest.MonkeyPatch, *, every: int, status: int) -> list[int]:
    """The simulator answers every ``every``-th submit_sm with generic_nack ``status`` (it has no such
    fault of its own): returns the list the nacked sequence numbers are put in."""
    on_submit = smsc_core._HANDLERS[CommandId.submit_sm]
    count = itertools.count(1)
    nacked: list[int] = []

    def nack_some(connection: smsc_core.SmscConnection, pdu: Pdu) -> list[smsc_core.Output]:
        if next(count) % every:
            return on_submit(connection, pdu)
        nacked.append(pdu.sequence_number)
        nack = Pdu(command_id=CommandId.generic_nack, sequence_number=pdu.sequence_number, command_status=status)
        return [smsc_core.Send(data=encode_pdu(nack))]

    monkeypatch.setitem(smsc_core._HANDLERS, CommandId.submit_sm, nack_some)
    return nacked


async def test_generic_nack_with_a_throttling_status_is_retried(
    env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = await env.start()
    nacked = nacking_submits(monkeypatch, every=4, status=Status.ESME_RTHROTTLED)
    async with watching_logs(caplog):
        await burst(env.sim)
        await until(lambda: len(env.sim.mts) >= TOTAL, 20.0, "every MT")
        monkeypatch.undo()
        await settled(env.sim, gateway)
    assert gateway.link.throttled == len(nacked) >= PARTS // 4
    assert gateway.link.reconnects == 0


async def test_generic_nack_with_a_final_status_fails_that_mt_only(
    env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generic_nack answers a submit_sm like a submit_sm_resp with its status: a final one (here
    ESME_RSYSERR) marks the MT failed, as a refusal would; the link and the other MTs go on."""
    gateway = await env.start()
    sim = env.sim
    nacked = nacking_submits(monkeypatch, every=1, status=Status.ESME_RSYSERR)
    await deliver(sim, ASKERS[0], "10001", "102")
    await until(lambda: bool(nacked), what="a nack")
    monkeypatch.undo()
    await deliver(sim, ASKERS[1], "10001", "102")
    [mt] = await sim.wait_for_mts(1)
    assert (mt.destination_addr, mt.text) == (ASKERS[1], BALANCE)
    await until(lambda: gateway.outbox.failed == 1, what="the failure recorded")
    await asyncio.sleep(0.2)
    assert await gateway.store.fetch("SELECT destination_addr, status, command_status FROM mt ORDER BY id") == [
        (ASKERS[0], "failed", Status.ESME_RSYSERR),
        (ASKERS[1], "sent", Status.ESME_ROK),
    ]
    assert len(nacked) == 1  # not sent again
    assert (gateway.link.reconnects, gateway.link.in_flight) == (0, 0)


# Sequence numbers far above the simulator's own, so that the gateway's generic_nack answers no MO of its.
GARBAGE = [
    "00000010000000ff000000007fff0007",  # a command id nobody knows
    "0000001400000005000000007fff000841424344",  # a deliver_sm whose body does not decode
    "00000010800000040000000000abcdef",  # a submit_sm_resp for a sequence number never used
    "00000010800000000000000300abcdef",  # a generic_nack for a sequence number never used
    "0000001080000015000000000000beef",  # an enquire_link_resp nobody asked for
    "00000010000001020000000000000009",  # alert_notification, header only: refused
]


async def test_well_framed_garbage_mid_burst_is_nacked_and_the_link_stays(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await env.start()
    sim = env.sim

    async def fault() -> None:
        for n, octets in enumerate(GARBAGE * 3):
            await until(lambda n=n: sim.submits >= 3 * n, what="progress")  # type: ignore[misc]
            await sim.send_garbage(bytes.fromhex(octets))

    async with watching_logs(caplog):
        await asyncio.gather(fault(), burst(sim))
        await settled(env.sim, gateway)
    assert sim.generic_nacks_received == 2 * 3  # the unknown command id, the undecodable body
    assert (gateway.link.reconnects, gateway.link.throttled) == (0, 0)


@pytest.mark.parametrize(
    "octets",
    [
        "ffffffff676172626167650a",  # command_length 4 GB
        "0000000500",  # command_length shorter than a header
        "00000fff00000004",  # a length that swallows what follows: the response timeout resets the link
    ],
    ids=["huge-length", "short-length", "swallowing-length"],
)
async def test_garbage_that_breaks_the_framing_resets_the_link(
    env: Env, caplog: pytest.LogCaptureFixture, octets: str
) -> None:
    gateway = await env.start(smpp__response_timeout="1")
    sim = env.sim

    async def fault() -> None:
        await until(lambda: sim.submits >= 10, what="submits before the fault")
        sim.faults.hold_submits = True  # no submit_sm_resp is lost in a swallowed frame: none is sent twice
        await until(lambda: gateway.link.in_flight >= 3, what="submits in the window")
        reconnects = gateway.link.reconnects
        await sim.send_garbage(bytes.fromhex(octets))
        await until(lambda: gateway.link.reconnects > reconnects, what="the link reset")
        sim.faults.hold_submits = False
        await rebound(gateway, reconnects)

    async with watching_logs(caplog):
        await asyncio.gather(fault(), burst(sim))
        await settled(env.sim, gateway)
    assert gateway.link.reconnects == 1


async def test_an_mo_still_being_stored_when_the_link_drops_is_answered_once(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """The SMSC delivers again as soon as the gateway has bound again, before the first copy's commit is
    done. The second copy waits for the first: its acknowledgement could not be written, so the second is
    the redelivery and is dropped. (It used to be stored as a new MO and answered a second time.)"""
    gateway = await env.start()
    sim = env.sim

    async def slow(mo: InboundMessage, store: StoreMo) -> InboundMessage:
        await asyncio.sleep(0.4)  # a group commit that takes a while: a busy disk, a big batch
        return await store(mo)

    store_mos_through(gateway.store, slow)
    reconnects = gateway.link.reconnects
    first = asyncio.create_task(sim.send_mo(ASKERS[0], "10001", "102"))
    await asyncio.sleep(0.1)
    await sim.drop_connections()
    with pytest.raises(ConnectionError):
        await first
    await rebound(gateway, reconnects)
    async with watching_logs(caplog):
        assert await sim.send_mo(ASKERS[0], "10001", "102") == [Status.ESME_ROK]  # before the first is stored
        [mt] = await sim.wait_for_mts(1)
        await asyncio.sleep(0.5)
    assert (mt.destination_addr, mt.text, len(sim.mts)) == (ASKERS[0], BALANCE, 1)
    assert await gateway.store.fetch("SELECT text, status FROM mo") == [("102", "answered")]
    assert gateway.deduplicated == 1


def test_the_burst_is_what_the_docstring_says() -> None:
    assert (TOTAL, PARTS) == (51, 65)
