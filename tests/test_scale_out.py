"""Two gateway instances on one PostgreSQL ledger behind one SMSC, which hands each deliver_sm to the next
bind in turn: a dialog asked on one instance and confirmed on the other is charged once, and when one
instance is killed for good (SIGKILL) in the middle of a load, the other answers every MO it had
acknowledged and sends every MT it had queued, within its lease. Real processes, real SMPP, a real
PostgreSQL 16 started by the test run."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psycopg
import pytest
from conftest import StartGateway, ask
from support.postgres import database_name, with_database
from support.process import gateway_env, ledger, spawn

from gateway.smsc import SmscSimulator

PASSWORD = "s3cret-pw"
LEASE = 3.0  # seconds: a dead instance's work is taken over within about this (plus a third of it)
FIRST = 13_000_000_000  # `ledger seed --count` numbers its subscribers from here


def number(i: int) -> str:
    return str(FIRST + i)


@pytest.fixture
def url(postgres_url: str) -> str:
    return with_database(postgres_url, database_name(postgres_url), password=PASSWORD)


def books(url: str, msisdns: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT msisdn, cash FROM account WHERE msisdn = ANY(%s)", (msisdns,)).fetchall()
    return dict(rows)


def owners(url: str, msisdn: str) -> list[tuple[str, str]]:
    """(text, instance) of the subscriber's MOs, oldest first."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT text, instance FROM mo WHERE source_addr = %s ORDER BY id", (msisdn,)
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def work_left(url: str) -> tuple[int, int, list[str]]:
    """MOs not answered, MTs not sent, and the instances signed on."""
    with psycopg.connect(url) as connection:
        (mos,) = connection.execute("SELECT COUNT(*) FROM mo WHERE status = 'new'").fetchone() or (0,)
        (mts,) = connection.execute("SELECT COUNT(*) FROM mt WHERE status = 'queued'").fetchone() or (0,)
        names = [r[0] for r in connection.execute("SELECT name FROM instance ORDER BY name").fetchall()]
    return mos, mts, names


async def start_two(tmp_path: Path, sim: SmscSimulator, url: str) -> dict[str, asyncio.subprocess.Process]:
    started = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        env = gateway_env(
            tmp_path / name,
            sim.port,
            GATEWAY_LEDGER__URL=url,
            GATEWAY_GATEWAY__INSTANCE=name,
            GATEWAY_GATEWAY__LEASE=str(LEASE),
        )
        started[name] = await spawn(env)
    await sim.wait_bound(30.0, count=2)
    return started


async def stop_all(processes: dict[str, asyncio.subprocess.Process]) -> dict[str, int]:
    codes = {}
    for name, process in processes.items():
        if process.returncode is None:
            process.terminate()
        codes[name] = await asyncio.wait_for(process.wait(), 30)
    return codes


def logs(tmp_path: Path) -> str:
    return "".join((tmp_path / name / "gateway.log").read_text(encoding="utf-8") for name in ("a", "b"))


async def test_an_order_asked_on_one_instance_and_confirmed_on_the_other_is_charged_once(
    tmp_path: Path, sim: SmscSimulator, url: str
) -> None:
    seeded = ledger(tmp_path, "seed", "--count", "20", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    askers = [number(i) for i in range(1, 5)]
    before = books(url, askers)
    processes = await start_two(tmp_path, sim, url)
    try:
        answers = {m: [await ask(sim, m, "10086", text) for text in ("KTXWZWB", "是", "0000")] for m in askers}
    finally:
        codes = await stop_all(processes)

    assert codes == {"a": 0, "b": 0}
    for msisdn in askers:
        prompt, done, listed = answers[msisdn]
        assert prompt.startswith("您好，您将订购新闻早晚报，月费3.00元。")
        assert done == f"您好，您已成功订购新闻早晚报，本次扣费3.00元，当前余额{(before[msisdn] - 300) / 100:.2f}元。"
        assert "新闻早晚报" in listed
        (ordered, on), (confirmed, then), _listing = owners(url, msisdn)
        assert (ordered, confirmed) == ("KTXWZWB", "是")
        assert on != then  # asked on one instance, confirmed on the other
    assert books(url, askers) == {m: before[m] - 300 for m in askers}  # charged once each
    assert PASSWORD not in logs(tmp_path)


async def test_an_instance_killed_for_good_has_its_work_answered_by_the_other(
    tmp_path: Path, sim: SmscSimulator, url: str
) -> None:
    count = 300
    seeded = ledger(tmp_path, "seed", "--count", str(count + 1), GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    askers = [number(i) for i in range(1, count + 1)]
    processes = await start_two(tmp_path, sim, url)
    acknowledged: list[str] = []
    unacknowledged: list[str] = []

    async def send(msisdn: str) -> None:
        try:
            statuses = await sim.send_mo(msisdn, "10086", "102", timeout=2.0)
        except (ConnectionError, TimeoutError):
            statuses = [-1]
        (acknowledged if statuses == [0] else unacknowledged).append(msisdn)

    async def load() -> None:
        for start in range(0, count, 20):
            await asyncio.gather(*(send(m) for m in askers[start : start + 20]))

    try:
        loading = asyncio.create_task(load())
        while len(acknowledged) + len(unacknowledged) < count // 2:  # a in the middle of the load
            await asyncio.sleep(0.001)
        processes["a"].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert await asyncio.wait_for(processes["a"].wait(), 10) == -signal.SIGKILL
        await loading
        # what the SMSC never saw acknowledged it delivers again, to the bind that is left
        for msisdn in list(unacknowledged):
            unacknowledged.remove(msisdn)
            await send(msisdn)
        assert not unacknowledged
        await sim.wait_for_mts(count, timeout=30)
        while work_left(url) != (0, 0, ["b"]):  # a's lease runs out, b takes its work and does it
            assert time.monotonic() - killed_at < 30, work_left(url)
            await asyncio.sleep(0.1)
        answered_within = time.monotonic() - killed_at
        await asyncio.sleep(0.5)  # the last submit_sm on their way to the SMSC
    finally:
        codes = await stop_all(processes)

    assert codes == {"a": -signal.SIGKILL, "b": 0}
    answers = Counter(mt.destination_addr for mt in sim.mts)
    assert set(answers) == set(askers)  # every acknowledged MO answered, by one instance or the other
    assert all(mt.text.startswith("您好，您的账户余额为") for mt in sim.mts)
    repeated = sum(n - 1 for n in answers.values())
    print(f"answered within {answered_within:.1f} s of the kill; {repeated} answers sent twice")
    assert repeated <= 64  # at most the dead instance's window: submit_sm it sent whose response it never read
    assert answered_within < 30
    assert work_left(url) == (0, 0, [])  # b signed off
    log = logs(tmp_path)
    assert "instances gone: their work taken over" in log
    assert PASSWORD not in log


async def test_a_confirmation_delivered_again_to_the_other_instance_after_a_link_drop_is_not_handled_twice(
    tmp_path: Path, sim: SmscSimulator, url: str, start_gateway: StartGateway
) -> None:
    """The instance that confirmed an order loses its link before the SMSC showed it read the ``是``'s
    acknowledgement; the SMSC delivers the ``是`` again, to the other instance's bind. It is recognised
    there (the lost acknowledgement is in the ledger): not answered, not charged again. The first instance
    sends its held answer once it is bound again."""
    seeded = ledger(tmp_path, "seed", "--count", "3", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    asker = number(1)
    (cash,) = books(url, [asker]).values()
    both = {
        name: await start_gateway(
            wait_bound=False, ledger__url=url, gateway__instance=name, smpp__reconnect_min="1", smpp__reconnect_max="1"
        )
        for name in ("a", "b")
    }
    await sim.wait_bound(10, count=2)
    prompt = await ask(sim, asker, "10086", "KTXWZWB")
    sim.faults.hold_submits = True  # the SMSC answers nothing written after the ack...
    before = sim.submits
    assert await sim.send_mo(asker, "10086", "是") == [0]
    confirmer = sim.last_receiver
    assert confirmer is not None
    async with asyncio.timeout(5):
        while sim.submits < before + 1:  # the answer is on the wire
            await asyncio.sleep(0.01)
    await sim.drop_connection(confirmer)  # ...so that instance cannot know the SMSC read it
    sim.faults.hold_submits = False
    await asyncio.sleep(0.2)  # its lost acknowledgement recorded
    assert await sim.send_mo(asker, "10086", "是") == [0]  # delivered again, to the bind that is left
    assert sim.last_receiver != confirmer
    mts = await sim.wait_for_mts(2, timeout=10)  # the held answer, sent after the rebind
    await asyncio.sleep(0.5)

    assert prompt.startswith("您好，您将订购新闻早晚报")
    done = f"您好，您已成功订购新闻早晚报，本次扣费3.00元，当前余额{(cash - 300) / 100:.2f}元。"
    assert [mt.text for mt in sim.mts] == [prompt, done]
    assert mts[1].destination_addr == asker
    assert books(url, [asker]) == {asker: cash - 300}
    assert sum(gateway.deduplicated for gateway in both.values()) == 1
    assert sum(gateway.limiter.counted(asker) for gateway in both.values()) == 2  # the copy is not counted
    texts = [text for text, _ in owners(url, asker)]
    assert texts == ["KTXWZWB", "是", "是"]
    with psycopg.connect(url) as connection:
        statuses = connection.execute("SELECT status FROM mo WHERE source_addr = %s ORDER BY id", (asker,)).fetchall()
    assert statuses == [("answered",), ("answered",), ("duplicate",)]


async def test_the_rate_limit_counts_a_subscribers_mos_on_every_instance(
    tmp_path: Path, sim: SmscSimulator, url: str, start_gateway: StartGateway
) -> None:
    """Three MOs a minute, the MOs handed to the two instances in turn: the fourth is told once that it is
    too many, the fifth gets no answer; each instance alone saw fewer than three. One of the two runs the
    time-based work."""
    seeded = ledger(tmp_path, "seed", "--count", "3", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    both = [
        await start_gateway(
            wait_bound=False, ledger__url=url, gateway__instance=name, gateway__rate_limit_per_minute="3"
        )
        for name in ("a", "b")
    ]
    await sim.wait_bound(10, count=2)
    asker = number(1)
    answers = [await ask(sim, asker, "10086", "102") for _ in range(4)]
    assert await sim.send_mo(asker, "10086", "102") == [0]
    await asyncio.sleep(0.5)

    assert [a.startswith("您好，您的账户余额为") for a in answers] == [True, True, True, False]
    assert answers[3] == "您好，您发送短信过于频繁，请稍后再试。"
    assert len(sim.mts) == 4  # the fifth: silence
    assert sorted(g.instance.leading for g in both) == [False, True]
    on = [instance for _, instance in owners(url, asker)]
    assert on[0::2] == [on[0]] * 3 and on[1::2] == [on[1]] * 2 and on[0] != on[1]  # in turn


async def test_a_ussd_session_goes_on_whichever_instance_each_request_reaches(
    tmp_path: Path, sim: SmscSimulator, url: str, start_gateway: StartGateway
) -> None:
    """An aggregator's load balancer sends each request of one ``*100#`` session to the other instance in
    turn; the session (in the ledger) goes on, a retry is answered the same, an order is charged once."""
    seeded = ledger(tmp_path, "seed", "--count", "3", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    both = [await start_gateway(wait_bound=False, ledger__url=url, gateway__instance=name) for name in ("a", "b")]
    await sim.wait_bound(10, count=2)
    asker = number(1)
    (cash,) = books(url, [asker]).values()

    async def post(gateway: int, text: str) -> str:
        fields = {"sessionId": "lb-1", "serviceCode": "*100#", "phoneNumber": f"+86{asker}", "text": text}
        address = f"http://127.0.0.1:{both[gateway].http.port}/ussd"
        async with aiohttp.ClientSession() as http, http.post(address, data=fields) as response:
            assert response.status == 200
            return await response.text()

    screens = [
        await post(0, ""),
        await post(1, "3"),
        await post(0, "3*#"),
        await post(1, "3*#*0"),
        await post(0, "3*#*0"),  # the aggregator's retry, to the other instance
        await post(1, "3*#*0*1"),
        await post(0, "3*#*0*1*1"),
    ]

    assert screens[:5] == [
        "CON 中国移动自助服务\n1 话费查询\n2 流量查询\n3 业务办理\n4 积分查询\n5 充值记录",
        "CON 业务办理\n1 GPRS3元包(20MB)\n2 GPRS5元包(30MB)\n3 GPRS10元包(70MB)\n# 下一页\n0 返回 00 首页",
        "CON 业务办理\n4 GPRS20元包(150MB)\n5 GPRS50元包(500MB)\n6 GPRS100元包(2GB)\n# 下一页\n0 返回 00 首页",
        "CON 业务办理\n1 GPRS3元包(20MB)\n2 GPRS5元包(30MB)\n3 GPRS10元包(70MB)\n# 下一页\n0 返回 00 首页",
        "CON 业务办理\n1 GPRS3元包(20MB)\n2 GPRS5元包(30MB)\n3 GPRS10元包(70MB)\n# 下一页\n0 返回 00 首页",
    ]
    assert screens[5].startswith("CON ") and "GPRS3元包" in screens[5]
    assert screens[6].startswith("END ") and "成功" in screens[6]
    with psycopg.connect(url) as connection:
        fees = connection.execute("SELECT product FROM fee WHERE msisdn = %s", (asker,)).fetchall()
    assert fees == [("GPRS3",)]
    assert books(url, [asker])[asker] < cash


async def test_a_ussd_session_over_smpp_is_answered_by_whichever_instance_its_next_pdu_reaches(
    tmp_path: Path, sim: SmscSimulator, url: str, start_gateway: StartGateway
) -> None:
    """The SMSC hands each deliver_sm to the next bind in turn: the dial reaches one instance, the answer to
    its menu the other, which goes on from the ledger's row (its_session_info carried back)."""
    seeded = ledger(tmp_path, "seed", "--count", "3", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    for name in ("a", "b"):
        await start_gateway(wait_bound=False, ledger__url=url, gateway__instance=name)
    await sim.wait_bound(10, count=2)
    asker = number(1)
    receivers = []
    for sequence, (text, op) in enumerate((("*100#", 1), ("3", 18), ("#", 18)), 1):
        before = len(sim.mts)
        assert await sim.send_ussd(asker, "*100#", text, op=op, session=7, sequence=sequence) == 0
        receivers.append(sim.last_receiver)
        await sim.wait_for_mts(before + 1)
    await asyncio.sleep(0.2)

    assert [mt.text for mt in sim.mts] == [
        "中国移动自助服务\n1 话费查询\n2 流量查询\n3 业务办理\n4 积分查询\n5 充值记录",
        "业务办理\n1 GPRS3元包(20MB)\n2 GPRS5元包(30MB)\n3 GPRS10元包(70MB)\n# 下一页\n0 返回 00 首页",
        "业务办理\n4 GPRS20元包(150MB)\n5 GPRS50元包(500MB)\n6 GPRS100元包(2GB)\n# 下一页\n0 返回 00 首页",
    ]
    assert receivers[0] != receivers[1] and receivers[1] != receivers[2]
    assert [mt.its_session_info for mt in sim.mts] == [bytes([7, s << 1]) for s in (1, 2, 3)]


async def test_a_confirmation_that_reaches_the_other_instance_before_the_prompt_waits_for_it(
    tmp_path: Path, sim: SmscSimulator, url: str, start_gateway: StartGateway
) -> None:
    """``KTXWZWB`` is stored on one instance and ``是`` on the other before either is answered (the test holds
    the subscriber's lock meanwhile, as a third instance handling them would): once free, the ``是`` waits for
    the order's prompt (its sender's earlier MO, unanswered on the other instance) and then confirms it.
    Receipts for both answers, on whichever bind they come, find their MTs."""
    seeded = ledger(tmp_path, "seed", "--count", "3", GATEWAY_LEDGER__URL=url)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    both = [await start_gateway(wait_bound=False, ledger__url=url, gateway__instance=name) for name in ("a", "b")]
    await sim.wait_bound(10, count=2)
    sim.auto_receipts = True
    asker = number(2)
    (cash,) = books(url, [asker]).values()
    with psycopg.connect(url) as holder:  # a transaction holding the subscriber's turn
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (asker,))
        assert await sim.send_mo(asker, "10086", "KTXWZWB") == [0]  # stored: acknowledged after the commit
        assert await sim.send_mo(asker, "10086", "是") == [0]
        await asyncio.sleep(0.3)
        assert sim.mts == []  # neither may go while the turn is held
        holder.commit()
    mts = await sim.wait_for_mts(2, timeout=10)
    await asyncio.sleep(0.5)

    assert mts[0].text.startswith("您好，您将订购新闻早晚报")
    assert mts[1].text == f"您好，您已成功订购新闻早晚报，本次扣费3.00元，当前余额{(cash - 300) / 100:.2f}元。"
    assert len(sim.mts) == 2
    assert books(url, [asker]) == {asker: cash - 300}
    assert len({instance for _, instance in owners(url, asker)}) == 2  # one on each
    with psycopg.connect(url) as connection:
        receipts = connection.execute(
            "SELECT delivery_stat FROM mt WHERE destination_addr = %s ORDER BY id", (asker,)
        ).fetchall()
    assert receipts == [("DELIVRD",), ("DELIVRD",)]
    assert sum(g.inbox.receipts["DELIVRD"] for g in both) == 2
    assert sum(g.responder.waited for g in both) > 0
