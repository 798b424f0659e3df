"""``gateway ledger import|seed|show`` as real processes: exit codes, what they print, what the ledger holds."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from support.process import ledger

from gateway.ledger.calendar import Calendar, add_months, days_in_month, parse_cycle

HEADER = "msisdn,name,brand,vip,plan,balance,gift,password"


def count(tmp_path: Path, table: str) -> int:
    with closing(sqlite3.connect(tmp_path / "gateway.db")) as db:
        (n,) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(n)


def test_import_a_good_file(tmp_path: Path) -> None:
    csv = tmp_path / "good.csv"
    csv.write_text(
        f"{HEADER}\n13811110001,张伟,神州行,none,,12.5,,582947\n13811110002,王芳,全球通,gold,QQT88,-3.20,5,\n"
    )

    done = ledger(tmp_path, "import", str(csv))

    assert (done.returncode, done.stdout, done.stderr) == (0, f"imported 2 subscribers from {csv}\n", "")
    with closing(sqlite3.connect(tmp_path / "gateway.db")) as db:
        rows = db.execute("SELECT msisdn, cash, gift FROM account ORDER BY msisdn").fetchall()
    assert rows == [("13811110001", 1250, 0), ("13811110002", -320, 500)]


def test_import_a_bad_file_names_every_problem_and_changes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n13811110001,张伟,神州行,none,,1,,\n", encoding="utf-8")
    assert ledger(tmp_path, "import", str(good)).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\n13811110002,王芳,神州行,none,,2,,\n13811110003,李娜,神州行,none,,12.345,,\n"
        "13811110001,赵六,神州行,none,,1,,12345\n13811110004,钱七,神州行,none,,1,,\n",
        encoding="utf-8-sig",
    )

    done = ledger(tmp_path, "import", str(bad))

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "line 3: balance '12.345' has more than 2 decimals",
        "line 4: password must be 6 digits",
        "gateway: nothing was written (2 problems)",
    ]
    assert "12345\n" not in done.stderr
    assert count(tmp_path, "subscriber") == 1


def test_import_a_number_already_in_the_ledger(tmp_path: Path) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text(f"{HEADER}\n13811110001,张伟,神州行,none,,1,,\n", encoding="utf-8")
    assert ledger(tmp_path, "import", str(csv)).returncode == 0

    again = ledger(tmp_path, "import", str(csv))

    assert (again.returncode, again.stderr.splitlines()) == (
        1,
        ["line 2: msisdn 13811110001 is already in the ledger", "gateway: nothing was written (1 problem)"],
    )
    assert count(tmp_path, "subscriber") == 1


def test_import_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    csv = tmp_path / "gbk.csv"
    csv.write_bytes(f"{HEADER}\n13811110001,张伟,神州行,none,,1,,\n".encode("gbk"))

    done = ledger(tmp_path, "import", str(csv))

    assert (done.returncode, done.stderr) == (
        1,
        f"gateway: {csv}: not UTF-8 text (byte {len(HEADER) + 13}); save it as UTF-8\n",
    )


def test_seed_the_demo_then_show_the_demo_subscriber(tmp_path: Path) -> None:
    seeded = ledger(tmp_path, "seed", "--demo")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("seeded 37 demo subscribers (13800138000, 13900139000, ...) in ")

    shown = ledger(tmp_path, "show", "13800138000")

    assert (shown.returncode, shown.stderr) == (0, "")
    lines = shown.stdout.splitlines()
    cycle = Calendar.named("Asia/Shanghai").cycle(time.time())
    next_month = add_months(cycle, 1)
    gift_expires = f"{next_month}-{days_in_month(next_month):02d}"
    assert lines[:15] == [
        "msisdn:       13800138000",
        "name:         李明",
        "brand:        动感地带",
        "plan:         DGDD28 动感地带28元套餐 (prepaid, 28.00元/month)",
        "vip:          silver",
        "status:       active",
        f"created on:   {add_months(cycle, -40)}-12",
        "password:     set",
        "ID number:    set",
        "cash:         58.90元",
        f"gift:         20.00元 (expires {gift_expires})",
        "credit limit: 0.00元",
        "available:    78.90元",
        f"valid until:  {add_months(cycle, 12)}-{days_in_month(add_months(cycle, 12)):02d}",
        "points:       1286",
    ]
    charged = lines.index(f"charges in {cycle}: 49.85元")
    assert lines[charged + 1 : charged + 6] == [
        "  plan       28.00元",
        "  vas        3.00元",
        "  data pack  10.00元",
        "  voice      4.65元",
        "  sms        4.20元",
    ]
    assert "  sms    42         charged 4.20元" in lines
    assert (
        f"  {add_months(cycle, -1)} 51.00元 (plan 28.00元, vas 3.00元, voice 6.20元, sms 3.80元, data 10.00元)" in lines
    )
    year, month = parse_cycle(add_months(cycle, -1))
    assert f"  {year:04d}-{month:02d}-03 21:30 50.00元 支付宝" in lines
    assert "582947" not in shown.stdout


def test_show_an_unknown_number(tmp_path: Path) -> None:
    done = ledger(tmp_path, "show", "13899999999")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "gateway: 13899999999 is not in the ledger\n")


def test_seed_a_count_for_benchmarks(tmp_path: Path) -> None:
    done = ledger(tmp_path, "seed", "--count", "1000")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("seeded 1000 subscribers 13000000000 to 13000000999 in ")
    assert (count(tmp_path, "subscriber"), count(tmp_path, "account"), count(tmp_path, "subscription")) == (
        1000,
        1000,
        100,
    )


def test_a_products_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    done = ledger(tmp_path, "show", "13800138000", GATEWAY_GATEWAY__PRODUCTS=str(missing))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"gateway: config error: gateway.products: {missing}: cannot read: ")


def test_a_bad_config_key_is_a_config_error(tmp_path: Path) -> None:
    done = ledger(tmp_path, "show", "13800138000", GATEWAY_LEDGER__PAHT="x")
    assert (done.returncode, done.stderr) == (
        2,
        "gateway: config error: ledger.paht: unknown key (from GATEWAY_LEDGER__PAHT)\n",
    )
