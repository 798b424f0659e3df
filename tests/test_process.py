"""The gateway as a real process: SIGKILL with acknowledged MOs unanswered, SIGTERM, bad config."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.process import ROOT, gateway_env, spawn

from gateway.smpp.constants import Status
from gateway.smsc import SmscSimulator


async def test_sigkill_with_acknowledged_mos_unanswered_then_each_answered_exactly_once(
    sim: SmscSimulator, tmp_path: Path
) -> None:
    env = gateway_env(tmp_path, sim.port)
    process = await spawn(env)
    try:
        await sim.wait_bound(10.0)
        sim.faults.hold_submits = True  # the answers leave the gateway but are never acknowledged
        senders = [f"1360000{n:04d}" for n in range(8)]
        statuses = await asyncio.gather(*(sim.send_mo(s, "10001", "102") for s in senders))
        assert statuses == [[Status.ESME_ROK]] * 8  # acknowledged: the gateway now owns them
        async with asyncio.timeout(5):
            while sim.submits < 8:
                await asyncio.sleep(0.02)
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert sim.mts == []

    sim.faults.hold_submits = False
    restarted = await spawn(env)
    try:
        mts = await sim.wait_for_mts(8, timeout=10)
        assert sorted(mt.destination_addr for mt in mts) == sorted(senders)
        await asyncio.sleep(0.5)
        assert len(sim.mts) == 8  # nothing answered twice
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 10) == 0


@pytest.mark.parametrize("event_loop", ["asyncio", "uvloop"])
async def test_sigterm_drains_unbinds_and_exits_zero(sim: SmscSimulator, tmp_path: Path, event_loop: str) -> None:
    """On either event loop (``gateway.event_loop``): bound, a 102 answered, a clean stop."""
    process = await spawn(gateway_env(tmp_path, sim.port, GATEWAY_GATEWAY__EVENT_LOOP=event_loop))
    await sim.wait_bound(10.0)
    await sim.send_mo("13800138000", "10001", "102")
    [mt] = await sim.wait_for_mts(1)
    assert mt.text.startswith("您好，") and mt.destination_addr == "13800138000"
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 10) == 0
    assert sim.received_unbinds == 1


def test_bad_config_stops_start_up_with_one_line_naming_the_key(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, 2775, GATEWAY_SMPP__PORT="abc")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        result.stderr == "gateway: config error: smpp.port: must be an integer, got 'abc' (from GATEWAY_SMPP__PORT)\n"
    )


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[smpp]\nprot = 2775\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), "run"],
        cwd=ROOT,
        env=gateway_env(tmp_path, 2775),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("gateway: config error: smpp.prot: unknown key (known: ")
    assert result.stderr.count("\n") == 1


async def test_a_second_sigterm_exits_at_once_with_130(sim: SmscSimulator, tmp_path: Path) -> None:
    process = await spawn(gateway_env(tmp_path, sim.port, GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT="60"))
    await sim.wait_bound(10.0)
    sim.faults.hold_submits = True  # the window cannot drain: the first SIGTERM would wait 60 s
    await sim.send_mo("13800138000", "10001", "102")
    async with asyncio.timeout(5):
        while sim.submits < 1:
            await asyncio.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    assert process.returncode is None  # still draining
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 5) == 130
