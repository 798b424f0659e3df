"""The Dockerfile runs what the README documents. (No Docker engine here: its commands are checked.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import tomllib
import urllib.request
from pathlib import Path

from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(name + " ")]


def test_the_image_installs_like_the_readme_and_runs_as_a_non_root_user() -> None:
    assert "pip install --no-cache-dir -e ." in DOCKERFILE  # the README's `pip install -e .`
    assert instruction("FROM") == ["python:3.11-slim"]
    assert instruction("USER") == ["gateway"]
    assert instruction("VOLUME") == ['["/data"]']
    for source in ("pyproject.toml", "README.md", "gateway", "commands", "config"):
        assert any(source in line.split() for line in instruction("COPY")), source
        assert (ROOT / source).exists()


def test_the_entry_point_is_the_console_script_and_the_healthcheck_a_real_route() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert json.loads(instruction("ENTRYPOINT")[0]) == ["gateway"] and "gateway" in scripts
    assert json.loads(instruction("CMD")[0]) == ["run"]
    assert "http://127.0.0.1:8080/healthz" in DOCKERFILE


async def test_the_entry_point_starts_with_the_image_environment_and_answers_health(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    for match in re.finditer(r"(GATEWAY_\w+)=(\S+)", DOCKERFILE):
        env[match.group(1)] = match.group(2)
    assert env["GATEWAY_HTTP__PORT"] == "8080"
    sim = SmscSimulator(port=0)
    await sim.start()
    env.update(
        {
            "GATEWAY_LEDGER__PATH": str(tmp_path / "gateway.db"),
            "GATEWAY_HTTP__PORT": "0",
            "GATEWAY_HTTP__HOST": "127.0.0.1",
            "GATEWAY_SMPP__PORT": str(sim.port),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *json.loads(instruction("CMD")[0]),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await sim.wait_bound(10)
        # HTTP port 0 picks a free port: find it from the process's listening sockets
        port = await asyncio.to_thread(_listening_port, process.pid)
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        )
        assert json.loads(body) == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
        await sim.stop()


def _listening_port(pid: int) -> int:
    inodes = {
        os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
        for fd in os.listdir(f"/proc/{pid}/fd")
        if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    }
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
            return int(fields[1].split(":")[1], 16)
    raise AssertionError("the gateway listens on no TCP port")
