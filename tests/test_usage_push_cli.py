"""``gateway ledger usage FILE.csv`` and ``gateway push run KIND`` as real processes: exit codes, output,
and what the ledger holds afterwards. ``push run`` without ``--no-wait`` is followed to the end against a
gateway (in this process) that sends the reminders to the simulator."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from pathlib import Path

from conftest import StartGateway

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
HEADER = "id,msisdn,category,quantity,start,duration"
RICH, POOR, POORER = "13811110001", "13811110002", "13811110003"


def gateway_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_LEDGER__PATH": str(tmp_path / "gateway.db"),
            "GATEWAY_PUSHES__QUIET_START": "00:00",  # no quiet hours: the test must not depend on the hour
            "GATEWAY_PUSHES__QUIET_END": "00:00",
        }
    )
    command = [sys.executable, "-m", "gateway", "--config", str(ROOT / "config" / "gateway.toml"), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            NewSubscriber(msisdn=RICH, name="张伟", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=9000),
            NewSubscriber(msisdn=POOR, name="王芳", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=500),
            NewSubscriber(msisdn=POORER, name="李娜", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=80),
        ],
    )
    await db.close()


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(tmp_path / "gateway.db")) as db:
        return db.execute(sql).fetchall()


async def test_usage_file_is_rated_once_per_record_id(tmp_path: Path) -> None:
    await seed(tmp_path / "gateway.db")
    usage = tmp_path / "usage.csv"
    usage.write_text(
        f"{HEADER}\n"
        f"v1,{RICH},voice,61,2026-11-23T09:00:00+08:00,61\n"
        f"d1,{POORER},data,5000,2026-11-23T09:00:00+08:00,600\n"
        f"s1,{RICH},sms,1,2026-11-19T09:00:00+08:00,300000\n",
        encoding="utf-8",
    )

    first = gateway_cli(tmp_path, "ledger", "usage", str(usage))
    again = gateway_cli(tmp_path, "ledger", "usage", str(usage))

    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines() == [
        f"{usage}: 2 rated (charged 110 fen), 1 of them in part, 0 duplicates, 1 rejected",
        "  d1: 4920 not granted (insufficient_balance)",
        "  s1: rejected, too_long: lasts 300000 s, more than 259200 s (3 days)",
        f"  {POORER}: suspended",
    ]
    # The rated ones are duplicates now; a rejected record was never charged, so it is looked at again.
    assert (again.returncode, again.stdout.splitlines()[0]) == (
        0,
        f"{usage}: 0 rated (charged 0 fen), 0 of them in part, 2 duplicates, 1 rejected",
    )
    accounts = rows(tmp_path, "SELECT msisdn, cash FROM account ORDER BY msisdn")
    assert accounts == [(RICH, 9000 - 30), (POOR, 500), (POORER, 0)]
    assert rows(tmp_path, f"SELECT status FROM subscriber WHERE msisdn = '{POORER}'") == [("suspended",)]


def test_a_malformed_usage_file_names_every_problem_and_rates_nothing(tmp_path: Path) -> None:
    usage = tmp_path / "bad.csv"
    usage.write_text(
        f"{HEADER}\nv1,{RICH},voice,61,2026-11-23T09:00:00,61\nv2,{RICH},video,1,2026-11-23T09:00:00+08:00,1\n"
        f"v3,{RICH},voice,1.5,2026-11-23T09:00:00+08:00,1\n",
        encoding="utf-8",
    )

    done = gateway_cli(tmp_path, "ledger", "usage", str(usage))

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        'line 2: start: must carry its offset (+08:00), got "2026-11-23T09:00:00"',
        'line 3: category: must be one of voice, sms, mms, data, got "video"',
        'line 4: quantity: must be a whole number (a JSON integer), got "1.5"',
        "gateway: nothing was written (3 problems)",
    ]


async def test_push_run_selects_once_and_no_wait_returns(tmp_path: Path) -> None:
    await seed(tmp_path / "gateway.db")

    first = gateway_cli(tmp_path, "push", "run", "low_balance", "--no-wait")
    second = gateway_cli(tmp_path, "push", "run", "low_balance", "--no-wait")

    assert first.returncode == 0, first.stderr
    assert "campaign 1 (low_balance): 2 selected" in first.stderr
    assert first.stdout == "campaign 1: follow it with GET /api/v1/pushes/1\n"
    assert "campaign 2 (low_balance): 0 selected" in second.stderr  # once per cycle: nobody again
    assert rows(tmp_path, "SELECT msisdn, kind, status, campaign FROM push ORDER BY msisdn") == [
        (POOR, "low_balance", "pending", 1),
        (POORER, "low_balance", "pending", 1),
    ]
    assert rows(tmp_path, "SELECT id, kind, selected FROM campaign ORDER BY id") == [
        (1, "low_balance", 2),
        (2, "low_balance", 0),
    ]


async def test_push_run_follows_the_sending_to_the_end(
    tmp_path: Path, sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    await seed(tmp_path / "gateway.db")
    await start_gateway(pushes__quiet_start="00:00", pushes__quiet_end="00:00")

    done = await asyncio.to_thread(gateway_cli, tmp_path, "push", "run", "low_balance")

    assert done.returncode == 0, done.stderr
    # Receipts may or may not have come back when every reminder is accepted by the SMSC.
    assert done.stdout.startswith("campaign 1 (low_balance): selected 2, queued 2, sent 2, delivered ")
    assert done.stdout.endswith(", failed 0, dropped 0\n")
    texts = sorted((mt.destination_addr, mt.text) for mt in await sim.wait_for_mts(2))
    assert texts == [
        (POOR, "尊敬的客户，您的可用余额为5.00元，已低于10.00元，为避免停机影响使用，请及时充值。回复TDTX退订提醒。"),
        (POORER, "尊敬的客户，您的可用余额为0.80元，已低于10.00元，为避免停机影响使用，请及时充值。回复TDTX退订提醒。"),
    ]
    assert "[##############################] 2/2" in done.stderr
    assert "\r" not in done.stderr and "\033" not in done.stderr  # not a terminal: plain lines


async def test_push_run_with_no_gateway_sending_says_so_and_exits(tmp_path: Path) -> None:
    """No gateway runs on this ledger: once nothing is sent for --stall-timeout, it gives up following."""
    await seed(tmp_path / "gateway.db")

    done = gateway_cli(tmp_path, "push", "run", "low_balance", "--stall-timeout", "1.5")

    assert (done.returncode, done.stdout) == (1, "")
    lines = done.stderr.splitlines()
    assert lines[0] == "campaign 1 (low_balance): selecting… 2" and lines[1].startswith(
        "campaign 1 (low_balance): 2 selected in"
    )
    assert lines[2:] == [
        "the gateway sends them at up to 50/s (pushes.tps)",
        "[..............................] 0/2 queued 0 sent 0 delivered 0 failed 0 dropped 0",
        "gateway: nothing was sent for 1.5 s: is a gateway running on this ledger? The reminders stay queued;"
        " follow them with GET /api/v1/pushes/1",
    ]
    assert rows(tmp_path, "SELECT status, COUNT(*) FROM push GROUP BY status") == [("pending", 2)]
