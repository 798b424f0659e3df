"""gateway.link over real TCP with the simulator: why a connection ended and when it is tried again, in one
``link down`` line; warnings the SMSC can repeat at will, a few lines however many times it does."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from conftest import SUBSCRIBER, StartGateway

from gateway.app import Gateway
from gateway.quiet import QuietWarnings
from gateway.smpp.codec import MessageIdResp, Pdu, encode_pdu
from gateway.smpp.constants import CommandId
from gateway.smsc import SmscSimulator

FAST_RETRY = {"smpp__reconnect_min": "0.2", "smpp__reconnect_max": "0.4"}  # the first retry in 0.1–0.2 s


async def until(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def lines(caplog: pytest.LogCaptureFixture, message: str | None = None) -> list[logging.LogRecord]:
    """The gateway's own warnings and errors (``message``: only those)."""
    return [
        r
        for r in caplog.records
        if r.name.startswith("gateway")
        and r.levelno >= logging.WARNING
        and (message is None or r.getMessage() == message)
    ]


def fields(record: logging.LogRecord, *names: str) -> tuple[object, ...]:
    return tuple(getattr(record, name, None) for name in names)


# --- link down ------------------------------------------------------------------------------------------


async def test_a_drop_by_the_smsc_is_one_line_with_the_reason_and_the_retry_delay(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway(**FAST_RETRY)
    caplog.set_level(logging.INFO)
    await sim.drop_connections()
    await until(lambda: gateway.link.reconnects == 1 and gateway.link.bound)
    [down] = lines(caplog)
    assert down.getMessage() == "link down"
    assert fields(down, "mode", "reason") == ("transceiver", "connection closed by the SMSC")
    assert 0.1 <= down.retry_in <= 0.2  # type: ignore[attr-defined]
    assert [r.getMessage() for r in caplog.records if r.name == "gateway"] == ["link up"]  # no "link state"


async def test_an_unbind_by_the_smsc_is_said_so(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway(**FAST_RETRY)
    caplog.set_level(logging.WARNING)
    [protocol] = sim._protocols.values()
    assert await protocol.request(CommandId.unbind, None, timeout=5.0) == 0
    await until(lambda: gateway.link.reconnects == 1 and gateway.link.bound)
    assert [fields(r, "reason") for r in lines(caplog)] == [("unbound by the SMSC",)]


async def test_a_silent_smsc_is_a_response_timeout(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """A command_length that swallows everything after it: the enquire_link_resp never reaches the session."""
    gateway = await start_gateway(smpp__response_timeout="0.3", smpp__enquire_link_interval="1", **FAST_RETRY)
    caplog.set_level(logging.WARNING)
    await sim.send_garbage(bytes.fromhex("00000fff00000004"))
    await until(lambda: gateway.link.reconnects == 1)
    [down] = lines(caplog)
    assert (down.getMessage(), down.reason) == (  # type: ignore[attr-defined]
        "link down",
        "response timeout: no enquire_link_resp within 0.3s (seq 2) and nothing else from the SMSC",
    )
    assert 0.1 <= down.retry_in <= 0.2  # type: ignore[attr-defined]


async def test_a_refused_bind_names_its_status(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    sim.faults.refuse_binds = 2
    gateway = await start_gateway(wait_bound=False, **FAST_RETRY)
    await gateway.link.wait_bound(5.0)
    downs = lines(caplog)
    assert [(r.getMessage(), r.reason) for r in downs] == [("link down", "bind refused: ESME_RINVPASWD")] * 2  # type: ignore[attr-defined]
    assert 0.1 <= downs[0].retry_in <= 0.2  # type: ignore[attr-defined]
    assert 0.2 <= downs[1].retry_in <= 0.4  # type: ignore[attr-defined]  # doubled


async def test_nothing_listening_is_the_connect_error(
    start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.WARNING)
    gateway = await start_gateway(wait_bound=False, smpp__port=str(port), **FAST_RETRY)
    await until(lambda: gateway.link.reconnects >= 1)
    down = lines(caplog)[0]
    assert (down.getMessage(), down.reason) == (  # type: ignore[attr-defined]
        "link down",
        f"cannot connect: [Errno 111] Connect call failed ('127.0.0.1', {port})",
    )
    assert 0.1 <= down.retry_in <= 0.2  # type: ignore[attr-defined]


# --- warnings the SMSC can repeat -----------------------------------------------------------------------


def unknown_sequence_responses(count: int) -> bytes:
    """submit_sm_resp for sequence numbers the gateway never used (far above its own)."""
    return b"".join(
        encode_pdu(Pdu(command_id=CommandId.submit_sm_resp, sequence_number=0x7F000000 + n, body=MessageIdResp()))
        for n in range(count)
    )


async def test_2000_responses_to_unknown_sequence_numbers_are_two_lines(
    sim: SmscSimulator, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The first at once; one more when the interval is over, with how many it stands for. (Each used to
    be a line of its own: 2,000 lines.)"""
    gateway.link.warnings.interval = 0.3
    caplog.set_level(logging.WARNING)
    await sim.send_garbage(unknown_sequence_responses(2000))
    await sim.send_mo(SUBSCRIBER, "10001", "102")  # after the 2,000 on the same connection: all read by then
    await sim.wait_for_mts(1)
    [first] = lines(caplog)
    assert fields(first, "reason", "suppressed") == ("submit_sm_resp for unknown seq 2130706432", None)
    await asyncio.sleep(0.4)
    assert [fields(r, "reason", "suppressed") for r in lines(caplog)] == [
        ("submit_sm_resp for unknown seq 2130706432", None),
        ("submit_sm_resp for unknown seq 2130708431", 1999),  # the last one's fields
    ]
    assert all(r.getMessage() == "smsc sent a bad pdu" for r in lines(caplog))
    await asyncio.sleep(0.4)
    assert len(lines(caplog)) == 2  # nothing more to say: no third line
    assert (gateway.link.reconnects, gateway.link.bound) == (0, True)


async def test_a_second_flood_after_a_quiet_interval_starts_with_a_line_again(
    sim: SmscSimulator, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.link.warnings.interval = 0.2
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        await sim.send_garbage(unknown_sequence_responses(10))
        await asyncio.sleep(0.5)
    assert [fields(r, "suppressed") for r in lines(caplog, "smsc sent a bad pdu")] == [(None,), (9,), (None,), (9,)]


async def test_throttling_for_a_second_is_a_few_lines_that_count_every_throttle(
    sim: SmscSimulator, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway(smpp__throttle_backoff_min="0.005", smpp__throttle_backoff_max="0.01")
    gateway.link.warnings.interval = 0.3
    caplog.set_level(logging.WARNING)
    sim.faults.throttle_every = 1
    await sim.send_mo(SUBSCRIBER, "10001", "102")
    await asyncio.sleep(1.0)
    sim.faults.throttle_every = 0
    await sim.wait_for_mts(1)
    await asyncio.sleep(0.4)
    throttles = lines(caplog, "smsc asked to slow down")
    assert gateway.link.throttled >= 20
    assert 2 <= len(throttles) <= 5  # the first, then one per 0.3 s at most
    # the first stands for itself, each summary for the throttles held back since the line before it
    assert sum(getattr(r, "suppressed", None) or 1 for r in throttles) == gateway.link.throttled
    assert lines(caplog) == throttles


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_quiet_warnings_keep_kinds_apart_and_flush_what_they_hold() -> None:
    logger = logging.getLogger("test.quiet")
    logger.propagate = False
    recorder = Recorder()
    logger.addHandler(recorder)
    try:
        quiet = QuietWarnings(logger, interval=60.0)
        for n in range(5):
            quiet.warning("a", n=n)
        quiet.warning("b", n=0)
        assert [(r.getMessage(), fields(r, "n", "suppressed")) for r in recorder.records] == [
            ("a", (0, None)),
            ("b", (0, None)),
        ]
        quiet.flush()  # at shutdown: what is held is written, not lost
        quiet.flush()
        assert [(r.getMessage(), fields(r, "n", "suppressed")) for r in recorder.records[2:]] == [("a", (4, 4))]
        quiet.warning("a", n=9)  # a new start after the flush
        assert fields(recorder.records[-1], "n", "suppressed") == (9, None)
        quiet.flush()
    finally:
        logger.removeHandler(recorder)
        logger.propagate = True
