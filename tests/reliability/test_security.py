"""Abuse from outside, end to end against a seeded ledger and the simulator: the admin API without a good
token, an MO flood from one number, password brute force, and very long or malformed input to every
command of both catalogs, to ``POST /ussd`` and to USSD over SMPP.

Each time: every request gets its answer (never the system_error template), no exception reaches the log,
and the ledger holds only what the requests were entitled to change. The clock stands at 2026-11-23
10:13:20 in Shanghai.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from commands.registry import KNOWN
from gateway.app import Gateway
from gateway.catalog import CodeEntry, load_catalogs
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.products import Products
from gateway.ledger.secrets import verify_secret
from gateway.ledger.writes import add_subscribers, add_subscription
from gateway.model.ledger import NewSubscriber
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import CommandId, DataCoding, EsmClass, Status
from gateway.smsc import SmscSimulator

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
TOKEN = "reliability-token-0123456789"

StartGateway = Callable[..., Awaitable[Gateway]]

OLD = "582947"  # the service password of everyone seeded with secrets
ID_NUMBER = "110105198805164927"
BALANCE = "您好，您的账户余额为50.00元，其中现金余额50.00元，赠送余额0.00元；可用余额50.00元。"
SYSTEM_ERROR = "您好，系统繁忙，请稍后再试。"
RATE_LIMITED = "您好，您发送短信过于频繁，请稍后再试。"
ASK_OLD = "您好，您正在修改服务密码，请在30分钟内回复原密码。"
ASK_NEW = "您好，验证通过。请回复新密码（6位数字，不能含3位及以上相同或连续的数字，不能是手机号码或证件号码的后6位）。"
LOCKED = "您好，您24小时内密码或证件号码验证错误已达5次，改密码和重置密码功能已锁定，请于11月24日10时13分后再试。"


def wrong_old(left: int) -> str:
    return f"您好，原密码错误，24小时内还可输入{left}次，请重新回复原密码。"


LONG_CHINESE = "请问我的话费为什么这么多？" * 90  # 1170 characters: 18 UCS2 parts
LONG_ASCII = "BALANCE PLEASE " * 80  # 1200 characters: 8 GSM parts
MALFORMED = [
    "'; DROP TABLE subscriber;--",
    "1' OR '1'='1",
    "%s%s%s%n%x",
    "{name}{0}{balance!r}{__class__}",
    "\x00\x01\x02\x07\x08\x7f",
    "      ",
    "\u3000\t\r\n",
    "🙂👍🏻🇨🇳👨‍👩‍👧",
    "Ελληνικά русский עברית العربية 한국어",
    "\u202e\u200b\ufeff10X2",  # invisible characters around a code that is not one (they are dropped)
    "<script>alert(1)</script>",
    "../../../etc/passwd",
    "1" * 200,
    LONG_CHINESE,
    LONG_ASCII,
]


# --- the ledger --------------------------------------------------------------------------------------------


def person(msisdn: str, *, secrets: bool = False) -> NewSubscriber:
    """50.00元 cash; with ``secrets``, a service password and an ID number (hashing them takes a while)."""
    return NewSubscriber(
        msisdn=msisdn,
        name="测试用户",
        brand="神州行",
        plan="SZX",
        created_on=date(2026, 1, 1),
        cash=5000,
        password=OLD if secrets else None,
        id_number=ID_NUMBER if secrets else None,
    )


ALICE = "13912846305"  # brute force
FLOODER = "13500000000"
OTHERS = [f"1350000{n:04d}" for n in range(1, 6)]
STRANGE = "13600000000"  # malformed texts on their own


async def seed(path: Path, code_people: dict[str, tuple[str, bool]] | None = None) -> None:
    """The fixed cast, and for each (msisdn → (package, secrets)) in ``code_people`` one more subscriber."""
    db = await open_database(str(path))
    code_people = code_people or {}
    cast = [person(ALICE, secrets=True)] + [person(m) for m in [FLOODER, *OTHERS, STRANGE]]
    await add_subscribers(db, cast + [person(m, secrets=secrets) for m, (_, secrets) in code_people.items()])
    for msisdn, (package, _) in code_people.items():
        if package:
            await add_subscription(db, msisdn, package, NOW - 40 * 86_400)
    await db.close()


LEDGER_TABLES = {
    "subscriber": "msisdn, name, brand, vip, plan, status, password_hash, id_hash, created_on",
    "account": "*",
    "subscription": "*",
    "fee": "*",
    "payment": "*",
    "usage": "*",
    "usage_record": "*",
    "bill": "*",
    "credit": "*",
    "status_change": "*",
    "campaign": "*",
}


async def ledger(gateway: Gateway) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that money, packages, status or secrets live in."""
    return {
        table: [tuple(row) for row in await gateway.store.fetch(f"SELECT {columns} FROM {table} ORDER BY 1")]
        for table, columns in LEDGER_TABLES.items()
    }


# --- talking to it ----------------------------------------------------------------------------------------


@asynccontextmanager
async def watching_logs(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """No exception may reach the log: a failed task or command, aiohttp's or asyncio's own errors."""
    caplog.set_level(logging.WARNING)
    yield
    crashes = [
        r
        for r in caplog.records
        if r.exc_info is not None
        or r.name in ("asyncio", "gateway.tasks", "aiohttp.server", "aiohttp.web")
        or r.getMessage() in ("command failed", "link down", "deliver_sm could not be handled")
    ]
    assert crashes == [], [f"{r.name}: {r.getMessage()}" for r in crashes]


async def conversation(
    sim: SmscSimulator, msisdn: str, turns: Sequence[tuple[str, str]], timeout: float = 10.0
) -> list[str]:
    """Send each (service_number, text) in turn, waiting for its one answer; the answers' texts."""
    answers = []
    for service_number, text in turns:
        before = len(answers_to(sim, msisdn))
        statuses = await sim.send_mo(msisdn, service_number, text)
        assert statuses and set(statuses) == {Status.ESME_ROK}
        mt = (await sim.wait_for_mts(before + 1, destination_addr=msisdn, timeout=timeout))[-1]
        assert mt.source_addr == service_number
        answers.append(mt.text)
    return answers


def answers_to(sim: SmscSimulator, msisdn: str) -> list[str]:
    return [mt.text for mt in sim.mts if mt.destination_addr == msisdn]


@pytest.fixture
async def started(start_gateway: StartGateway) -> Callable[..., Awaitable[Gateway]]:
    async def start(**overrides: str) -> Gateway:
        return await start_gateway(clock=ManualClock(NOW), http__tokens=TOKEN, **overrides)

    return start


# --- the admin API without a good token ---------------------------------------------------------------------

SUBSCRIBER = OTHERS[0]
BODIES: dict[str, object] = {
    "createSubscriber": {"msisdn": "13700009999", "name": "黑客", "plan": "SZX", "balance_fen": 1_000_000},
    "changeSubscriberStatus": {"status": "terminated"},
    "pay": {"id": "free-money-1", "msisdn": SUBSCRIBER, "amount_fen": 1_000_000, "channel": "微信"},
    "sendMessage": {"msisdn": SUBSCRIBER, "text": "您的账户已冻结，请点击链接", "service_number": "10086"},
    "rateUsage": {
        "records": [
            {
                "id": "u-1",
                "msisdn": SUBSCRIBER,
                "category": "data",
                "quantity": 1_000_000,
                "start": "2026-11-23T09:00:00+08:00",
                "duration": 60,
            }
        ]
    },
    "startCampaign": {"kind": "low_balance"},
}
"""A body for each route that takes one, good enough to change the ledger if the token were right."""

BAD_AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer wrong-token-0123456789",
    f"Bearer {TOKEN[:-1]}",
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN.upper()}",
    f"Basic {TOKEN}",
    TOKEN,
    f"Token {TOKEN}",
    f"Bearer\t{TOKEN[1:]}",
    "Bearer " + "A" * 8000,
    "Bearer ' OR '1'='1",
]


async def call(
    port: int, method: str, path: str, *, authorization: str | None, body: object = None
) -> tuple[int, str, dict[str, str]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = URL(f"http://127.0.0.1:{port}{path}", encoded=True)
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, headers=headers, json=body) as response,
    ):
        return response.status, await response.text(), dict(response.headers)


def concrete(path: str) -> str:
    return path.replace("{msisdn}", SUBSCRIBER).replace("{campaign}", "1")


async def test_every_admin_route_refuses_a_missing_or_wrong_token_and_changes_nothing(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    port = gateway.http.port
    routes = [(r.method, r.path, r.operation) for r in gateway.admin.route_list]
    status, text, _ = await call(port, "GET", "/api/v1/openapi.json", authorization=f"Bearer {TOKEN}")
    assert status == 200
    documented = {(m.upper(), p) for p, ops in json.loads(text)["paths"].items() for m in ops}
    assert documented == {(m, p) for m, p, _ in routes}  # the route list is every route there is
    before = await ledger(gateway)
    refused = gateway.admin.auth.refused
    calls = 0
    async with watching_logs(caplog):
        for method, path, operation in routes:
            for authorization in BAD_AUTHORIZATIONS:
                status, text, headers = await call(
                    port, method, concrete(path), authorization=authorization, body=BODIES.get(operation)
                )
                calls += 1
                assert status == 401, (method, path, authorization, text)
                assert json.loads(text)["code"] == "unauthorized"
                assert headers["WWW-Authenticate"].startswith("Bearer")
                assert SUBSCRIBER not in text and "测试用户" not in text
        await asyncio.sleep(0.3)  # a change that slipped through would be committed by now
    assert gateway.admin.auth.refused == refused + calls
    assert await ledger(gateway) == before
    assert await gateway.store.fetch("SELECT COUNT(*) FROM mt") == [(0,)]
    assert sim.mts == []
    # The same bodies with the token do change things: the refusals above were not for another reason.
    status, _, _ = await call(port, "POST", "/api/v1/payments", authorization=f"Bearer {TOKEN}", body=BODIES["pay"])
    assert status == 201
    assert await gateway.store.fetch("SELECT cash FROM account WHERE msisdn = ?", (SUBSCRIBER,)) == [(1_005_000,)]


ODD_PATHS = [
    "/api/v1",
    "/api/v1/",
    "//api/v1/openapi.json",
    "/api/v1//openapi.json",
    "/api/v1/./openapi.json",
    "/api/v1/../v1/openapi.json",
    "/./api/v1/openapi.json",
    "/%61pi/v1/openapi.json",
    "/api%2Fv1/openapi.json",
    "/API/v1/openapi.json",
    "/api/v1/openapi.json%00",
    "/api/v1/openapi.json/",
    "/api/v1/openapi.json?token=" + TOKEN,
    f"/api/v1/subscribers/{SUBSCRIBER}/../../openapi.json",
    f"/api/v1/subscribers/{SUBSCRIBER[:-1]}%3{SUBSCRIBER[-1]}",
    f"/api/v1/subscribers/{SUBSCRIBER}%00",
    "/api/v1/subscribers/%2E%2E%2Fopenapi.json",
    "/api/v1/no-such-thing",
]


async def test_no_spelling_of_an_admin_path_or_method_gets_past_the_token(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    async with watching_logs(caplog):
        for path in ODD_PATHS:
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"):
                status, text, _ = await call(gateway.http.port, method, path, authorization=None)
                assert status in (401, 404), (method, path, status, text)
                assert "openapi" not in text and SUBSCRIBER not in text


# --- an MO flood from one number ----------------------------------------------------------------------------


async def test_an_mo_flood_from_one_number_is_limited_and_others_are_still_served(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """60 MOs at once from one number: 20 answered (gateway.rate_limit_per_minute), then one polite
    answer, then silence; the five others asking meanwhile are answered at once."""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    loop = asyncio.get_running_loop()

    async def other(msisdn: str) -> float:
        await asyncio.sleep(0.05)  # in the thick of the flood
        sent = loop.time()
        assert await conversation(sim, msisdn, [("10001", "102")]) == [BALANCE]
        return loop.time() - sent

    async with watching_logs(caplog):
        flood = asyncio.gather(*(sim.send_mo(FLOODER, "10001", "102") for _ in range(60)))
        latencies = await asyncio.gather(*(other(msisdn) for msisdn in OTHERS))
        assert await flood == [[Status.ESME_ROK]] * 60  # every MO is taken: the limit is on answers
        await asyncio.sleep(0.5)
    assert max(latencies) < 3.0, latencies
    assert sorted(answers_to(sim, FLOODER)) == sorted([BALANCE] * 20 + [RATE_LIMITED])
    assert gateway.responder.rate_limited == 40
    flooded = "SELECT status, COUNT(*) FROM mo WHERE source_addr = ? GROUP BY 1 ORDER BY 1"
    assert await gateway.store.fetch(flooded, (FLOODER,)) == [("answered", 21), ("ignored", 39)]
    gateway.clock.advance(61)  # type: ignore[attr-defined]
    assert await conversation(sim, FLOODER, [("10001", "102")]) == [BALANCE]  # a minute on, served again


# --- password brute force ------------------------------------------------------------------------------------


async def test_password_brute_force_locks_502_and_503_even_for_the_right_password(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Five wrong old passwords in 24 hours, spread over both service numbers and two dialogs, lock the
    password commands; the right password after that changes nothing."""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    [(stored,)] = await gateway.store.fetch("SELECT password_hash FROM subscriber WHERE msisdn = ?", (ALICE,))
    async with watching_logs(caplog):
        assert await conversation(
            sim,
            ALICE,
            [
                ("10001", "502"),
                ("10001", "000000"),
                ("10001", "'; DROP TABLE subscriber;--"),
                ("10001", "%s%s%s"),
                ("10086", "502"),
                ("10086", "582948"),
                ("10086", "58294８"),  # full-width digits are read as digits: still wrong
            ],
        ) == [ASK_OLD, wrong_old(4), wrong_old(3), wrong_old(2), ASK_OLD, wrong_old(1), LOCKED]
        sixth = await conversation(
            sim, ALICE, [("10001", OLD), ("10086", "502"), ("10086", OLD), ("10001", "503"), ("10001", ID_NUMBER)]
        )
    assert sixth[1] == sixth[3] == LOCKED
    assert ASK_NEW not in sixth
    assert SYSTEM_ERROR not in sixth
    assert await gateway.store.fetch("SELECT COUNT(*) FROM password_failure WHERE msisdn = ?", (ALICE,)) == [(5,)]
    assert await gateway.store.fetch("SELECT password_hash FROM subscriber WHERE msisdn = ?", (ALICE,)) == [(stored,)]
    assert verify_secret(OLD, stored)
    assert await gateway.store.fetch("SELECT COUNT(*) FROM dialog WHERE msisdn = ?", (ALICE,)) == [(0,)]


# --- very long and malformed input to every command ---------------------------------------------------------

CONFIG = Path(__file__).resolve().parents[2] / "config"
PRODUCTS = Products.load(CONFIG / "products.toml")
CATALOGS = load_catalogs(CONFIG / "catalogs", ["10086", "10001"], KNOWN, PRODUCTS)
CODES = [
    (number, code, entry)
    for number, catalog in CATALOGS.items()
    for entry in catalog.entries
    for code in (entry.code, *entry.aliases)
]
"""Every code both catalogs know (79): queries, orders and cancellations of every package, passwords, the
0000 list, credit and reminder codes."""


def what_they_have(entry: CodeEntry) -> tuple[str, bool]:
    """The package (so that a cancellation or the 0000 list reaches its dialog) and whether the secrets
    (so that 502 and 503 do) of the subscriber who tries ``entry``."""
    package = ""
    if entry.command == "cancel":  # a package, or a family of them (QXGPRS: one of the family)
        package = entry.argument if entry.argument in PRODUCTS.packages else entry.argument + "10"
    elif entry.command == "pick":
        package = "GPRS10"
    return package, entry.command in ("change_password", "reset_password")


REACHED = {
    "order": ("您好，您将订购", "未扣费"),
    "cancel": ("您好，您将退订", "业务继续有效"),
    "pick": ("您好，您已订购以下业务", "序号"),
    "change_password": ("您好，您正在修改服务密码", "原密码错误"),
    "reset_password": ("您好，您正在重置服务密码", "证件号码有误"),
}
"""The prompt each dialog-starting command gives, and a phrase of its answer to a malformed reply."""


def code_person(n: int) -> str:
    return f"1370000{n:04d}"


async def test_malformed_replies_to_every_command_of_both_catalogs(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each code from a subscriber of its own, then malformed, very long or SQL-ish text where the command
    (or its dialog) expects an answer, then the code with junk after it, then more junk: every MO gets one
    answer, none of them system_error, and no money, package, status or password moves."""
    await seed(
        tmp_path / "gateway.db", {code_person(n): what_they_have(entry) for n, (_, _, entry) in enumerate(CODES)}
    )
    gateway = await started()
    before = await ledger(gateway)
    limit = asyncio.Semaphore(40)

    async def attempt(n: int, number: str, code: str) -> list[str]:
        turns = [
            (number, code),
            (number, MALFORMED[n % len(MALFORMED)]),
            (number, code + "'; DROP TABLE subscriber;--"),
            (number, MALFORMED[(n + 7) % len(MALFORMED)]),
        ]
        async with limit:
            return await conversation(sim, code_person(n), turns, timeout=20.0)

    async with watching_logs(caplog):
        results = await asyncio.gather(*(attempt(n, number, code) for n, (number, code, _) in enumerate(CODES)))
        await asyncio.sleep(0.3)
    for n, ((number, code, entry), answers) in enumerate(zip(CODES, results, strict=True)):
        assert SYSTEM_ERROR not in answers, (number, code)
        assert all(answers) and answers_to(sim, code_person(n)) == answers, (number, code)  # one answer each
        if entry.command in REACHED:  # the junk reached the dialog the code began, and ended it or was refused
            prompt, reply = REACHED[entry.command]
            assert answers[0].startswith(prompt) and reply in answers[1], (number, code, answers[:2])
    assert await ledger(gateway) == before
    assert await gateway.store.fetch("SELECT status, COUNT(*) FROM mo GROUP BY 1") == [("answered", 4 * len(CODES))]


@pytest.mark.parametrize("number", ["10086", "10001"])
async def test_malformed_text_on_its_own_gets_an_answer(
    sim: SmscSimulator,
    started: Callable[..., Awaitable[Gateway]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    number: str,
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    before = await ledger(gateway)
    async with watching_logs(caplog):
        answers = await conversation(sim, STRANGE, [(number, text) for text in MALFORMED], timeout=20.0)
    assert SYSTEM_ERROR not in answers and all(answers)
    assert await ledger(gateway) == before


# --- odd deliver_sm --------------------------------------------------------------------------------------------

UDHI, RECEIPT = EsmClass.UDHI, EsmClass.DELIVERY_RECEIPT
ODD_DELIVERIES: list[tuple[str, ShortMessage, bool]] = [
    # (what, the deliver_sm, whether it gets an answer)
    ("binary data_coding", ShortMessage(data_coding=0x04, short_message=b"\x00\xff\x10\x1b"), True),
    ("latin-1", ShortMessage(data_coding=0x03, short_message="Ã©ÿ102".encode("latin-1")), True),
    ("a data_coding class", ShortMessage(data_coding=0xF5, short_message=b"\x80\x81"), True),
    ("UCS2 of odd length", ShortMessage(data_coding=DataCoding.UCS2, short_message=b"\x00\x31\x00"), True),
    ("a lone surrogate", ShortMessage(data_coding=DataCoding.UCS2, short_message=b"\xd8\x00\x00\x31"), True),
    ("a bare GSM escape", ShortMessage(short_message=b"102\x1b"), True),
    ("a UDH longer than the message", ShortMessage(esm_class=UDHI, short_message=b"\x09\x00\x03\x01"), True),
    ("a UDH with part 7 of 3", ShortMessage(esm_class=UDHI, short_message=b"\x05\x00\x03\x2a\x03\x07102"), True),
    ("a UDH with part 0 of 2", ShortMessage(esm_class=UDHI, short_message=b"\x05\x00\x03\x2b\x02\x00102"), True),
    (
        "SAR of 0 parts",
        ShortMessage(short_message=b"102", tlvs=((0x020C, b"\x00\x01"), (0x020E, b"\x00"), (0x020F, b"\x00"))),
        True,
    ),
    ("a 3000-octet message_payload", ShortMessage(tlvs=((0x0424, b"CXYE " * 600),)), True),
    ("short_message and message_payload", ShortMessage(short_message=b"102", tlvs=((0x0424, b"?"),)), True),
    ("an empty source_addr", ShortMessage(source_addr="", short_message=b"102"), True),
    ("a latin-1 source_addr", ShortMessage(source_addr="ÿ'; --", short_message=b"102"), True),
    ("the longest source_addr", ShortMessage(source_addr="1" * 20, short_message=b"102"), True),
    ("an unknown service number", ShortMessage(destination_addr=" 10086", short_message=b"102"), False),
    ("a receipt of garbage", ShortMessage(esm_class=RECEIPT, short_message=b"\xff\x00id: stat:"), False),
    ("a receipt with a long id", ShortMessage(esm_class=RECEIPT, tlvs=((0x001E, b"9" * 300), (0x0427, b""))), False),
]


def raw_deliver_sm(source_addr: str, destination_addr: str, text: bytes, sequence_number: int) -> bytes:
    """A deliver_sm the codec refuses to encode (a field longer than SMPP allows), written by hand."""
    body = b"".join(
        [
            b"\0\1\1" + source_addr.encode("latin-1") + b"\0",  # service_type, source ton, npi, source_addr
            b"\1\1" + destination_addr.encode("latin-1") + b"\0",
            b"\0\0\0\0\0\0\0\0\0",  # esm_class .. sm_default_msg_id, both times empty
            bytes([len(text)]) + text,
        ]
    )
    return struct.pack(">IIII", 16 + len(body), CommandId.deliver_sm, 0, sequence_number) + body


async def test_odd_deliver_sm_is_acknowledged_and_answered_or_set_aside(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    before = await ledger(gateway)
    senders = []
    async with watching_logs(caplog):
        for n, (what, message, _) in enumerate(ODD_DELIVERIES):
            source = message.source_addr if "source_addr" in what else f"1340000{n:04d}"
            destination = message.destination_addr or "10001"
            odd = dataclasses.replace(message, source_addr=source, destination_addr=destination)
            assert await sim.send_deliver(odd) == Status.ESME_ROK, what
            senders.append(source)
        await asyncio.sleep(0.5)
        gateway.clock.advance(61)  # type: ignore[attr-defined]  # the parts that never complete time out
        await until_answered(sim, [s for s, (_, _, answers) in zip(senders, ODD_DELIVERIES, strict=True) if answers])
        await asyncio.sleep(1.5)
    for source, (what, _, answers) in zip(senders, ODD_DELIVERIES, strict=True):
        got = answers_to(sim, source)
        assert len(got) == (1 if answers else 0), (what, got)
        assert SYSTEM_ERROR not in got
    incomplete = "您好，您发送的长短信没有收全，请重新发送。"
    assert [answers_to(sim, senders[n]) for n in (7, 8)] == [[incomplete]] * 2  # once the parts timed out
    assert (gateway.link.reconnects, gateway.link.bound) == (0, True)
    assert await ledger(gateway) == before


async def until_answered(sim: SmscSimulator, msisdns: Sequence[str], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not all(answers_to(sim, m) for m in msisdns):
            await asyncio.sleep(0.02)


async def test_an_mo_from_a_source_addr_too_long_to_answer_fails_its_answer_cleanly(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deliver_sm whose source_addr has 30 octets (SMPP allows 20): the answer cannot be encoded as a
    submit_sm. It is marked failed (ESME_RINVPARLEN), and nothing else is disturbed. (The encoding error
    used to escape from the outbox into the dispatcher, which dropped that number's queue; after a restart
    it escaped from the link's data_received and cost a reconnect every time.)"""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    long_source = "8613800138000" * 2 + "1234"
    async with watching_logs(caplog):
        await sim.send_garbage(raw_deliver_sm(long_source, "10001", b"102", 0x7FFF0100))
        await asyncio.sleep(0.3)
        assert await conversation(sim, OTHERS[0], [("10001", "102")]) == [BALANCE]
        await asyncio.sleep(0.3)
    assert await gateway.store.fetch("SELECT source_addr, status FROM mo ORDER BY id") == [
        (long_source, "answered"),
        (OTHERS[0], "answered"),
    ]
    assert await gateway.store.fetch("SELECT destination_addr, status, command_status FROM mt ORDER BY id") == [
        (long_source, "failed", Status.ESME_RINVPARLEN),
        (OTHERS[0], "sent", Status.ESME_ROK),
    ]
    assert gateway.link.refused == {Status.ESME_RINVPARLEN: 1}
    assert (gateway.link.reconnects, gateway.link.in_flight, gateway.outbox.depth) == (0, 0, 0)
    await gateway.stop()  # the failed answer is not queued again at the next start
    again = await started()
    await asyncio.sleep(0.3)
    assert (again.link.reconnects, again.link.submitted, again.outbox.depth) == (0, 0, 0)


# --- USSD -------------------------------------------------------------------------------------------------------


async def post_ussd(port: int, data: dict[str, str] | bytes, content_type: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/ussd", data=data, headers=headers) as response,
    ):
        return response.status, await response.text()


def ussd_fields(session: str, text: str, phone: str = f"+86{OTHERS[1]}", code: str = "*100#") -> dict[str, str]:
    return {"sessionId": session, "serviceCode": code, "phoneNumber": phone, "text": text}


async def test_ussd_over_http_with_odd_inputs_and_odd_fields(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each malformed text as a menu input, at the top and on an order's confirmation screen, and odd
    phone numbers, session ids and service codes: answered CON or END (400 only for a field over 200
    characters), never system_error, and no order is made."""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    port = gateway.http.port
    before = await ledger(gateway)
    requests: list[dict[str, str]] = []
    for n, odd in enumerate(MALFORMED):
        requests += [ussd_fields(f"odd-{n}", ""), ussd_fields(f"odd-{n}", odd)]
        # 3 业务办理, 1 GPRS3元包: its confirmation screen, then the junk
        requests += [ussd_fields(f"odd-order-{n}", text) for text in ("", "3", "3*1", f"3*1*{odd}")]
        requests.append(ussd_fields(f"odd-cold-{n}", odd))  # a session the gateway does not know
    for phone in ("'; DROP TABLE subscriber;--", "+86", "", "１３８００１３８０００", "8" * 201, "+86 138-0013-8000"):
        requests.append(ussd_fields(f"phone-{len(requests)}", "", phone=phone))
    for session in ("🙂" * 50, "' OR 1=1 --", "x" * 201, "\u202e"):
        requests.append(ussd_fields(session, ""))
    for code in ("*100#'", "%s", "*100#*100#", "*１００#"):
        requests.append(ussd_fields(f"code-{len(requests)}", "", code=code))
    async with watching_logs(caplog):
        screens = [await post_ussd(port, fields) for fields in requests]
    for fields, (status, body) in zip(requests, screens, strict=True):
        if any(len(value) > 200 for value in fields.values()) or not fields["phoneNumber"].strip():
            assert status == 400 and body.startswith("END bad request: "), (fields, status, body)
        else:
            assert status == 200 and body[:4] in ("CON ", "END "), (fields, status, body)
        assert SYSTEM_ERROR not in body
    assert await ledger(gateway) == before
    assert sim.mts == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"sessionId=\xff\xfe&serviceCode=*100%23&phoneNumber=13800138000&text=", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"sessionId=a&serviceCode=*100%23&phoneNumber=1&text=", "application/x-www-form-urlencoded; charset=bogus"),
        (
            b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xff\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b'{"sessionId": "s", "serviceCode": "*100#"}', "application/json"),
        (b"sessionId=%FF%FE&serviceCode=*100%23&phoneNumber=%00&text=%ZZ", "application/x-www-form-urlencoded"),
    ],
    ids=["not-utf8", "binary", "unknown-charset", "multipart-not-utf8", "multipart-broken", "json", "bad-escapes"],
)
async def test_ussd_over_http_with_an_unreadable_body_is_a_bad_request(
    sim: SmscSimulator,
    started: Callable[..., Awaitable[Gateway]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    """A body aiohttp cannot read as a form (not UTF-8, an unknown charset, broken multipart) is refused
    400 like any other bad request. (It used to raise out of the handler: a 500 and a traceback in the log.)"""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    async with watching_logs(caplog):
        status, text = await post_ussd(gateway.http.port, body, content_type)
    if b"%ZZ" in body:
        assert status == 200 and text[:4] in ("CON ", "END ")  # escapes that decode to junk: still a form
    else:
        assert status == 400 and text.startswith("END bad request: "), (status, text)


async def test_ussd_over_smpp_with_odd_inputs(
    sim: SmscSimulator, started: Callable[..., Awaitable[Gateway]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed texts as the dialled string and as answers to a menu, unknown operation codes, answers
    without a session, an abort mid-session: every deliver_sm is acknowledged and no screen is
    system_error."""
    await seed(tmp_path / "gateway.db")
    gateway = await started()
    before = await ledger(gateway)
    msisdn = OTHERS[2]
    short = [text for text in MALFORMED if len(text) <= 100]
    async with watching_logs(caplog):
        for n, odd in enumerate(short):
            assert await sim.send_ussd(msisdn, "*100#", odd, op=1, session=n) == Status.ESME_ROK  # dialled junk
            assert await sim.send_ussd(msisdn, "*100#", "*100#", op=1, session=100 + n) == Status.ESME_ROK
            assert await sim.send_ussd(msisdn, "*100#", odd, op=18, session=100 + n, sequence=1) == Status.ESME_ROK
            assert await sim.send_ussd(msisdn, "*100#", odd, op=18, session=200 + n) == Status.ESME_ROK  # no session
            assert await sim.send_ussd(msisdn, "*100#", odd, op=99, session=n) == Status.ESME_ROK  # unknown op
            assert await sim.send_ussd(msisdn, "*100#", "", op=18, session=100 + n, end=True) == Status.ESME_ROK
        await until_answered(sim, [msisdn])
        await asyncio.sleep(0.5)
    screens = answers_to(sim, msisdn)
    assert len(screens) == 4 * len(short)  # the unknown op and the abort get none
    assert SYSTEM_ERROR not in screens
    assert await ledger(gateway) == before
