"""``python -m gateway demo``: the handset prompt, driven through a pipe, as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from test_pipeline_e2e import HELP_10001, HELP_10086

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
    """The lines after the banner (three lines and a blank one)."""
    lines = stdout.splitlines()
    assert lines[1:4] == [
        "You are 13800138000, texting 10086. Type a code (e.g. CXYE, 102, KTGPRS10) and press Enter.",
        "Commands: /to NUMBER (service number), /from MSISDN, /quit. Ctrl-D also quits.",
        "",
    ]
    return lines[4:]


def test_codes_piped_to_the_demo_are_answered_by_each_service_number() -> None:
    done = run_demo("CXYE\n/to 10001\n102\n/quit\n")
    assert (done.returncode, done.stderr) == (0, "")
    banner = BANNER.fullmatch(done.stdout.splitlines()[0])
    assert banner is not None
    assert transcript(done.stdout) == [
        "13800138000 → 10086> CXYE",
        f"  10086 → 13800138000: {HELP_10086}",
        "13800138000 → 10001> 102",
        f"  10001 → 13800138000: {HELP_10001}",
    ]
    assert not Path(banner["ledger"]).exists()  # the throw-away ledger went with the demo


def test_from_switches_the_subscriber_and_end_of_input_quits() -> None:
    done = run_demo("/from 13900139000\n\n101\n/to 10086\nKTGPRS10\n")  # no /quit: end of input leaves
    assert (done.returncode, done.stderr) == (0, "")
    assert transcript(done.stdout) == [
        "13900139000 → 10086> 101",
        f"  10086 → 13900139000: {HELP_10086}",
        "13900139000 → 10086> KTGPRS10",
        f"  10086 → 13900139000: {HELP_10086}",
    ]
