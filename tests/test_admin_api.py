"""The admin API end to end: a seeded ledger, the gateway bound to the simulator, HTTP calls with and
without a token, and the rows they leave. The clock stands at 2026-11-23 10:13:20 in Shanghai."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiohttp import web
from conftest import SUBSCRIBER, StartGateway
from support.admin import NOW, OTHER_TOKEN, SUSPENDED, TERMINATED, TOKEN, TOKENS, call, call_with_headers, seed

from gateway.admin.validate import fen
from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.db.target import is_url
from gateway.smsc import SmscSimulator

STRANGER = "13999999999"  # not in the ledger


@pytest.fixture
async def admin(start_gateway: StartGateway, ledger_at: str) -> Gateway:
    """A gateway with two admin tokens over the seeded ledger (a SQLite file, or a PostgreSQL database), its
    clock at NOW."""
    await seed(ledger_at)
    where = {"ledger__url": ledger_at} if is_url(ledger_at) else {"ledger__path": ledger_at}
    return await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW), **where)


async def cash_in_db(gateway: Gateway, msisdn: str) -> int:
    [(cash,)] = await gateway.store.fetch("SELECT cash FROM account WHERE msisdn = ?", (msisdn,))
    return int(cash)


# --- tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-0123456789",
        f"Basic {TOKEN}",
        "Bearer ",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        TOKEN,
    ],
)
async def test_a_call_without_a_good_token_is_refused_and_counted(admin: Gateway, authorization: str | None) -> None:
    port = admin.http.port
    before = admin.admin.auth.refused
    for path in (f"/api/v1/subscribers/{SUBSCRIBER}", "/api/v1/openapi.json", "/api/v1/no-such-thing"):
        status, body, headers = await call_with_headers(port, "GET", path, token=None, authorization=authorization)
        assert (status, body["code"]) == (401, "unauthorized")
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body = await call(port, "POST", "/api/v1/payments", {"id": "x"}, token=None, authorization=authorization)
    assert (status, body["code"]) == (401, "unauthorized")
    assert admin.admin.auth.refused == before + 4
    assert await cash_in_db(admin, SUBSCRIBER) == 1000


async def test_either_token_is_let_in_and_other_paths_need_none(admin: Gateway) -> None:
    port = admin.http.port
    for token in (TOKEN, OTHER_TOKEN):
        assert (await call(port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}", token=token))[0] == 200
    assert (await call(port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}", authorization=f"bearer {TOKEN}"))[0] == 200
    assert await call(port, "GET", "/healthz", token=None) == (200, {"status": "ok"})
    assert admin.admin.auth.refused == 0


async def test_without_configured_tokens_every_admin_call_is_refused(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    status, body = await call(gateway.http.port, "GET", "/api/v1/openapi.json", token="anything-0123456789")
    assert (status, body["code"]) == (401, "unauthorized")
    assert gateway.admin.auth.refused == 1


async def test_no_token_reaches_the_logs(admin: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = admin.http.port
    await call(port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}", token="wrong-token-that-is-long")
    await call(
        port, "POST", "/api/v1/payments", {"id": "p1", "msisdn": SUBSCRIBER, "amount_fen": 100, "channel": "微信"}
    )
    await call(port, "GET", "/api/v1/subscribers/12345", token=TOKEN)
    logged = caplog.text + " ".join(str(vars(record)) for record in caplog.records)
    assert "admin: payment" in logged
    for secret in (TOKEN, OTHER_TOKEN, "wrong-token-that-is-long"):
        assert secret not in logged


# --- subscribers -----------------------------------------------------------------------------------


async def test_a_subscriber_is_created_read_and_its_status_changed(admin: Gateway) -> None:
    port = admin.http.port
    new = {"msisdn": "13700000001", "name": "赵磊", "plan": "DGDD28", "vip": "gold", "balance_fen": 2500}
    status, created, headers = await call_with_headers(port, "POST", "/api/v1/subscribers", new)
    assert status == 201
    assert headers["Location"] == "/api/v1/subscribers/13700000001"
    assert created == {
        "msisdn": "13700000001",
        "name": "赵磊",
        "brand": "动感地带",
        "vip": "gold",
        "plan": "DGDD28",
        "status": "active",
        "created_on": "2026-11-23",
        "account": {
            "cash_fen": 2500,
            "gift_fen": 0,
            "gift_expires": None,
            "credit_limit_fen": 0,
            "valid_until": None,
            "points": 0,
            "balance_fen": 2500,
            "available_fen": 2500,
        },
    }
    assert await call(port, "GET", "/api/v1/subscribers/13700000001") == (200, created)
    status, body = await call(port, "PATCH", "/api/v1/subscribers/13700000001", {"status": "suspended"})
    assert (status, body["status"]) == (200, "suspended")
    assert (await call(port, "GET", "/api/v1/subscribers/13700000001"))[1]["status"] == "suspended"
    status, body = await call(port, "PATCH", "/api/v1/subscribers/13700000001", {"status": "active"})
    assert (status, body["status"]) == (200, "active")
    [row] = await admin.store.fetch(
        "SELECT name, brand, vip, plan, status, password_hash, id_hash FROM subscriber WHERE msisdn = '13700000001'"
    )
    assert row == ("赵磊", "动感地带", "gold", "DGDD28", "active", None, None)


async def test_defaults_of_a_new_subscriber(admin: Gateway) -> None:
    status, body = await call(admin.http.port, "POST", "/api/v1/subscribers", {"msisdn": "13700000002", "name": "孙丽"})
    assert status == 201
    assert (body["plan"], body["brand"], body["vip"], body["account"]["cash_fen"]) == ("SZX", "神州行", "none", 0)


async def test_a_number_already_in_the_ledger_is_not_created_again(admin: Gateway) -> None:
    status, body = await call(admin.http.port, "POST", "/api/v1/subscribers", {"msisdn": SUBSCRIBER, "name": "某人"})
    assert (status, body["code"], body["field"]) == (409, "conflict", "msisdn")
    assert (await call(admin.http.port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}"))[1]["name"] == "李明"


async def test_a_brand_that_is_not_the_plans_is_refused(admin: Gateway) -> None:
    new = {"msisdn": "13700000003", "name": "周杰", "plan": "QQT88", "brand": "神州行"}
    status, body = await call(admin.http.port, "POST", "/api/v1/subscribers", new)
    assert (status, body["code"], body["field"]) == (400, "bad_field", "brand")
    assert body["message"] == "brand: the plan QQT88 is a 全球通 plan, not 神州行"


async def test_terminated_is_final(admin: Gateway) -> None:
    port = admin.http.port
    status, body = await call(port, "PATCH", f"/api/v1/subscribers/{TERMINATED}", {"status": "active"})
    assert (status, body["code"], body["field"]) == (409, "conflict", "status")
    status, body = await call(port, "PATCH", f"/api/v1/subscribers/{TERMINATED}", {"status": "terminated"})
    assert (status, body["status"]) == (200, "terminated")  # the same status again changes nothing


async def test_unknown_and_malformed_numbers(admin: Gateway) -> None:
    port = admin.http.port
    for path in ("", "/subscriptions", "/messages"):
        status, body = await call(port, "GET", f"/api/v1/subscribers/{STRANGER}{path}")
        assert (status, body["code"]) == (404, "not_found")
        status, body = await call(port, "GET", f"/api/v1/subscribers/1380013800{path}")
        assert (status, body["code"], body["field"]) == (400, "bad_field", "msisdn")
    status, body = await call(port, "PATCH", f"/api/v1/subscribers/{STRANGER}", {"status": "active"})
    assert (status, body["code"]) == (404, "not_found")


async def test_unknown_routes_and_methods_answer_json(admin: Gateway) -> None:
    port = admin.http.port
    status, body = await call(port, "GET", "/api/v1/nothing-here")
    assert (status, body["code"]) == (404, "not_found")
    status, body, headers = await call_with_headers(port, "DELETE", f"/api/v1/subscribers/{SUBSCRIBER}")
    assert (status, body["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == "GET, PATCH"


async def test_subscriptions_are_listed_newest_first(admin: Gateway) -> None:
    status, body = await call(admin.http.port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}/subscriptions")
    assert status == 200
    assert body == {
        "msisdn": SUBSCRIBER,
        "items": [
            {
                "id": 1,
                "product": "GPRS10",
                "name": "GPRS10元包",
                "monthly_fee_fen": 1000,
                "started_at": "2026-10-14T10:13:20+08:00",
                "ends_at": None,
                "running": True,
            },
            {
                "id": 2,
                "product": "LDTX",
                "name": "来电提醒",
                "monthly_fee_fen": 300,
                "started_at": "2026-08-25T10:13:20+08:00",
                "ends_at": "2026-10-24T10:13:20+08:00",
                "running": False,
            },
        ],
    }


# --- payments --------------------------------------------------------------------------------------

PAYMENT = {"id": "wx-20261123-0001", "msisdn": SUBSCRIBER, "amount_fen": 5000, "channel": "微信"}


async def test_a_payment_id_pays_once(admin: Gateway) -> None:
    port = admin.http.port
    status, first = await call(port, "POST", "/api/v1/payments", PAYMENT)
    assert (status, first) == (
        201,
        {
            "id": "wx-20261123-0001",
            "msisdn": SUBSCRIBER,
            "amount_fen": 5000,
            "channel": "微信",
            "paid_at": "2026-11-23T10:13:20+08:00",
        },
    )
    assert isinstance(admin.clock, ManualClock)
    admin.clock.advance(60)
    assert await call(port, "POST", "/api/v1/payments", PAYMENT) == (200, first)  # the first payment, as it was
    account = (await call(port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}"))[1]["account"]
    assert (account["cash_fen"], account["balance_fen"]) == (6000, 6000)
    assert await cash_in_db(admin, SUBSCRIBER) == 6000
    rows = await admin.store.fetch("SELECT msisdn, amount, channel, reference FROM payment")
    assert rows == [(SUBSCRIBER, 5000, "微信", "wx-20261123-0001")]


async def test_the_same_id_at_once_still_pays_once(admin: Gateway) -> None:
    answers = await asyncio.gather(*(call(admin.http.port, "POST", "/api/v1/payments", PAYMENT) for _ in range(8)))
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({str(body) for _, body in answers}) == 1
    assert await cash_in_db(admin, SUBSCRIBER) == 6000


@pytest.mark.parametrize(
    "change", [{"amount_fen": 3000}, {"channel": "支付宝"}, {"msisdn": SUSPENDED}], ids=["amount", "channel", "msisdn"]
)
async def test_an_id_used_again_for_another_payment_is_a_conflict(admin: Gateway, change: dict[str, Any]) -> None:
    port = admin.http.port
    assert (await call(port, "POST", "/api/v1/payments", PAYMENT))[0] == 201
    status, body = await call(port, "POST", "/api/v1/payments", PAYMENT | change)
    assert (status, body["code"], body["field"]) == (409, "conflict", "id")
    assert (await cash_in_db(admin, SUBSCRIBER), await cash_in_db(admin, SUSPENDED)) == (6000, -230)


async def test_payments_to_unknown_or_terminated_numbers_are_refused(admin: Gateway) -> None:
    port = admin.http.port
    status, body = await call(port, "POST", "/api/v1/payments", PAYMENT | {"msisdn": STRANGER})
    assert (status, body["code"]) == (404, "not_found")
    status, body = await call(port, "POST", "/api/v1/payments", PAYMENT | {"msisdn": TERMINATED})
    assert (status, body["code"]) == (409, "terminated")
    assert await admin.store.fetch("SELECT * FROM payment") == []
    status, body = await call(port, "POST", "/api/v1/payments", PAYMENT | {"msisdn": SUSPENDED})
    assert status == 201  # a suspended number may pay (restoring it is credit control's work, not this call's)
    assert await cash_in_db(admin, SUSPENDED) == 4770


# --- strict validation -----------------------------------------------------------------------------

BAD_PAYMENTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown field", PAYMENT | {"note": "x"}, "unknown_field", "note"),
    ("msisdn short", PAYMENT | {"msisdn": "1380013800"}, "bad_field", "msisdn"),
    ("msisdn long", PAYMENT | {"msisdn": "138001380000"}, "bad_field", "msisdn"),
    ("msisdn not 1", PAYMENT | {"msisdn": "23800138000"}, "bad_field", "msisdn"),
    ("msisdn number", PAYMENT | {"msisdn": 13800138000}, "bad_field", "msisdn"),
    ("msisdn full-width", PAYMENT | {"msisdn": "１３８００１３８０００"}, "bad_field", "msisdn"),
    ("msisdn newline", PAYMENT | {"msisdn": SUBSCRIBER + "\n"}, "bad_field", "msisdn"),
    ("negative", PAYMENT | {"amount_fen": -100}, "bad_field", "amount_fen"),
    ("zero", PAYMENT | {"amount_fen": 0}, "bad_field", "amount_fen"),
    ("fraction", PAYMENT | {"amount_fen": 10.5}, "bad_field", "amount_fen"),
    ("float", PAYMENT | {"amount_fen": 10.0}, "bad_field", "amount_fen"),
    ("bool", PAYMENT | {"amount_fen": True}, "bad_field", "amount_fen"),
    ("string amount", PAYMENT | {"amount_fen": "5000"}, "bad_field", "amount_fen"),
    ("huge", PAYMENT | {"amount_fen": 10**20}, "bad_field", "amount_fen"),
    ("null amount", PAYMENT | {"amount_fen": None}, "bad_field", "amount_fen"),
    ("channel unknown", PAYMENT | {"channel": "bitcoin"}, "bad_field", "channel"),
    ("channel empty", PAYMENT | {"channel": ""}, "bad_field", "channel"),
    ("id empty", PAYMENT | {"id": ""}, "bad_field", "id"),
    ("id space", PAYMENT | {"id": "wx 1"}, "bad_field", "id"),
    ("id long", PAYMENT | {"id": "x" * 65}, "bad_field", "id"),
    ("id number", PAYMENT | {"id": 12345}, "bad_field", "id"),
    *[
        (f"no {name}", {k: v for k, v in PAYMENT.items() if k != name}, "bad_field", name)
        for name in ("id", "msisdn", "amount_fen", "channel")
    ],
]


@pytest.mark.parametrize(("body", "code", "field"), [b[1:] for b in BAD_PAYMENTS], ids=[b[0] for b in BAD_PAYMENTS])
async def test_each_bad_payment_field_is_refused_by_name(admin: Gateway, body: object, code: str, field: str) -> None:
    status, answer = await call(admin.http.port, "POST", "/api/v1/payments", body)
    assert (status, answer["code"], answer["field"]) == (400, code, field)
    assert answer["message"].startswith(f"{field}: ")
    assert await admin.store.fetch("SELECT * FROM payment") == []
    assert await cash_in_db(admin, SUBSCRIBER) == 1000


def test_a_payment_refusal_reads_well() -> None:
    assert fen("amount_fen", minimum=1, maximum=10, description="").check(10.5) == (
        "must be a whole number of fen (a JSON integer), got 10.5"
    )


NEW = {"msisdn": "13700000009", "name": "钱进"}
BAD_OTHERS: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    ("new: password", "POST", "/api/v1/subscribers", NEW | {"password": "123456"}, "unknown_field", "password"),
    ("new: name empty", "POST", "/api/v1/subscribers", NEW | {"name": " "}, "bad_field", "name"),
    ("new: name long", "POST", "/api/v1/subscribers", NEW | {"name": "名" * 33}, "bad_field", "name"),
    ("new: name two lines", "POST", "/api/v1/subscribers", NEW | {"name": "a\nb"}, "bad_field", "name"),
    ("new: vip", "POST", "/api/v1/subscribers", NEW | {"vip": "platinum"}, "bad_field", "vip"),
    ("new: plan", "POST", "/api/v1/subscribers", NEW | {"plan": "NOPE"}, "bad_field", "plan"),
    ("new: balance", "POST", "/api/v1/subscribers", NEW | {"balance_fen": -1}, "bad_field", "balance_fen"),
    ("new: balance yuan", "POST", "/api/v1/subscribers", NEW | {"balance_fen": 12.5}, "bad_field", "balance_fen"),
    ("new: no name", "POST", "/api/v1/subscribers", {"msisdn": "13700000009"}, "bad_field", "name"),
    ("status: unknown", "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {"status": "closed"}, "bad_field", "status"),
    ("status: missing", "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {}, "bad_field", "status"),
    ("status: extra", "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {"name": "x"}, "unknown_field", "name"),
    (
        "message: number",
        "POST",
        "/api/v1/messages",
        {"msisdn": SUBSCRIBER, "text": "x", "service_number": "12345"},
        "bad_field",
        "service_number",
    ),
    (
        "message: empty",
        "POST",
        "/api/v1/messages",
        {"msisdn": SUBSCRIBER, "text": "", "service_number": "10086"},
        "bad_field",
        "text",
    ),
    (
        "message: long",
        "POST",
        "/api/v1/messages",
        {"msisdn": SUBSCRIBER, "text": "长" * 501, "service_number": "10086"},
        "bad_field",
        "text",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "field"), [b[1:] for b in BAD_OTHERS], ids=[b[0] for b in BAD_OTHERS]
)
async def test_each_bad_field_elsewhere_is_refused_by_name(
    admin: Gateway, method: str, path: str, body: object, code: str, field: str
) -> None:
    status, answer = await call(admin.http.port, method, path, body)
    assert (status, answer["code"], answer["field"]) == (400, code, field)
    assert await admin.store.fetch("SELECT status FROM subscriber WHERE msisdn = ?", (SUBSCRIBER,)) == [("active",)]
    assert await admin.store.fetch("SELECT * FROM subscriber WHERE msisdn = '13700000009'") == []
    assert await admin.store.fetch("SELECT * FROM mt") == []


@pytest.mark.parametrize(
    ("data", "field"),
    [(b"not json", None), (b"[1, 2]", None), (b'"text"', None), (b"\xff\xfe", None), (b'{"id": "a", "id": "b"}', "id")],
)
async def test_a_body_that_is_not_a_json_object_is_refused(admin: Gateway, data: bytes, field: str | None) -> None:
    status, answer = await call(admin.http.port, "POST", "/api/v1/payments", data=data)
    assert (status, answer["code"], answer.get("field")) == (400, "bad_json", field)


# --- messages --------------------------------------------------------------------------------------


async def wait_for_sent(gateway: Gateway, msisdn: str, count: int) -> list[dict[str, Any]]:
    for _ in range(100):
        sent = (await call(gateway.http.port, "GET", f"/api/v1/subscribers/{msisdn}/messages"))[1]["sent"]
        if len(sent) >= count and all(m["status"] == "sent" for m in sent):
            return list(sent)
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} sent MTs to {msisdn}")


async def test_an_ad_hoc_message_reaches_the_handset_and_is_listed(admin: Gateway, sim: SmscSimulator) -> None:
    port = admin.http.port
    text = "您好，您的宽带将于明日9:00-11:00维护。\n中国移动"
    status, queued = await call(
        port, "POST", "/api/v1/messages", {"msisdn": SUBSCRIBER, "text": text, "service_number": "10086"}
    )
    assert status == 202
    assert queued == {"id": 1, "msisdn": SUBSCRIBER, "service_number": "10086", "text": text, "status": "queued"}
    [mt] = await sim.wait_for_mts(1, destination_addr=SUBSCRIBER)
    assert (mt.text, mt.source_addr) == (text, "10086")
    await sim.send_mo(SUBSCRIBER, "10086", "102")
    await sim.wait_for_mts(2, destination_addr=SUBSCRIBER)
    sent = await wait_for_sent(admin, SUBSCRIBER, 2)
    listed = (await call(port, "GET", f"/api/v1/subscribers/{SUBSCRIBER}/messages"))[1]
    assert [(m["id"], m["mo_id"], m["service_number"]) for m in sent] == [(2, 1, "10086"), (1, None, "10086")]
    assert sent[1]["text"] == text
    assert sent[1]["created_at"] == "2026-11-23T10:13:20+08:00"
    assert sent[0]["text"].startswith("您好，您的账户余额为")
    assert listed["received"] == [
        {
            "id": 1,
            "service_number": "10086",
            "text": "102",
            "status": "answered",
            "received_at": "2026-11-23T10:13:20+08:00",
        }
    ]


async def test_no_message_to_an_unknown_or_terminated_number(admin: Gateway, sim: SmscSimulator) -> None:
    port = admin.http.port
    message = {"text": "测试", "service_number": "10086"}
    status, body = await call(port, "POST", "/api/v1/messages", message | {"msisdn": STRANGER})
    assert (status, body["code"]) == (404, "not_found")
    status, body = await call(port, "POST", "/api/v1/messages", message | {"msisdn": TERMINATED})
    assert (status, body["code"]) == (409, "terminated")
    assert await admin.store.fetch("SELECT * FROM mt") == []


# --- the OpenAPI document --------------------------------------------------------------------------


async def test_the_document_lists_every_admin_route_and_no_other(admin: Gateway) -> None:
    status, document = await call(admin.http.port, "GET", "/api/v1/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.1")
    served = {
        (route.method.lower(), route.path)
        for route in admin.http.routes
        if isinstance(route, web.RouteDef) and route.path.startswith("/api/v1/")
    }
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert served == documented
    assert len(served) == 14
    assert all(path.startswith("/api/v1/") for _, path in documented)


async def test_the_documented_request_bodies_are_the_checked_ones(admin: Gateway) -> None:
    document = (await call(admin.http.port, "GET", "/api/v1/openapi.json"))[1]
    schemas = document["components"]["schemas"]
    payment = schemas["NewPayment"]
    assert payment["additionalProperties"] is False
    assert set(payment["properties"]) == set(payment["required"]) == {"id", "msisdn", "amount_fen", "channel"}
    assert payment["properties"]["amount_fen"]["type"] == "integer"
    assert payment["properties"]["amount_fen"]["minimum"] == 1
    assert payment["properties"]["msisdn"]["pattern"] == "^1[0-9]{10}$"
    assert set(schemas["NewSubscriber"]["required"]) == {"msisdn", "name"}
    assert schemas["NewMessage"]["properties"]["service_number"]["enum"] == ["10086", "10001"]
    operation = document["paths"]["/api/v1/payments"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewPayment"
    }
    assert set(operation["responses"]) == {"200", "201", "400", "401", "404", "409"}
    assert "unauthorized" in schemas["Error"]["properties"]["code"]["enum"]


def keys_match(value: Any, schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    """``value`` has exactly the properties ``schema`` documents, all the way down."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "object" and "properties" in schema:
        assert set(value) == set(schema["properties"]), schema.get("description")
        for name, inner in schema["properties"].items():
            keys_match(value[name], inner, schemas)
    elif schema.get("type") == "array":
        for item in value:
            keys_match(item, schema["items"], schemas)


async def test_the_documented_answers_are_the_given_ones(admin: Gateway, sim: SmscSimulator) -> None:
    port = admin.http.port
    document = (await call(port, "GET", "/api/v1/openapi.json"))[1]
    schemas = document["components"]["schemas"]

    def documented(path: str, method: str, status: int) -> dict[str, Any]:
        answer = document["paths"][path][method]["responses"][str(status)]
        schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
        return schema

    subscriber = "/api/v1/subscribers/{msisdn}"
    calls: list[tuple[str, str, object, int]] = [
        (subscriber, "get", None, 200),
        (f"{subscriber}/subscriptions", "get", None, 200),
        ("/api/v1/payments", "post", PAYMENT, 201),
        ("/api/v1/messages", "post", {"msisdn": SUBSCRIBER, "text": "x", "service_number": "10001"}, 202),
        (f"{subscriber}/messages", "get", None, 200),
        (subscriber, "patch", {"status": "bogus"}, 400),
        ("/api/v1/payments", "post", PAYMENT | {"id": "another", "msisdn": STRANGER}, 404),
    ]
    for path, method, body, expected in calls:
        status, answer = await call(port, method.upper(), path.replace("{msisdn}", SUBSCRIBER), body)
        assert status == expected
        if status < 400:
            keys_match(answer, documented(path, method, status), schemas)
        else:
            assert set(answer) <= set(schemas["Error"]["properties"])
            assert answer["code"] in schemas["Error"]["properties"]["code"]["enum"]


# --- older ledger files --------------------------------------------------------------------------


async def test_an_older_file_gains_the_payment_reference_and_its_uniqueness(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    async with aiosqlite.connect(path) as db:
        await db.execute(
            "CREATE TABLE payment (id INTEGER PRIMARY KEY, msisdn TEXT NOT NULL,"
            " amount INTEGER NOT NULL CHECK (amount > 0), channel TEXT NOT NULL, paid_at REAL NOT NULL)"
        )
        await db.execute("INSERT INTO payment (msisdn, amount, channel, paid_at) VALUES ('13800138000', 100, 'x', 1)")
        await db.commit()
    ledger = await open_database(path)
    try:
        await ledger.execute(
            "INSERT INTO payment (msisdn, amount, channel, paid_at, reference) VALUES ('13800138000', 1, 'x', 2, 'r')"
        )
        with pytest.raises(aiosqlite.IntegrityError):
            await ledger.execute(
                "INSERT INTO payment (msisdn, amount, channel, paid_at, reference)"
                " VALUES ('13800138000', 1, 'x', 3, 'r')"
            )
        rows = list(await ledger.fetch("SELECT amount, reference FROM payment ORDER BY id"))
        assert [tuple(r) for r in rows] == [(100, None), (1, "r")]
    finally:
        await ledger.close()
