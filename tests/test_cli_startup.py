"""What a newcomer meets first (issue 13, items 14, 15 and 18): start-up failures are one line and exit 2,
options work after the subcommand, the simulator stops cleanly, and CLI mistakes are named. Subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.process import ROOT, gateway_env, spawn

from gateway.smsc import SmscSimulator


def gateway(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gateway", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_http_port_already_taken_is_one_line_and_exit_2(tmp_path: Path, taken_port: int) -> None:
    """It used to print a traceback and hang with the ledger's threads alive."""
    env = gateway_env(tmp_path, free_port(), GATEWAY_HTTP__PORT=str(taken_port))
    done = gateway(env, "run")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"gateway: cannot listen on 127.0.0.1:{taken_port}: address already in use"
    assert "Traceback" not in done.stderr


def test_a_ledger_that_is_not_a_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").write_bytes(b"this is not a database\n" * 400)
    env = gateway_env(tmp_path, free_port())
    done = gateway(env, "run", "--log-format", "text")  # the top-level option after the subcommand
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"gateway: cannot open the ledger {tmp_path / 'gateway.db'}: file is not a database"
    )


def test_a_ledger_in_a_directory_it_cannot_write_is_one_line_and_exit_2() -> None:
    """Only the one line: a failed open used to leave aiosqlite's thread to print a traceback after it."""
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    if as_nobody and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: every directory is writable")
    with tempfile.TemporaryDirectory() as scratch:  # not tmp_path: nobody must be able to reach it
        locked = Path(scratch) / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        Path(scratch).chmod(0o755)
        env = gateway_env(locked, free_port())
        for _ in range(5):  # the traceback came from a race: give it a few chances
            command = [*as_nobody, sys.executable, "-m", "gateway", "run"]
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False)
            assert (done.returncode, done.stderr) == (
                2,
                f"gateway: cannot open the ledger {locked / 'gateway.db'}: unable to open database file\n",
            )


def test_options_may_come_before_or_after_the_subcommand(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, free_port())
    config = str(ROOT / "config" / "gateway.toml")
    before = gateway(env, "--config", config, "ledger", "show", "13800138000")
    after = gateway(env, "ledger", "show", "13800138000", "--config", config, "--log-format", "text")
    assert before.returncode == after.returncode == 1
    assert before.stderr == after.stderr == "gateway: 13800138000 is not in the ledger\n"


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        (["run"], {"--config", "--log-format"}),
        (["smsc-sim"], {"--log-format"}),
        (["demo"], {"--config", "--log-format"}),
        (["ledger", "seed"], {"--config"}),
        (["push", "run"], {"--config"}),
        (["converse"], set()),
    ],
)
def test_every_subcommand_describes_the_options_it_reads_and_their_defaults(
    command: list[str], reads: set[str]
) -> None:
    done = gateway({}, *command, "--help")
    assert done.returncode == 0
    assert {option for option in ("--config", "--log-format") if option in done.stdout} == reads
    if command == ["smsc-sim"]:
        assert "SMPP port (0: a free one, printed) (default: 2775)" in " ".join(done.stdout.split())
    if command == ["demo"]:
        assert "the subscriber you type as (default: 13800138000)" in " ".join(done.stdout.split())


def test_an_option_a_subcommand_does_not_read_is_still_taken_after_it() -> None:
    done = gateway({}, "converse", "--log-format", "text", "--help")
    assert done.returncode == 0


def test_the_demo_refuses_a_subscriber_that_is_not_a_phone_number() -> None:
    done = gateway({}, "demo", "--msisdn", "abc")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "gateway demo: error: argument --msisdn: 'abc' is not a phone number"


def test_ledger_show_of_something_not_a_number_says_so(tmp_path: Path) -> None:
    done = gateway(gateway_env(tmp_path, free_port()), "ledger", "show", "abc")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "gateway ledger show: error: argument msisdn: 'abc' is not a phone number"


def test_a_conversation_that_cannot_run_is_an_error_in_the_summary(tmp_path: Path) -> None:
    done = gateway({}, "converse", str(tmp_path / "nonexistent.conv"))
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("0 passed, 0 failed, 1 error in ")


async def test_the_chosen_http_port_is_logged(sim: SmscSimulator, tmp_path: Path) -> None:
    env = gateway_env(tmp_path, sim.port, GATEWAY_HTTP__PORT="0")
    process = await spawn(env)
    try:
        await sim.wait_bound(15)
        log = tmp_path / "gateway.log"
        async with asyncio.timeout(10):
            while "gateway started" not in log.read_text():
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    [started] = [json.loads(line) for line in log.read_text().splitlines() if '"gateway started"' in line]
    host, port = started["http"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0


async def test_the_simulator_stops_cleanly_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "smsc-sim", "--port", "0", "--control-port", "0",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert line.startswith(b"SMSC simulator: SMPP on 127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0  # it was 143
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
