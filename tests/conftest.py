"""Shared fixtures: a running SMSC simulator, and gateways bound to it with a fresh ledger file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.clock import Clock
from gateway.config import Config, load_config
from gateway.converse.pytest_plugin import pytest_collect_file  # noqa: F401  (conversations as tests)
from gateway.smsc import SmscSimulator

pytest_plugins = ["support.postgres"]  # postgres_server, postgres_url: a real PostgreSQL for the tests that ask

SUBSCRIBER = "13800138000"


def gateway_config(tmp_path: Path, smsc_port: int, **overrides: str) -> Config:
    """The default config pointed at the simulator, with a ledger in ``tmp_path`` and quick reconnects."""
    environ = {
        "GATEWAY_SMPP__HOST": "127.0.0.1",
        "GATEWAY_SMPP__PORT": str(smsc_port),
        "GATEWAY_SMPP__SYSTEM_ID": "gateway",
        "GATEWAY_SMPP__PASSWORD": "secret",
        "GATEWAY_SMPP__RECONNECT_MIN": "0.05",
        "GATEWAY_SMPP__RECONNECT_MAX": "0.4",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MIN": "0.02",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MAX": "0.2",
        "GATEWAY_LEDGER__PATH": str(tmp_path / "gateway.db"),
        "GATEWAY_HTTP__PORT": "0",
        "GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT": "2",
    }
    environ.update({f"GATEWAY_{k.upper()}": v for k, v in overrides.items()})
    return load_config(environ=environ)


@pytest.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    simulator = SmscSimulator(port=0)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def ask(sim: SmscSimulator, msisdn: str, service_number: str, text: str) -> str:
    """Send one MO and return the text of the answer it gets (checking who it is from and to)."""
    before = len(sim.mts)
    await sim.send_mo(msisdn, service_number, text)
    mt = (await sim.wait_for_mts(before + 1))[-1]
    assert (mt.source_addr, mt.destination_addr) == (service_number, msisdn)
    return mt.text


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway(sim: SmscSimulator, tmp_path: Path) -> AsyncIterator[StartGateway]:
    """``await start_gateway(smpp__window="2", clock=...)``: a bound gateway, stopped after the test."""
    started: list[Gateway] = []

    async def start(*, clock: Clock | None = None, wait_bound: bool = True, **overrides: str) -> Gateway:
        gateway = Gateway(gateway_config(tmp_path, sim.port, **overrides), clock=clock)
        await gateway.start()
        started.append(gateway)
        if wait_bound:
            await gateway.link.wait_bound(5.0)
        return gateway

    yield start
    for gateway in started:
        if not gateway.stopped:
            await gateway.stop()
    await asyncio.sleep(0)


@pytest.fixture
async def gateway(start_gateway: StartGateway) -> Gateway:
    return await start_gateway()
