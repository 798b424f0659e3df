"""The admin API against what no client means to send: lone surrogates, bodies nested without end, instants
at the ends of the calendar and integers past SQLite's. Each gets a JSON 400 (or 404 for a path id), never a
500, over a real gateway, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import SUBSCRIBER, StartGateway
from support.admin import NOW, TOKEN, TOKENS, seed

from gateway.admin.validate import MAX_DEPTH, safe
from gateway.app import Gateway
from gateway.clock import ManualClock


@pytest.fixture
async def admin(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    await seed(tmp_path / "gateway.db")
    return await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW))


async def send(gateway: Gateway, method: str, path: str, data: bytes | None = None) -> tuple[int, str, Any]:
    """(status, content type, the JSON body) of a request whose body is sent exactly as given."""
    url = f"http://127.0.0.1:{gateway.http.port}{path}"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.request(method, url, data=data, headers=headers) as response:
        text = await response.text()
        return (
            response.status,
            response.content_type,
            json.loads(text) if response.content_type.endswith("json") else text,
        )


async def nothing_written(gateway: Gateway) -> None:
    assert await gateway.store.fetch("SELECT * FROM payment") == []
    assert await gateway.store.fetch("SELECT * FROM usage_record") == []
    assert await gateway.store.fetch("SELECT * FROM usage_reject") == []


# --- lone surrogates -------------------------------------------------------------------------------

PAYMENT_FIELDS = "known: id, msisdn, amount_fen, channel"
RECORD_FIELDS = "known: id, msisdn, category, quantity, start, duration"
RECORD = f'"id": "r1", "msisdn": "{SUBSCRIBER}", "category": "sms", "quantity": 1, "duration": 0'

SURROGATES: list[tuple[str, str, bytes, dict[str, Any]]] = [
    (
        "in a value",
        "/api/v1/payments",
        b'{"id": "\\ud800", "msisdn": "13800138000", "amount_fen": 1, "channel": "\\u5fae\\u4fe1"}',
        {
            "code": "bad_field",
            "message": 'id: must be a string of 1 to 64 characters: letters, digits, . _ : -, got "\\ud800"',
            "field": "id",
        },
    ),
    (
        "in a field name",
        "/api/v1/payments",
        b'{"\\ud800": 1}',
        {"code": "unknown_field", "message": f"\\ud800: unknown field ({PAYMENT_FIELDS})", "field": "\\ud800"},
    ),
    (
        "low half in a field name among others",
        "/api/v1/payments",
        b'{"id": "p1", "x\\udc00y": 1}',
        {"code": "unknown_field", "message": f"x\\udc00y: unknown field ({PAYMENT_FIELDS})", "field": "x\\udc00y"},
    ),
    (
        "in a name given twice",
        "/api/v1/payments",
        b'{"\\ud800": 1, "\\ud800": 2}',
        {"code": "bad_json", "message": "\\ud800: given twice", "field": "\\ud800"},
    ),
    (
        "in a list value",
        "/api/v1/payments",
        b'{"id": ["\\udfff"], "msisdn": "13800138000", "amount_fen": 1, "channel": "\\u5fae\\u4fe1"}',
        {
            "code": "bad_field",
            "message": 'id: must be a string of 1 to 64 characters: letters, digits, . _ : -, got ["\\udfff"]',
            "field": "id",
        },
    ),
    (
        "in a usage record's field name",
        "/api/v1/usage",
        ('{"records": [{' + RECORD + ', "start": "2026-11-23T09:00:00+08:00", "\\ud800": 1}]}').encode(),
        {"code": "bad_field", "message": f"records: [0] \\ud800: unknown field ({RECORD_FIELDS})", "field": "records"},
    ),
    (
        "in a usage record's start",
        "/api/v1/usage",
        ('{"records": [{' + RECORD + ', "start": "2026-11-23\\ud800"}]}').encode(),
        {
            "code": "bad_field",
            "message": "records: [0] start: must be an ISO 8601 time with its offset, such as"
            ' 2026-11-23T10:00:00+08:00, got "2026-11-23\\ud800"',
            "field": "records",
        },
    ),
]


@pytest.mark.parametrize(("path", "data", "expected"), [s[1:] for s in SURROGATES], ids=[s[0] for s in SURROGATES])
async def test_a_lone_surrogate_is_refused_in_json_with_its_escape(
    admin: Gateway, path: str, data: bytes, expected: dict[str, Any]
) -> None:
    status, content_type, body = await send(admin, "POST", path, data)
    assert (status, content_type) == (400, "application/json")
    assert body == expected
    await nothing_written(admin)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("\ud800", "\\ud800"),
        ("a\udc00b", "a\\udc00b"),
        ("\ud83d\ude00", "\\ud83d\\ude00"),  # two code points in a Python str: each is lone
        (json.loads('"\\ud83d\\ude00"'), "😀"),  # a pair in JSON is one character
        ("李明😀", "李明😀"),
        ("", ""),
    ],
)
def test_safe_escapes_lone_surrogates_only(text: str, escaped: str) -> None:
    assert safe(text) == escaped
    safe(text).encode("utf-8")


# --- nesting ---------------------------------------------------------------------------------------

TOO_DEEP = {"code": "bad_json", "message": f"the body nests arrays and objects more than {MAX_DEPTH} deep"}


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000, b"[" * 33 + b"]" * 33],
    ids=["100000 [", "100000 objects", "100000 closed", "33 closed"],
)
async def test_a_body_nested_too_deep_is_refused(admin: Gateway, data: bytes) -> None:
    assert await send(admin, "POST", "/api/v1/payments", data) == (400, "application/json", TOO_DEEP)
    assert await send(admin, "POST", "/api/v1/usage", data) == (400, "application/json", TOO_DEEP)
    await nothing_written(admin)


async def test_nesting_up_to_the_limit_is_read_and_refused_by_field(admin: Gateway) -> None:
    inner = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # in the object: 32 deep in all
    data = f'{{"id": {inner}, "msisdn": "13800138000", "amount_fen": 1, "channel": "微信"}}'.encode()
    status, _, body = await send(admin, "POST", "/api/v1/payments", data)
    assert (status, body["code"], body["field"]) == (400, "bad_field", "id")
    deeper = f'{{"id": [{inner}], "msisdn": "13800138000", "amount_fen": 1, "channel": "微信"}}'.encode()
    assert await send(admin, "POST", "/api/v1/payments", deeper) == (400, "application/json", TOO_DEEP)


# --- instants --------------------------------------------------------------------------------------

SPAN = "from 2000-01-01 up to 2100-01-01 (UTC)"


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59+08:00",
        "0001-01-01T00:00:00+14:00",
        "2100-01-01T00:00:00+00:00",
        "2100-01-01T07:59:59-08:00",
        "1999-12-31T23:59:59+00:00",
        "2000-01-01T07:59:59+08:00",
    ],
)
async def test_a_start_outside_the_calendar_is_refused_naming_it(admin: Gateway, start: str) -> None:
    data = ('{"records": [{' + RECORD + f', "start": "{start}"}}]}}').encode()
    status, content_type, body = await send(admin, "POST", "/api/v1/usage", data)
    assert (status, content_type) == (400, "application/json")
    assert body == {
        "code": "bad_field",
        "message": f'records: [0] start: must be a time {SPAN}, got "{start}"',
        "field": "records",
    }
    await nothing_written(admin)


@pytest.mark.parametrize(
    "start", ["2000-01-01T00:00:00+00:00", "2099-12-31T23:59:59+00:00", "2100-01-01T07:59:59+08:00"]
)
async def test_a_start_at_the_ends_of_the_span_is_rated(admin: Gateway, start: str) -> None:
    data = ('{"records": [{' + RECORD + f', "start": "{start}"}}]}}').encode()
    status, _, body = await send(admin, "POST", "/api/v1/usage", data)
    assert status == 200, body
    assert [(r["id"], r["granted"], r["refused"]) for r in body["rated"]] == [("r1", 1, 0)]
    assert await admin.store.fetch("SELECT id FROM usage_record") == [("r1",)]


async def test_the_documented_start_says_its_span(admin: Gateway) -> None:
    status, _, document = await send(admin, "GET", "/api/v1/openapi.json")
    assert status == 200
    start = document["components"]["schemas"]["UsageRecord"]["properties"]["start"]
    assert start == {
        "type": "string",
        "format": "date-time",
        "description": f"when the usage began, ISO 8601 with offset; {SPAN}",
    }


# --- integers in the query and the path ------------------------------------------------------------

INT64 = 2**63 - 1


@pytest.mark.parametrize("after", ["9" * 30, str(INT64 + 1), "-1", "", "1.5", "0x10", "²", "١", "１", " 1"], ids=repr)
async def test_an_after_that_is_no_seq_is_refused_naming_it(admin: Gateway, after: str) -> None:
    status, content_type, body = await send(admin, "GET", f"/api/v1/usage/rejects?after={after.replace(' ', '%20')}")
    assert (status, content_type) == (400, "application/json")
    assert body == {
        "code": "bad_field",
        "message": f"after: must be digits, 0 to {INT64}, got {json.dumps(after, ensure_ascii=False)}",
        "field": "after",
    }


@pytest.mark.parametrize("after", [0, 1, INT64])
async def test_an_after_up_to_sqlites_largest_integer_is_taken(admin: Gateway, after: int) -> None:
    answer = await send(admin, "GET", f"/api/v1/usage/rejects?after={after}")
    assert answer == (200, "application/json", {"rejects": [], "next_after": after})


@pytest.mark.parametrize("campaign", ["9" * 30, str(INT64 + 1), "9" * 19, "²", "١"])
async def test_a_campaign_id_past_any_id_is_not_found(admin: Gateway, campaign: str) -> None:
    status, content_type, body = await send(admin, "GET", f"/api/v1/pushes/{campaign}")
    assert (status, content_type) == (404, "application/json")
    assert body == {"code": "not_found", "message": f"no campaign {campaign}"}
