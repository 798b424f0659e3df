"""The admin API's shared setup: the clock's instant, the two tokens, HTTP calls with a bearer token, and the
seeded ledger (李明 with cash and packages, a suspended and a terminated number)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from conftest import SUBSCRIBER

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers, add_subscription
from gateway.model.ledger import NewSubscriber

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
TOKEN = "test-token-a-0123456789"
OTHER_TOKEN = "test-token-b-9876543210"
TOKENS = f"{TOKEN},{OTHER_TOKEN}"

SUSPENDED = "13800000106"
TERMINATED = "13800000107"


async def call(
    port: int,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str | None = TOKEN,
    authorization: str | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    status, answer, _ = await call_with_headers(
        port, method, path, body, token=token, authorization=authorization, data=data
    )
    return status, answer


async def call_with_headers(
    port: int,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str | None = TOKEN,
    authorization: str | None = None,
    data: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"http://127.0.0.1:{port}{path}"
    kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body} if body is not None else {}
    async with aiohttp.ClientSession() as http, http.request(method, url, headers=headers, **kwargs) as response:
        return response.status, await response.json(), dict(response.headers)


async def seed(path: Path | str) -> None:
    """The people of these tests in the ledger at ``path`` (a SQLite file or a PostgreSQL URL)."""
    db = await open_database(str(path))
    people = [
        NewSubscriber(
            msisdn=SUBSCRIBER, name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=1000
        ),
        NewSubscriber(
            msisdn=SUSPENDED,
            name="刘洋",
            brand="神州行",
            plan="SZX",
            created_on=date(2024, 1, 1),
            status="suspended",
            cash=-230,
        ),
        NewSubscriber(
            msisdn=TERMINATED, name="王芳", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), status="terminated"
        ),
    ]
    await add_subscribers(db, people)
    await add_subscription(db, SUBSCRIBER, "GPRS10", NOW - 40 * 86400)
    await add_subscription(db, SUBSCRIBER, "LDTX", NOW - 90 * 86400, NOW - 30 * 86400)
    await db.close()
