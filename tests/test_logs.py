"""gateway.logs: JSON and text log lines that never show a full phone number."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import StartGateway

from gateway.clock import ManualClock
from gateway.logs import JsonFormatter, TextFormatter, mask, mask_msisdn, setup_logging
from gateway.smpp.constants import Status
from gateway.smsc import SmscSimulator


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "+86138****8000"),
        ("8613800138000", "86138****8000"),
        ("008613800138000", "0086138****8000"),
        ("mo from 13800138000 to 10086", "mo from 138****8000 to 10086"),
        ("13800138000,13900139000", "138****8000,139****9000"),
        ("tel:13800138000;", "tel:138****8000;"),
        ('{"source_addr": "13800138000", "n": 13900139000}', '{"source_addr": "138****8000", "n": 139****9000}'),
        ("10086", "10086"),  # a service number
        ("1008611", "1008611"),
        ("1380013800", "1380013800"),  # 10 digits
        ("123456789012", "123456789012"),  # 12 digits: not a mobile number
        ("138001380001", "138001380001"),  # 12 digits that start like one
        ("order 20261118093000", "order 20261118093000"),
        ("", ""),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    ("msisdn", "masked"),
    [
        ("", ""),
        ("10086", "*****"),
        ("1234567", "*******"),
        ("12345678", "123****5678"),
        ("13800138000", "138****8000"),
        ("+8613800138000", "+86****8000"),
    ],
)
def test_mask_msisdn(msisdn: str, masked: str) -> None:
    assert mask_msisdn(msisdn) == masked


CREATED = 1_795_000_000.25  # 2026-11-18T11:06:40.250Z


def record(msg: str, *args: object, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "gateway.inbox",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": msg,
            "args": args,
            "created": CREATED,
            "msecs": 250.0,
            **extra,
        }
    )


def test_json_line_has_the_fields_and_masked_numbers() -> None:
    line = JsonFormatter().format(
        record(
            "mo from %s to %s",
            "13800138000",
            "10086",
            level=logging.WARNING,
            source_addr="8613900139000",
            mo_id=7,
            service_numbers=["10086", "10001"],
            ledger=Path("/tmp/ledger.db"),
        )
    )
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2026-11-18T11:06:40.250Z",
        "level": "warning",
        "logger": "gateway.inbox",
        "msg": "mo from 138****8000 to 10086",
        "source_addr": "86139****9000",
        "mo_id": 7,
        "service_numbers": ["10086", "10001"],
        "ledger": "/tmp/ledger.db",
    }


def test_json_line_stays_json_when_a_number_field_is_masked() -> None:
    line = JsonFormatter().format(
        record("receipt", msisdn=13800138000, pair=[13900139000, 10086], nested={"to": 8613700137000}, fee=1500)
    )
    entry = json.loads(line)
    assert {k: entry[k] for k in ("msisdn", "pair", "nested", "fee")} == {
        "msisdn": "138****8000",
        "pair": ["139****9000", 10086],
        "nested": {"to": "86137****7000"},
        "fee": 1500,
    }


def test_json_line_carries_the_masked_traceback_on_one_line() -> None:
    try:
        raise ValueError("bad number 13800138000")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter().format(record("command failed", level=logging.ERROR, exc_info=exc_info))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "command failed"
    assert entry["exc"].startswith("Traceback (most recent call last):\n")
    assert entry["exc"].endswith("\nValueError: bad number 138****8000")
    assert "13800138000" not in line


def test_text_line_is_masked_too() -> None:
    line = TextFormatter().format(record("mo from %s", "13800138000", source_addr="+8613800138000", mo_id=7))
    when = time.strftime("%H:%M:%S", time.localtime(CREATED))
    assert line == f"{when} INFO    gateway.inbox: mo from 138****8000 [source_addr=+86138****8000 mo_id=7]"


def test_text_line_without_fields_has_no_brackets() -> None:
    line = TextFormatter().format(record("gateway stopped", level=logging.DEBUG))
    assert line.endswith(" DEBUG   gateway.inbox: gateway stopped")


# --- end to end: what a running gateway writes --------------------------------------------------

SUBSCRIBERS = ["13800138000", "13900139000", "8613700137000"]
UNKNOWN_SERVICE_SENDER = "13600136000"
LONG_SENDER = "13500135000"
INCOMPLETE = "您好，您发送的长短信没有收全，请重新发送。"


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG and above, as the gateway's JSON lines; the root logger restored after."""
    root = logging.getLogger()
    aiosqlite = logging.getLogger("aiosqlite")
    saved = (root.handlers[:], root.level, aiosqlite.level)
    stream = io.StringIO()
    setup_logging("debug", "json", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        aiosqlite.setLevel(saved[2])


async def test_a_running_gateway_never_logs_a_full_subscriber_number(
    captured_log: io.StringIO, sim: SmscSimulator, start_gateway: StartGateway
) -> None:
    clock = ManualClock(1_795_000_000.0)
    gateway = await start_gateway(clock=clock)
    for number in SUBSCRIBERS:
        assert await sim.send_mo(number, "10086", "CXYE") == [Status.ESME_ROK]
    assert await sim.send_mo(UNKNOWN_SERVICE_SENDER, "12345", "102") == [Status.ESME_ROK]
    # A concatenated MO with a part missing: the inbox logs whose message it gives up on.
    assert await sim.send_mo(LONG_SENDER, "10086", "长" * 150, drop_parts=[2]) == [Status.ESME_ROK] * 2
    await sim.wait_for_mts(3)
    clock.advance(61)
    [incomplete] = await sim.wait_for_mts(1, destination_addr=LONG_SENDER, timeout=5)
    assert incomplete.text == INCOMPLETE
    await gateway.stop()

    text = captured_log.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]
    for number in [*SUBSCRIBERS, UNKNOWN_SERVICE_SENDER, LONG_SENDER]:
        assert number[-11:] not in text
    [unserved] = [e for e in entries if e["msg"] == "mo for a service number we do not serve"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", unserved.pop("ts"))
    assert unserved == {
        "level": "warning",
        "logger": "gateway.router",
        "msg": "mo for a service number we do not serve",
        "mo_id": 4,
        "service_number": "12345",
    }
    [gave_up] = [e for e in entries if e["msg"] == "concatenated mo incomplete"]
    assert (gave_up["level"], gave_up["source_addr"], gave_up["missing"], gave_up["total"]) == (
        "warning",
        "135****5000",
        [2],
        3,
    )
    assert "gateway stopped" in [e["msg"] for e in entries]
