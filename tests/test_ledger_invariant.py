"""A property of the ledger under any mix of orders, cancellations, confirmations and queries.

Three subscribers (little cash; cash and a gift; postpaid with a credit limit) send random rounds of MOs
through one running gateway (a round sends at most one MO per subscriber, all at once, so their
transactions share group commits), with the clock moved between rounds (past the 16th, past dialog
windows, so expiry sweeps race with replies). Afterwards, whatever happened:

- no money appeared or vanished: initial (cash + gift) == final (cash + gift) + the fee lines charged;
- nothing was charged twice: at most one fee line per subscriber, product and cycle (reinstating a
  package cancelled this month is free), and each fee line has exactly one subscription row;
- no cash book went below minus its credit limit;
- every MO got exactly one answer (and a 是/Y never the help answer).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Required, TypedDict
from zoneinfo import ZoneInfo

import aiosqlite
from conftest import gateway_config
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 15, 22, 0, tzinfo=SHANGHAI).timestamp()  # two hours before half fees begin

LOW = "13800000201"  # 6.00元 cash: GPRS5 or LDTX, never GPRS10 at the full fee
GIFT = "13800000202"  # 5.00元 cash and an 8.00元 gift
POSTPAID = "13800000203"  # 2.00元 cash, 15.00元 credit limit
SUBSCRIBERS = (LOW, GIFT, POSTPAID)


class Account(TypedDict, total=False):
    """A subscriber's books as seeded: keywords of :class:`NewSubscriber`."""

    cash: Required[int]
    gift: int
    gift_expires: date
    credit_limit: int


ACCOUNTS: dict[str, Account] = {
    LOW: {"cash": 600},
    GIFT: {"cash": 500, "gift": 800, "gift_expires": date(2026, 12, 31)},
    POSTPAID: {"cash": 200, "credit_limit": 1500},
}

COMMANDS = ("KTGPRS10", "KTGPRS5", "KTLDTX", "QXGPRS10", "QXLDTX", "0000", "102", "是", "Y", "N", "1", "2")
REPLIES = ("是", "Y", "是", "1", "2", "N")  # mostly yes: most orders and cancellations go through
SERVICE_NUMBERS = ("10086", "10001")
ADVANCES = (0.0, 0.0, 0.0, 60.0, 1799.0, 1801.0, 3600.0)  # seconds the clock moves after a round

# A move: a command on one service number and the replies that follow it there (KTGPRS10 是; 0000 2 Y).
MOVE = st.tuples(
    st.sampled_from(SERVICE_NUMBERS),
    st.sampled_from(COMMANDS),
    st.lists(st.sampled_from(REPLIES), min_size=1, max_size=2),
)
SCRIPTS = st.fixed_dictionaries({m: st.lists(MOVE, max_size=8) for m in SUBSCRIBERS})

Move = tuple[str, str, list[str]]
Round = tuple[dict[str, tuple[str, str]], float]


def rounds_of(scripts: dict[str, list[Move]], advances: list[float]) -> list[Round]:
    """Round i sends each subscriber's i-th MO (if it has one), then moves the clock by ``advances[i]``."""
    mos = {
        m: [(number, text) for number, command, replies in moves for text in (command, *replies)]
        for m, moves in scripts.items()
    }
    count = max(len(texts) for texts in mos.values())
    return [
        ({m: texts[i] for m, texts in mos.items() if i < len(texts)}, advances[i] if i < len(advances) else 0.0)
        for i in range(count)
    ]


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            NewSubscriber(
                msisdn=m,
                name="测试用户",
                brand="全球通" if m == POSTPAID else "神州行",
                plan="QQT88" if m == POSTPAID else "SZX",
                created_on=date(2026, 1, 1),
                **ACCOUNTS[m],
            )
            for m in SUBSCRIBERS
        ],
    )
    await db.close()


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


async def fetch(db: aiosqlite.Connection, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.execute_fetchall(sql, params)]


async def run(sim: SmscSimulator, folder: Path, rounds: list[Round]) -> None:
    """Seed a ledger in ``folder``, send the rounds through a gateway, and check the ledger afterwards."""
    await seed(folder / "gateway.db")
    clock = ManualClock(START)
    # no rate limit: a script sends up to 24 MOs a minute, and this test is about the ledger
    config = gateway_config(folder, sim.port, gateway__rate_limit_per_minute="0", gateway__rate_limit_per_hour="0")
    gateway = Gateway(config, clock=clock)
    mts_before = len(sim.mts)
    await gateway.start()
    try:
        await gateway.link.wait_bound(5.0)

        async def alone() -> bool:
            return len(sim.sessions) == 1

        await until(alone, "only this gateway is bound")
        async with aiosqlite.connect(folder / "gateway.db") as db:  # reads committed rows only
            sent = 0
            for mos, advance in rounds:
                await asyncio.gather(*(sim.send_mo(m, number, text) for m, (number, text) in mos.items()))
                sent += len(mos)

                async def answered(count: int = sent) -> bool:
                    rows = await fetch(db, "SELECT COUNT(*) FROM mo WHERE status = 'answered'")
                    return bool(rows[0][0] == count)

                await until(answered, f"all {sent} MOs answered")
                clock.advance(advance)
    finally:
        await gateway.stop()

    async with aiosqlite.connect(folder / "gateway.db") as db:
        await check_ledger(db)
        stored = await fetch(db, "SELECT id, status FROM mo ORDER BY id")
        assert len(stored) == sum(len(m) for m, _ in rounds)
        assert {status for _, status in stored} <= {"answered"}
        answers = Counter(mo_id for (mo_id,) in await fetch(db, "SELECT mo_id FROM mt WHERE mo_id IS NOT NULL"))
        assert answers == Counter({mo_id: 1 for mo_id, _ in stored}), "every MO answered exactly once"
        stray_yes_help = await fetch(
            db,
            "SELECT mo.text, mt.text FROM mo JOIN mt ON mt.mo_id = mo.id"
            " WHERE mo.text IN ('是', 'Y') AND mt.text LIKE '您好，欢迎使用%'",
        )
        assert stray_yes_help == [], "a 是/Y is an answer to a dialog or nothing_to_confirm, never the help"
        assert await fetch(db, "SELECT DISTINCT status FROM mt") in ([], [("sent",)])
        [(mt_count,)] = await fetch(db, "SELECT COUNT(*) FROM mt")
    assert len(sim.mts) - mts_before == mt_count  # and each answer (and expiry notice) reached the SMSC


async def check_ledger(db: aiosqlite.Connection) -> None:
    accounts = {
        m: (cash, gift, limit)
        for m, cash, gift, limit in await fetch(db, "SELECT msisdn, cash, gift, credit_limit FROM account")
    }
    fees = await fetch(db, "SELECT msisdn, product, cycle, amount FROM fee")
    for msisdn in SUBSCRIBERS:
        initial = ACCOUNTS[msisdn]
        cash, gift, credit_limit = accounts[msisdn]
        charged = sum(amount for m, _, _, amount in fees if m == msisdn)
        assert initial["cash"] + initial.get("gift", 0) == cash + gift + charged, msisdn
        assert cash >= -credit_limit, msisdn
        assert 0 <= gift <= initial.get("gift", 0), msisdn
    assert all(amount > 0 for *_, amount in fees)
    per_cycle = Counter((m, product, cycle) for m, product, cycle, _ in fees)
    assert [key for key, n in per_cycle.items() if n > 1] == [], "a package charged twice in one cycle"
    subscriptions = Counter(await fetch(db, "SELECT msisdn, product FROM subscription"))
    assert subscriptions == Counter((m, product) for m, product, _, _ in fees), "one subscription per fee line"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scripts=SCRIPTS, advances=st.lists(st.sampled_from(ADVANCES), max_size=24))
@example(  # reinstating, the 0000 list, an interrupted order, the credit limit reached
    scripts={
        LOW: [
            ("10086", "KTLDTX", ["是"]),
            ("10086", "QXLDTX", ["Y"]),
            ("10086", "KTLDTX", ["是"]),
            ("10001", "0000", ["1", "Y"]),
        ],
        GIFT: [
            ("10086", "KTGPRS5", ["是"]),
            ("10001", "KTGPRS10", []),
            ("10001", "102", ["是"]),
            ("10086", "KTGPRS10", ["Y"]),
        ],
        POSTPAID: [("10086", "KTGPRS10", ["是"]), ("10086", "KTGPRS5", ["Y"]), ("10086", "KTLDTX", ["是"])],
    },
    advances=[],
)
@example(  # replies racing the expiry sweep, then half fees from the 16th
    scripts={
        LOW: [("10086", "KTGPRS10", ["是"]), ("10086", "KTGPRS10", ["是"])],
        GIFT: [("10086", "KTGPRS5", ["是"]), ("10086", "KTGPRS5", ["是"])],
        POSTPAID: [("10001", "KTLDTX", ["是"]), ("10001", "0000", ["3", "1", "Y"])],
    },
    advances=[1801.0, 7200.0],
)
async def test_money_is_conserved_and_nothing_is_charged_twice(
    sim: SmscSimulator, scripts: dict[str, list[Move]], advances: list[float]
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ledger-invariant-"))
    try:
        await run(sim, folder, rounds_of(scripts, advances))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
