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
        ("138001380001", "138****80001"),  # a number run into another digit: masked all the same
        ("order 20261118093000", "order 20261118093000"),
        ("", ""),
        # numbers behind a prefix, or run into other digits
        ("013800138000", "0138****8000"),
        ("1795113800138000", "179****8****8000"),  # two windows look like numbers: both are masked
        ("1259313800138000", "12593138****8000"),
        ("call 0086 13800138000", "call 0086 138****8000"),
        ("1380013800013900139000", "138****8****39****9000"),
        ("ref 13800138000123", "ref 138****8000123"),
        ("１３８００１３８０００", "１３８****８０００"),  # full-width digits
        ("12345678901", "123****8901"),  # 11 digits starting with 1: masked as before
        ("9912345678901", "99123****8901"),  # any 1 and 10 digits ending a run, as +86 and 0086 were
        # ID numbers (18: 17 digits and a digit or X): first 3 and last 2 kept
        ("110101199003077777", "110*************77"),
        ("wx-110101199003077777", "wx-110*************77"),
        ("wx-11010119900307777X", "wx-110*************7X"),
        ("id=31010419920814215x;", "id=310*************5x;"),
        ("1101011990030777771", "110101199****777771"),  # 19 digits: no ID; a window like a number masked
        ("campaign 123456789012345678", "campaign 123*************78"),  # any 18 digits: taken as an ID
        ("17 digits 12345678901234567", "17 digits 12345678901234567"),
        ("mo_id 7, 1500 fen, 10086, 1795400000.25", "mo_id 7, 1500 fen, 10086, 1795400000.25"),
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


# --- prefixed numbers and ID numbers, through both formatters ----------------------------------

PHONE = "13800138000"
ID_NUMBER = "110101199003077777"
PHONE_CLEAR = [PHONE, "1380013", "00138000"]  # the number, and its middle 4 with what is either side
ID_CLEAR = [ID_NUMBER, "19900307", "077777", "1101011"]  # the number, the birth date, its tail, region+

EMBEDDED: list[tuple[str, str, str, list[str]]] = [
    ("0 prefix", "013800138000", "0138****8000", PHONE_CLEAR),
    ("17951 prefix", "1795113800138000", "179****8****8000", PHONE_CLEAR),
    ("12593 prefix", "1259313800138000", "12593138****8000", PHONE_CLEAR),
    ("86 prefix", "8613800138000", "86138****8000", PHONE_CLEAR),
    ("+86 prefix", "+8613800138000", "+86138****8000", PHONE_CLEAR),
    ("0086 prefix", "008613800138000", "0086138****8000", PHONE_CLEAR),
    ("digits after", "138001380001", "138****80001", PHONE_CLEAR),
    ("ID in a field", "wx-110101199003077777", "wx-110*************77", ID_CLEAR),
    ("ID with X", "wx-11010119900307777X", "wx-110*************7X", [*ID_CLEAR[1:], "11010119900307777X"]),
    ("ID alone", ID_NUMBER, "110*************77", ID_CLEAR),
]


@pytest.mark.parametrize(("value", "masked", "clear"), [e[1:] for e in EMBEDDED], ids=[e[0] for e in EMBEDDED])
def test_json_line_masks_prefixed_numbers_and_id_numbers(value: str, masked: str, clear: list[str]) -> None:
    line = JsonFormatter().format(
        record("payment %s from %s", value, value, reference=value, nested={"ref": value}, refs=[value, "x"], mo_id=7)
    )
    entry = json.loads(line)
    del entry["ts"]
    assert entry == {
        "level": "info",
        "logger": "gateway.inbox",
        "msg": f"payment {masked} from {masked}",
        "reference": masked,
        "nested": {"ref": masked},
        "refs": [masked, "x"],
        "mo_id": 7,
    }
    assert [c for c in clear if c in line] == []


@pytest.mark.parametrize(("value", "masked", "clear"), [e[1:] for e in EMBEDDED], ids=[e[0] for e in EMBEDDED])
def test_text_line_masks_prefixed_numbers_and_id_numbers(value: str, masked: str, clear: list[str]) -> None:
    line = TextFormatter().format(record("payment %s", value, reference=value, nested={"ref": value}, mo_id=7))
    when = time.strftime("%H:%M:%S", time.localtime(CREATED))
    assert line == (
        f"{when} INFO    gateway.inbox: payment {masked} [reference={masked} nested={{'ref': '{masked}'}} mo_id=7]"
    )
    assert [c for c in clear if c in line] == []


def test_numbers_given_as_integers_are_masked_and_the_line_stays_json() -> None:
    fields = {"prefixed": 1795113800138000, "id_number": 110101199003077777, "with_zero": 8613800138000, "count": 42}
    line = JsonFormatter().format(record("import", **fields))
    entry = json.loads(line)
    assert {k: entry[k] for k in fields} == {
        "prefixed": "179****8****8000",
        "id_number": "110*************77",
        "with_zero": "86138****8000",
        "count": 42,
    }
    assert [c for c in PHONE_CLEAR + ID_CLEAR if c in line] == []


def test_a_traceback_with_prefixed_numbers_and_an_id_number_is_masked_in_both_formats() -> None:
    try:
        raise ValueError("no subscriber 013800138000 or 1795113800138000 with ID wx-11010119900307777X")
    except ValueError:
        exc_info = sys.exc_info()
    masked = "no subscriber 0138****8000 or 179****8****8000 with ID wx-110*************7X"
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record("failed", level=logging.ERROR, exc_info=exc_info))
        assert f"ValueError: {masked}" in (json.loads(line)["exc"] if line.startswith("{") else line)
        assert [c for c in [*PHONE_CLEAR, *ID_CLEAR[1:], "11010119900307777X"] if c in line] == []


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
    assert (gave_up["level"], gave_up["msisdn"], gave_up["missing"], gave_up["total"]) == (
        "warning",
        "135****5000",
        1,
        3,
    )
    assert "gateway stopped" in [e["msg"] for e in entries]
