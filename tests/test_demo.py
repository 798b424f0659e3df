"""``python -m gateway demo``: the handset prompt, driven through a pipe, as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from support.texts import HELP_10086

from gateway.ledger.calendar import Calendar

ROOT = Path(__file__).resolve().parent.parent
BANNER = re.compile(
    r"SMS self-service gateway demo: simulator on 127\.0\.0\.1:\d+, gateway bound, ledger in (?P<ledger>\S+)"
)


def run_demo(stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def transcript(stdout: str) -> list[str]:
    """The lines after the banner (four lines and a blank one)."""
    lines = stdout.splitlines()
    assert lines[1:3] == [
        "You are 13800138000, texting 10086. Type a code (e.g. CXYE, CXLL, KTGPRS20 then 是, 0000; on 10001:",
        "101-105, 108, 110, 501) and press Enter. Try /from 13900139000 (全球通, credit limit) too.",
    ]
    assert lines[3].startswith("Commands: /to 10086|10001, /from MSISDN, /help, /quit (Ctrl-D also quits). Logs: ")
    assert lines[3].endswith("/demo.log") and lines[4] == ""
    return lines[5:]


def end_of_next_month() -> str:
    """The demo subscriber's gift book expires on the last day of next month (seed_demo)."""
    today = Calendar.named("Asia/Shanghai").today(time.time())
    first_after = date(today.year + (today.month + 1) // 12, (today.month + 1) % 12 + 1, 1)
    last = first_after - timedelta(days=1)
    return f"{last.year}年{last.month}月{last.day}日"


def test_codes_piped_to_the_demo_are_answered_from_the_demo_ledger() -> None:
    done = run_demo("CXYE\n/to 10001\n105\n/quit\n")
    assert (done.returncode, done.stderr) == (0, "")
    banner = BANNER.fullmatch(done.stdout.splitlines()[0])
    assert banner is not None
    assert transcript(done.stdout) == [
        "13800138000 → 10086> CXYE",
        "  10086 → 13800138000: 您好，您的账户余额为78.90元，其中现金余额58.90元，"
        f"赠送余额20.00元（{end_of_next_month()}到期）；可用余额78.90元。",
        "13800138000 → 10001> 105",
        "  10001 → 13800138000: 您好，您当前的积分为1286分。",
    ]
    assert not Path(banner["ledger"]).exists()  # the throw-away ledger went with the demo


def test_from_switches_the_subscriber_and_end_of_input_quits() -> None:
    done = run_demo("/from 13900139000\n\n501\n/to 10086\nhello\n")  # no /quit: end of input leaves
    assert (done.returncode, done.stderr) == (0, "")
    assert transcript(done.stdout) == [
        "13900139000 → 10086> 501",
        f"  10086 → 13900139000: {HELP_10086}",
        "13900139000 → 10086> hello",
        f"  10086 → 13900139000: {HELP_10086}",
    ]


def test_every_example_of_the_banner_and_the_readme_answers_as_it_says() -> None:
    """The banner's codes and the README's order example, for the demo subscriber: none is the help text."""
    done = run_demo("CXYE\nCXLL\nKTGPRS20\n是\n0000\n/to 10001\n101\n102\n103\n104\n105\n108\n110\n501\n")
    assert (done.returncode, done.stderr) == (0, "")
    answers = [line for line in transcript(done.stdout) if line.startswith("  ")]
    assert len(answers) == 13 and not any("请回复以下代码" in line for line in answers)
    assert answers[2].startswith("  10086 → 13800138000: 您好，您将订购GPRS20元包")
    assert answers[3].startswith("  10086 → 13800138000: 您好，您已成功订购GPRS20元包")


def test_slash_commands_are_checked_and_never_sent_as_sms() -> None:
    done = run_demo("/to 99999\n/from abc\n/bogus\n/help\n102\n")
    assert (done.returncode, done.stderr) == (0, "")
    assert transcript(done.stdout)[:7] == [
        "13800138000 → 10086> /to 99999",
        "  99999 is not a service number here: /to 10086|10001",
        "13800138000 → 10086> /from abc",
        "  abc is not a phone number: /from 13900139000, say",
        "13800138000 → 10086> /bogus",
        "  unknown command /bogus: /help lists them",
        "13800138000 → 10086> /help",
    ]
    assert "WARNING" not in done.stdout
