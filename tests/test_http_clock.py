"""The gateway's clock control: movable in manual (test) mode, refused on the system clock."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import aiohttp
import pytest
from conftest import StartGateway

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator


async def call(port: int, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_health_answers(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    assert await call(gateway.http.port, "GET", "/healthz") == (200, {"status": "ok"})


async def test_the_system_clock_cannot_be_moved(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    status, body = await call(gateway.http.port, "POST", "/test/clock", {"advance": 60})
    assert (status, body["code"]) == (409, "clock_not_movable")
    status, body = await call(gateway.http.port, "GET", "/test/clock")
    assert (status, body["movable"]) == (200, False)


async def test_manual_clock_is_set_and_advanced(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(gateway__clock="manual")
    port = gateway.http.port
    status, body = await call(port, "POST", "/test/clock", {"at": "2026-11-15 23:59:59"})
    assert (status, body["now"], body["movable"]) == (200, "2026-11-15T23:59:59+08:00", True)
    status, body = await call(port, "POST", "/test/clock", {"advance": 1})
    assert (status, body["now"]) == (200, "2026-11-16T00:00:00+08:00")
    assert gateway.clock.now() == body["epoch"] == 1_794_758_400.0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"advance": -5}, "bad_field"),
        ({"advance": "1h"}, "bad_field"),
        ({"at": "tomorrow"}, "bad_field"),
        ({"advance": 1, "at": "2026-11-16"}, "bad_request"),
        ({}, "bad_request"),
        ([1], "bad_request"),
    ],
)
async def test_bad_moves_are_refused_by_name(start_gateway: StartGateway, body: object, code: str) -> None:
    gateway = await start_gateway(gateway__clock="manual")
    before = gateway.clock.now()
    status, answer = await call(gateway.http.port, "POST", "/test/clock", body)
    assert (status, answer["code"]) == (400, code)
    assert gateway.clock.now() == before


async def test_moving_the_clock_over_http_expires_a_confirmation(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    db = await open_database(str(tmp_path / "gateway.db"))
    await add_subscribers(
        db,
        [
            NewSubscriber(
                msisdn="13800138000", name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=5890
            )
        ],
    )
    await db.close()
    gateway = await start_gateway(gateway__clock="manual")
    port = gateway.http.port
    assert (await call(port, "POST", "/test/clock", {"at": "2026-11-15 10:00"}))[0] == 200
    await sim.send_mo("13800138000", "10086", "KTCL")
    [prompt] = await sim.wait_for_mts(1)
    assert prompt.text == (
        "您好，您将订购彩铃，月费5.00元。本月收取5.00元。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
    )
    assert (await call(port, "POST", "/test/clock", {"advance": 1801}))[0] == 200
    [_, notice] = await sim.wait_for_mts(2, timeout=5)
    assert notice.text == "您好，您订购彩铃的确认已超时，业务未办理，未扣费。"


async def test_readiness_follows_the_bind(sim: SmscSimulator, start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    port = gateway.http.port
    assert await call(port, "GET", "/readyz") == (200, {"status": "ready"})
    sim.faults.refuse_binds = -1
    await sim.drop_connections()
    status, body = await call(port, "GET", "/readyz")
    assert status == 503
    assert str(body["reason"]).startswith("the SMPP link is not bound")
    sim.faults.refuse_binds = 0
    await gateway.link.wait_bound(5)
    assert await call(port, "GET", "/readyz") == (200, {"status": "ready"})
