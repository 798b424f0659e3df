"""The gateway as a real process: the repository's root, an environment pointed at the simulator with a
ledger in a temporary directory, ``python -m gateway run`` started in it, and ``gateway ledger`` run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def gateway_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_SMPP__PORT": str(port),
            "GATEWAY_SMPP__RECONNECT_MIN": "0.05",
            "GATEWAY_SMPP__RECONNECT_MAX": "0.3",
            "GATEWAY_LEDGER__PATH": str(tmp_path / "gateway.db"),
            "GATEWAY_HTTP__PORT": "0",
            "GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT": "3",
            **extra,
        }
    )
    return env


async def spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    log_path = Path(env["GATEWAY_LEDGER__PATH"]).with_suffix(".log")
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


def ledger(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_LEDGER__PATH": str(tmp_path / "gateway.db"), **env_extra})
    command = [sys.executable, "-m", "gateway", "--config", str(ROOT / "config" / "gateway.toml"), "ledger", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
