"""``POST /api/v1/pushes`` and ``GET /api/v1/pushes/{id}``: a campaign over the real gateway and simulator,
followed to delivered receipts; a second campaign selects nobody; an unknown kind or campaign is refused."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import Any

from conftest import StartGateway
from support.admin import TOKENS, call

from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai: outside the quiet hours
LOW = [f"1381111000{n}" for n in range(1, 6)]  # 5 below 10元
HIGH = [f"1381111100{n}" for n in range(1, 4)]  # 3 above


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    people = [
        NewSubscriber(msisdn=m, name="测试", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=100 * n)
        for n, m in enumerate(LOW, 1)
    ] + [
        NewSubscriber(msisdn=m, name="测试", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=5000)
        for m in HIGH
    ]
    await add_subscribers(db, people)
    await db.close()


async def progress_until(port: int, campaign: int, done: Any, *, seconds: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status, body = await call(port, "GET", f"/api/v1/pushes/{campaign}")
        assert status == 200, body
        if done(body) or time.monotonic() > deadline:
            return dict(body)
        await asyncio.sleep(0.05)


async def test_a_campaign_is_selected_sent_and_delivered_once(
    tmp_path: Path, sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    await seed(tmp_path / "gateway.db")
    sim.auto_receipts = True  # the simulator answers each MT with a DELIVRD receipt
    gateway = await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW))
    port = gateway.http.port

    status, started = await call(port, "POST", "/api/v1/pushes", {"kind": "low_balance"})
    assert (status, started["id"], started["kind"]) == (202, 1, "low_balance")
    body = await progress_until(port, 1, lambda b: b["delivered"] == 5)

    assert {k: body[k] for k in ("selecting", "selected", "pending", "queued", "sent", "delivered")} == {
        "selecting": False,
        "selected": 5,
        "pending": 0,
        "queued": 5,
        "sent": 5,
        "delivered": 5,
    }
    assert (body["failed"], body["dropped"], body["in_flight"], body["settled"]) == (0, 0, 0, True)
    received = sorted((mt.destination_addr, mt.text) for mt in sim.mts)
    assert received == [
        (m, f"尊敬的客户，您的可用余额为{n}.00元，已低于10.00元，为避免停机影响使用，请及时充值。回复TDTX退订提醒。")
        for n, m in enumerate(LOW, 1)
    ]
    assert {mt.registered_delivery for mt in sim.mts} == {1}  # receipts asked for ...
    stats = await gateway.store.fetch(
        "SELECT m.delivery_stat FROM push p JOIN mt m ON m.id = p.mt_id WHERE p.campaign = 1"
    )
    assert stats == [("DELIVRD",)] * 5  # ... and recorded

    status, again = await call(port, "POST", "/api/v1/pushes", {"kind": "low_balance"})
    assert status == 202
    second = await progress_until(port, again["id"], lambda b: not b["selecting"])
    assert (second["selected"], second["settled"]) == (0, True)  # once per cycle: nobody twice
    await asyncio.sleep(0.3)
    assert len(sim.mts) == 5


async def test_unknown_kinds_and_campaigns_are_refused(
    tmp_path: Path, sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW))
    port = gateway.http.port

    status, body = await call(port, "POST", "/api/v1/pushes", {"kind": "suspension"})
    assert (status, body["code"], body["field"]) == (400, "bad_field", "kind")
    assert (await call(port, "GET", "/api/v1/pushes/99"))[0] == 404
    assert (await call(port, "GET", "/api/v1/pushes/abc"))[0] == 404
