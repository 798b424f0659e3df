"""USSD sessions without I/O: the timer wheel of :mod:`gateway.ussd.deadlines`, the cap of open sessions, and
expiry that touches only the due sessions of :class:`gateway.ussd.service.UssdSessions`.

The transports' side (a refused dial's screen over HTTP and SMPP) is in tests/test_ussd_http.py and
tests/test_ussd_smpp.py.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
from ussd_ledger import HOME, PACKAGES_1

from commands.registry import COMMANDS
from gateway.clock import ManualClock
from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.ledger.products import Products
from gateway.templates import Templates
from gateway.ussd.deadlines import Deadlines
from gateway.ussd.menus import MenuTree
from gateway.ussd.navigation import Navigator, Quote, UssdSession
from gateway.ussd.screen import Screen
from gateway.ussd.service import DEFAULT_MAX_SESSIONS, UssdAnswer, UssdSessions

CONFIG = Path(__file__).resolve().parent.parent / "config"
TEMPLATES = Templates.load(CONFIG / "templates" / "zh-CN.toml")
TREE = MenuTree.load(CONFIG / "ussd" / "100.toml", commands=COMMANDS, products=Products.load(CONFIG / "products.toml"))
T0 = 1_795_400_000.0
TIMEOUT = 180.0
BUSY = "系统繁忙，请稍后再拨打*100#。"
BALANCE = "您好，您的账户余额为50.00元。"


class Ledgerless:
    """What a session asks of the ledger, answered without one (a balance, for item 1)."""

    async def query(self, msisdn: str, command: str) -> str:
        return BALANCE

    async def quote(self, msisdn: str, product: str) -> Quote:
        raise AssertionError("no orders here")

    async def order(self, msisdn: str, product: str) -> str:
        raise AssertionError("no orders here")


class CountingNavigator(Navigator):
    """The real navigator, counting the sessions it is told have ended."""

    ends = 0

    def end(self, session: UssdSession) -> None:
        self.ends += 1
        super().end(session)


class NoScan(dict[str, UssdSession]):
    """The open sessions, refusing to be walked through: a lookup by key is all expiry may do."""

    def _scanned(self, *args: Any) -> NoReturn:
        raise AssertionError("the open sessions were scanned")

    __iter__ = keys = values = items = _scanned


def store(clock: ManualClock, max_sessions: int = DEFAULT_MAX_SESSIONS) -> tuple[UssdSessions, CountingNavigator]:
    navigator = CountingNavigator(tree=TREE, templates=TEMPLATES, screen=Screen())
    services: Any = Ledgerless()  # stands in for LedgerServices: the same three methods
    sessions = UssdSessions(
        navigator=navigator, services=services, clock=clock, timeout=TIMEOUT, max_sessions=max_sessions
    )
    return sessions, navigator


def counting_heappops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every second the wheel takes off its heap, in order."""
    popped: list[int] = []
    real: Callable[[list[int]], int] = heapq.heappop

    def heappop(heap: list[int]) -> int:
        popped.append(real(heap))
        return popped[-1]

    monkeypatch.setattr(heapq, "heappop", heappop)  # the module deadlines calls it from
    return popped


# --- the wheel ---------------------------------------------------------------------------------------


def test_a_key_comes_out_at_its_deadline_rounded_up_to_the_second() -> None:
    wheel: Deadlines[str] = Deadlines()
    wheel.set("a", 100.0)
    wheel.set("b", 100.2)
    wheel.set("c", 101.0)
    assert wheel.pop_due(99.9) == []
    assert wheel.pop_due(100.0) == ["a"]
    assert wheel.pop_due(100.9) == []  # b is due at 100.2, taken out with the second it rounds up to
    assert sorted(wheel.pop_due(101.0)) == ["b", "c"]
    assert (len(wheel), wheel.buckets) == (0, 0)


def test_moving_and_dropping_keys() -> None:
    wheel: Deadlines[str] = Deadlines()
    wheel.set("a", 100.0)
    wheel.set("b", 100.0)
    wheel.set("a", 150.0)  # an input: due later
    wheel.discard("b")  # ended
    wheel.discard("b")
    assert ("a" in wheel, "b" in wheel, len(wheel)) == (True, False, 1)
    assert wheel.pop_due(149.0) == []
    assert wheel.pop_due(1e12) == ["a"]


def test_a_second_is_on_the_heap_once_however_often_its_bucket_empties() -> None:
    wheel: Deadlines[int] = Deadlines()
    for n in range(1000):  # a session begun and ended at once, a thousand times in one second
        wheel.set(n, 100.5)
        wheel.discard(n)
    assert (len(wheel), wheel.buckets) == (0, 1)
    assert wheel.pop_due(101.0) == []
    assert wheel.buckets == 0


# --- expiry touches only what is due ------------------------------------------------------------------


def test_expiry_takes_only_the_due_sessions_out_of_50000(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(T0)
    sessions, navigator = store(clock, max_sessions=100_000)
    for n in range(10):
        sessions.begin(f"old-{n}", "13800138000")
    clock.advance(100)
    for n in range(49_990):
        sessions.begin(f"new-{n}", "13800000101")
    sessions._sessions = NoScan(sessions._sessions)  # from here on a scan of the open sessions fails
    popped = counting_heappops(monkeypatch)
    clock.advance(79)
    sessions.expire()
    assert sessions.get("new-1") is not None
    assert (popped, navigator.ends, sessions.open_sessions) == ([], 0, 50_000)
    clock.advance(1)  # the old ones have been idle for the time-out
    sessions.expire()
    assert (popped, navigator.ends, sessions.expired, sessions.open_sessions) == ([int(T0 + 180)], 10, 10, 49_990)
    assert sessions.get("old-3") is None
    assert sessions.get("new-49989") is not None
    assert (popped, navigator.ends) == ([int(T0 + 180)], 10)  # the lookups took nothing more off the wheel


async def test_an_input_moves_the_deadline_and_a_lookup_is_exact_within_the_second() -> None:
    clock = ManualClock(T0)
    sessions, _ = store(clock)
    sessions.begin("a", "13800138000")
    clock.advance(100.5)
    session = sessions.get("a")
    assert session is not None
    assert await sessions.input(session, "3") == UssdAnswer(text=PACKAGES_1, end=False)
    clock.advance(179.9)  # 180 s after the input less a tenth: still open
    assert sessions.get("a") is session
    clock.advance(0.1)  # the deadline (T0 + 280.5) has come; its second (T0 + 281) has not
    assert sessions.get("a") is None
    assert (sessions.expired, sessions.open_sessions) == (1, 0)


# --- the cap -----------------------------------------------------------------------------------------


def test_past_the_cap_a_dial_is_refused_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.ussd")
    clock = ManualClock(T0)
    sessions, _ = store(clock, max_sessions=3)
    assert [sessions.begin(f"s{n}", "13800138000") for n in range(3)] == [UssdAnswer(text=HOME, end=False)] * 3
    for _ in range(5):
        assert sessions.begin("s3", "13800000101") == UssdAnswer(text=BUSY, end=True)
    assert sessions.begin("s1", "13800138000") == UssdAnswer(text=HOME, end=False)  # a new dial on an open key
    assert (sessions.started, sessions.refused, sessions.open_sessions) == (4, 5, 3)
    sessions.release("s0")
    assert sessions.begin("s3", "13800000101") == UssdAnswer(text=HOME, end=False)
    clock.advance(TIMEOUT)
    assert sessions.begin("s4", "13800000101") == UssdAnswer(text=HOME, end=False)  # the others timed out
    assert (sessions.started, sessions.refused, sessions.expired, sessions.open_sessions) == (6, 5, 3, 1)
    logged = [(r.getMessage(), r.__dict__["max_sessions"], r.__dict__["refused"]) for r in caplog.records]
    assert logged == [("ussd sessions at the cap", 3, 1)]  # once per time-out, not once per dial


async def test_ended_sessions_are_kept_for_retries_up_to_the_cap_the_oldest_going_first() -> None:
    clock = ManualClock(T0)
    sessions, _ = store(clock, max_sessions=3)
    for n in range(5):
        sessions.begin(f"s{n}", "13800000101")
        session = sessions.get(f"s{n}")
        assert session is not None
        assert await sessions.input(session, "1") == UssdAnswer(text=BALANCE, end=True)
        clock.advance(1)
    assert sessions.open_sessions == 0
    assert [sessions.ended(f"s{n}") is not None for n in range(5)] == [False, False, True, True, True]
    clock.advance(TIMEOUT - 3)  # s2 ended the time-out ago, s3 a second less
    assert [sessions.ended(f"s{n}") is not None for n in range(2, 5)] == [False, True, True]
    sessions.expire()
    assert list(sessions._ended) == ["s3", "s4"]  # forgotten from the oldest, the way they ended


def test_the_default_cap() -> None:
    sessions, _ = store(ManualClock(T0))
    assert sessions.max_sessions == DEFAULT_MAX_SESSIONS == 10_000


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0", "must be between 1 and 1e+06, got 0"),
        ("1000001", "must be between 1 and 1e+06, got 1000001"),
        ("many", "must be an integer, got 'many'"),
    ],
)
def test_ussd_max_sessions_is_checked_like_every_key(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(environ={"GATEWAY_USSD__MAX_SESSIONS": text})
    assert str(refused.value) == f"ussd.max_sessions: {why} (from GATEWAY_USSD__MAX_SESSIONS)"


def test_ussd_max_sessions_is_read_from_the_environment() -> None:
    assert load_config(environ={}).ussd.max_sessions == 10_000
    assert load_config(environ={"GATEWAY_USSD__MAX_SESSIONS": "500"}).ussd.max_sessions == 500
