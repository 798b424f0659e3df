"""The gateway's commands on both engines: the same ledger seeded, the same conversation over real SMPP
against ``python -m gateway run`` in its own process, the same answers and the same books, whether the
ledger is a SQLite file or a PostgreSQL database (``ledger.url``, a real PostgreSQL 16 started by the run)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from conftest import ask
from support.postgres import database_name, with_database
from support.process import ROOT, gateway_env, ledger, spawn

from gateway.db.target import is_url
from gateway.format import yuan
from gateway.smsc import SmscSimulator

PASSWORD = "s3cret-pw"
ASKER = "13000000001"  # a plain subscriber of `ledger seed --count`: cash, a 100元 credit limit, no package
CONVERSATION = ("102", "KTXWZWB", "是", "102", "QXXWZWB", "是", "0000")


@pytest.fixture
def engine(ledger_at: str) -> dict[str, str]:
    """The environment that points a command at the ledger: none for the file in the test's folder, or the
    database's URL, with a password."""
    if not is_url(ledger_at):
        return {}
    return {"GATEWAY_LEDGER__URL": with_database(ledger_at, database_name(ledger_at), password=PASSWORD)}


def books(engine: dict[str, str], tmp_path: Path) -> list[tuple[int, int]]:
    query = "SELECT cash, gift FROM account WHERE msisdn = '" + ASKER + "'"
    if engine:
        with psycopg.connect(engine["GATEWAY_LEDGER__URL"]) as connection:
            return list(connection.execute(query).fetchall())
    with sqlite3.connect(tmp_path / "gateway.db") as connection:
        return connection.execute(query).fetchall()


async def test_seed_show_and_a_conversation_give_the_same_answers_and_books_on_both_engines(
    engine: dict[str, str], tmp_path: Path, sim: SmscSimulator
) -> None:
    seeded = ledger(tmp_path, "seed", "--count", "20", **engine)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    cash_before = books(engine, tmp_path)

    process = await spawn(gateway_env(tmp_path, sim.port, **engine))
    try:
        await sim.wait_bound(30.0)
        answers = [await ask(sim, ASKER, "10086", text) for text in CONVERSATION]
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
    shown = ledger(tmp_path, "show", ASKER, **engine)

    ((cash, gift),) = cash_before
    left = cash - 300
    assert answers == [
        f"您好，您的账户余额为{yuan(cash)}，其中现金余额{yuan(cash)}，赠送余额0.00元；信用额度100.00元，"
        f"可用余额{yuan(cash + 10000)}。",
        "您好，您将订购新闻早晚报，月费3.00元。本月收取3.00元。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。",
        f"您好，您已成功订购新闻早晚报，本次扣费3.00元，当前余额{yuan(left)}。",
        f"您好，您的账户余额为{yuan(left)}，其中现金余额{yuan(left)}，赠送余额0.00元；信用额度100.00元，"
        f"可用余额{yuan(left + 10000)}。",
        "您好，您将退订新闻早晚报，退订后本月底失效、下月起不再收费。请在30分钟内回复“是”或“Y”确认退订，回复其他内容取消。",
        f"您好，您已成功退订新闻早晚报，本业务可使用至{month_end()}，下月起不再收费。",
        "您好，您当前没有订购任何业务。",
    ]
    assert books(engine, tmp_path) == [(left, gift)]  # charged once, on whichever engine
    assert shown.returncode == 0 and ASKER in shown.stdout
    assert (tmp_path / "gateway.db").exists() == (not engine)  # with a URL nothing is written to a local file
    log = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    assert PASSWORD not in log + seeded.stdout + seeded.stderr + shown.stdout + shown.stderr


def month_end() -> str:
    """The last day of this month in Shanghai, as an answer writes it (2026年12月31日)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return f"{last.year}年{last.month}月{last.day}日"


def databases(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        return [r[0] for r in connection.execute("SELECT datname FROM pg_database ORDER BY datname").fetchall()]


def test_converse_runs_each_conversation_on_a_new_database_of_the_ledgers_server(postgres_url: str) -> None:
    """With ``ledger.url`` set, ``gateway converse`` gives each conversation a new database on that server
    (made, then dropped), not a SQLite file; the password in the URL never reaches its output. Among them the
    month (renewals, lapses, points, an exchange) and the 10001 codes with tables of their own (cards, choices)."""
    url = with_database(postgres_url, database_name(postgres_url), password=PASSWORD)
    before = databases(url)
    names = (
        "balance_gift_expiry.conv",
        "charges_this_month.conv",
        "month_renewal_lapse_points.conv",
        "puk_card_bill_choices.conv",
    )
    scripts = [str(ROOT / "tests" / "conversations" / name) for name in names]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | {"GATEWAY_LEDGER__URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "converse", *scripts],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert done.stdout.count("PASS") == len(names), done.stdout
    assert PASSWORD not in done.stdout
    assert databases(url) == before  # each conversation's database dropped after it


def test_the_demo_runs_on_a_new_database_of_the_ledgers_server(postgres_url: str) -> None:
    url = with_database(postgres_url, database_name(postgres_url), password=PASSWORD)
    before = databases(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {"GATEWAY_LEDGER__URL": url, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        cwd=ROOT,
        env=env,
        input="102\n/quit\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    banner = done.stdout.splitlines()[0]
    assert f"ledger in postgresql://postgres:***@/{database_name(url)}_demo_" in banner
    assert "您好，您的账户余额为" in done.stdout
    assert PASSWORD not in done.stdout
    assert databases(url) == before
