"""The 1st of the month (gateway/usecases/month.py): the rule of one renewal, and the job as a real process
killed (SIGKILL) in the middle and started again: nobody is charged twice, nobody is left out."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import aiohttp
from support.db import new_subscriber
from support.process import gateway_env, spawn

from gateway.db.database import open_database
from gateway.ledger.products import Package, Plan
from gateway.ledger.renewal import renew
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import Account
from gateway.smsc import SmscSimulator
from gateway.types import Fen

PLAN = Plan(code="DGDD28", name="动感地带28元套餐", brand="动感地带", payment="prepaid", monthly_fee_fen=2800)
GPRS10 = Package(code="GPRS10", name="GPRS10元包", kind="data", monthly_fee_fen=1000, order=("KTGPRS10",))
LDTX = Package(code="LDTX", name="来电提醒", kind="vas", monthly_fee_fen=300, order=("KTLDTX",))
DAY = date(2026, 12, 1)


def account(cash: int, gift: int = 0, *, credit_limit: int = 0, gift_expires: date | None = None) -> Account:
    return Account(
        cash=Fen(cash),
        gift=Fen(gift),
        gift_expires=gift_expires,
        credit_limit=Fen(credit_limit),
        valid_until=None,
        points=0,
    )


def test_the_plan_first_then_each_package_the_balance_still_covers() -> None:
    result = renew(plan=PLAN, held=[(1, GPRS10), (2, LDTX)], account=account(3550), today=DAY, suspended=False)
    assert [(f.category, f.product, f.amount) for f in result.fees] == [("plan", "DGDD28", 2800), ("vas", "LDTX", 300)]
    assert [(lapse.subscription, lapse.package.code, lapse.reason) for lapse in result.lapsed] == [
        (1, "GPRS10", "balance")
    ]
    assert (result.from_gift, result.from_cash) == (0, 3100)


def test_the_plan_fee_goes_into_arrears_and_then_no_package_is_covered() -> None:
    result = renew(plan=PLAN, held=[(7, LDTX)], account=account(1000), today=DAY, suspended=False)
    assert [(f.product, f.from_cash) for f in result.fees] == [("DGDD28", 2800)]  # cash 10.00 → -18.00
    assert [lapse.package.code for lapse in result.lapsed] == ["LDTX"]


def test_the_gift_book_pays_first_while_valid_and_a_credit_limit_counts_as_available() -> None:
    result = renew(
        plan=PLAN,
        held=[(1, GPRS10)],
        account=account(-500, 3000, credit_limit=2000, gift_expires=DAY),
        today=DAY,
        suspended=False,
    )
    # The plan: 28.00 from the gift; GPRS10: 2.00 gift left + -5.00 cash + 20.00 limit = 17.00 ≥ 10.00.
    assert [(f.product, f.from_gift, f.from_cash) for f in result.fees] == [("DGDD28", 2800, 0), ("GPRS10", 200, 800)]
    expired = renew(
        plan=PLAN, held=[], account=account(0, 3000, gift_expires=date(2026, 11, 30)), today=DAY, suspended=False
    )
    assert [(f.from_gift, f.from_cash) for f in expired.fees] == [(0, 2800)]  # forfeited on the 30th


def test_a_suspended_number_is_charged_nothing_and_its_packages_lapse() -> None:
    result = renew(plan=PLAN, held=[(3, GPRS10)], account=account(9000), today=DAY, suspended=True)
    assert result.fees == ()
    assert [(lapse.package.code, lapse.reason) for lapse in result.lapsed] == [("GPRS10", "suspended")]


# --- the job as a process, killed in the middle -----------------------------------------------------------

COUNT = 20_000


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(sql).fetchone()[0])


async def set_clock(port: int, at: str) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(f"http://127.0.0.1:{port}/test/clock", json={"at": at}) as response,
                ):
                    assert response.status == 200
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # not listening yet


async def test_a_renewal_killed_half_way_and_run_again_charges_everyone_once(
    sim: SmscSimulator, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.db"
    numbers = [f"139{n:08d}" for n in range(COUNT)]
    db = await open_database(str(path))
    try:
        await add_subscribers(db, [new_subscriber(m, plan="DGDD28", cash=5000) for m in numbers])
    finally:
        await db.close()
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.executemany(  # GPRS10 since June 2026
            "INSERT INTO subscription (msisdn, product, started_at) VALUES (?, 'GPRS10', 1780000000.0)",
            [(m,) for m in numbers],
        )
    port = free_port()
    env = gateway_env(tmp_path, sim.port, GATEWAY_GATEWAY__CLOCK="manual", GATEWAY_HTTP__PORT=str(port))
    renewed = "SELECT COUNT(*) FROM renewal WHERE cycle = '2027-01'"

    process = await spawn(env)
    try:
        await set_clock(port, "2026-12-20 12:00")  # the ledger starts its monthly cycle in December
        moving = asyncio.create_task(set_clock(port, "2027-01-01 00:00:05"))  # answered once the job is done
        async with asyncio.timeout(60):
            while count(path, renewed) < COUNT // 20:
                await asyncio.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        moving.cancel()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    half_way = count(path, renewed)
    assert COUNT // 20 <= half_way < COUNT  # killed in the middle of the job
    assert count(path, "SELECT COUNT(*) FROM schedule_run WHERE job = 'month' AND day = '2027-01'") == 0

    restarted = await spawn(env)
    try:
        await set_clock(port, "2027-01-01 00:01")
        async with asyncio.timeout(120):
            while count(path, "SELECT COUNT(*) FROM schedule_run WHERE job = 'month' AND day = '2027-01'") == 0:
                await asyncio.sleep(0.05)
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 30) == 0

    assert count(path, renewed) == COUNT
    # Each number: one plan fee and one GPRS10 fee for January, 50.00 - 28.00 - 10.00 = 12.00 left.
    assert count(path, "SELECT COUNT(*) FROM fee WHERE cycle = '2027-01' AND product = 'DGDD28'") == COUNT
    assert count(path, "SELECT COUNT(*) FROM fee WHERE cycle = '2027-01' AND product = 'GPRS10'") == COUNT
    assert count(path, "SELECT COUNT(*) FROM account WHERE cash = 1200") == COUNT
    assert count(path, "SELECT COUNT(DISTINCT msisdn) FROM fee WHERE cycle = '2027-01'") == COUNT
