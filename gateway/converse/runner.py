"""Runs one conversation against its own simulator and gateway, on a fresh ledger and a manual clock."""

from __future__ import annotations

import asyncio
import difflib
import tempfile
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.config import load_config
from gateway.converse.fixtures import seed
from gateway.converse.script import Conversation, Expect, MoveClock, Send, Silence, SmscFault, Step
from gateway.database import open_database
from gateway.ledger.calendar import Calendar
from gateway.smsc import Faults, SmscSimulator

ANSWER_TIMEOUT = 5.0
GRACE = 0.3  # how long to wait for stray answers before a new message and at the end


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    line: int
    what: str  # the step, as the tester wrote it
    expected: str
    actual: str

    def explain(self) -> str:
        lines = [f"line {self.line}: {self.what}", f"  expected: {self.expected}", f"  actual:   {self.actual}"]
        if self.expected and self.actual and not self.actual.startswith("("):
            expected, actual = marked_difference(self.expected, self.actual)
            lines += ["  where they differ (in 【】):", f"  expected: {expected}", f"  actual:   {actual}"]
        return "\n".join(lines)


def marked_difference(expected: str, actual: str) -> tuple[str, str]:
    """Both texts with the parts that differ in 【】, readable whatever the width of the characters."""
    left: list[str] = []
    right: list[str] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=expected, b=actual, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(expected[a1:a2])
            right.append(actual[b1:b2])
        else:
            left.append(f"【{expected[a1:a2]}】")
            right.append(f"【{actual[b1:b2]}】")
    return "".join(left), "".join(right)


@dataclass(slots=True, kw_only=True)
class Result:
    conversation: Conversation
    failure: Failure | None = None
    error: str | None = None  # the conversation could not run at all
    transcript: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failure is None and self.error is None


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.explain())
        self.failure = failure


class Session:
    """One conversation in progress: the simulator, the gateway, the clock, and what was read so far."""

    def __init__(self, conversation: Conversation, sim: SmscSimulator, gateway: Gateway, clock: ManualClock) -> None:
        self.conversation = conversation
        self.sim = sim
        self.gateway = gateway
        self.clock = clock
        self.read = 0  # sim.mts[:read] have been matched
        self.transcript: list[str] = []

    async def run(self) -> None:
        for step in self.conversation.steps:
            await self.step(step)
        await self._no_strays(None)

    async def step(self, step: Step) -> None:
        if isinstance(step, Send):
            await self._no_strays(step.line)
            self.transcript.append(f"{step.subscriber} > {step.text}")
            await self.sim.send_mo(step.subscriber, step.service, step.text)
            await self._expect(step.line, step.expects)
        elif isinstance(step, MoveClock):
            self._move(step)
            await self._expect(step.line, step.expects)
        elif isinstance(step, Silence):
            await asyncio.sleep(step.seconds)
            await self._no_strays(step.line, what=f"no answer within {step.seconds:g}s")
        else:
            await self._fault(step)

    def _move(self, step: MoveClock) -> None:
        if step.by is not None:
            self.clock.advance(step.by)
            self.transcript.append(f"  (clock +{step.by:g}s)")
        elif step.to is not None:
            self.clock.set(_instant(self.gateway.calendar, step.to))
            self.transcript.append(f"  (clock at {step.to:%Y-%m-%d %H:%M})")

    async def _expect(self, line: int, expects: tuple[Expect, ...]) -> None:
        for expect in expects:
            actual = await self._next_answer()
            if actual is None:
                raise _Failed(
                    Failure(
                        line=expect.line,
                        what="an expected answer did not come",
                        expected=expect.shown,
                        actual=f"(no answer within {ANSWER_TIMEOUT:g}s)",
                    )
                )
            self.transcript.append(f"{_destination(self.sim, self.read - 1)} < {actual}")
            if not expect.matches(actual):
                what = "the answer is not the one expected"
                raise _Failed(Failure(line=expect.line, what=what, expected=expect.shown, actual=actual))

    async def _next_answer(self) -> str | None:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(self.sim.mts) <= self.read:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        self.read += 1
        return self.sim.mts[self.read - 1].text

    async def _no_strays(self, line: int | None, what: str = "") -> None:
        await asyncio.sleep(GRACE if line is None else 0)
        if len(self.sim.mts) > self.read:
            stray = self.sim.mts[self.read].text
            where = what or ("before the end" if line is None else "before the next message")
            what = f"an answer nobody expected came {where}"
            raise _Failed(Failure(line=line or 0, what=what, expected="(no further answer)", actual=stray))

    async def _fault(self, step: SmscFault) -> None:
        faults = self.sim.faults
        self.transcript.append(f"  (smsc {step.action}{f' every {step.value}' if step.value else ''})")
        if step.action == "throttle":
            faults.throttle_every = step.value
        elif step.action == "hold":
            faults.hold_submits = True
        elif step.action == "normal":
            fresh = Faults()
            for f in fields(Faults):
                setattr(faults, f.name, getattr(fresh, f.name))
        elif step.action == "drop":
            await self.sim.drop_connections()
            await asyncio.sleep(0.05)
            await self.gateway.link.wait_bound(ANSWER_TIMEOUT)


def _destination(sim: SmscSimulator, index: int) -> str:
    return sim.mts[index].destination_addr


def _instant(calendar: Calendar, local: datetime) -> float:
    return local.replace(tzinfo=calendar.zone).timestamp()


async def run_conversation(conversation: Conversation) -> Result:
    """Start a simulator and a gateway for this conversation alone, run it, stop them."""
    started = time.monotonic()
    result = Result(conversation=conversation)
    with tempfile.TemporaryDirectory(prefix="converse-") as folder:
        ledger = str(Path(folder) / "gateway.db")
        sim = SmscSimulator(port=0)
        await sim.start()
        try:
            config = load_config(environ=_environ(sim.port, ledger))
            start = _instant(Calendar.named(config.gateway.timezone), conversation.clock or datetime.now())
            clock = ManualClock(start)
            gateway = Gateway(config, clock=clock)
            db = await open_database(ledger)
            try:
                await seed(db, conversation.fixtures, gateway.products, gateway.calendar, now=start)
            finally:
                await db.close()
            await gateway.start()
            session = Session(conversation, sim, gateway, clock)
            try:
                await gateway.link.wait_bound(ANSWER_TIMEOUT)
                await session.run()
            except _Failed as failed:
                result.failure = failed.failure
            finally:
                result.transcript = session.transcript
                await gateway.stop()
        except Exception as exc:  # a broken fixture or start-up: the conversation could not run
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            await sim.stop()
    result.seconds = time.monotonic() - started
    return result


def _environ(port: int, ledger: str) -> dict[str, str]:
    return {
        "GATEWAY_SMPP__PORT": str(port),
        "GATEWAY_LEDGER__PATH": ledger,
        "GATEWAY_HTTP__PORT": "0",
        "GATEWAY_SMPP__RECONNECT_MIN": "0.05",
        "GATEWAY_SMPP__RECONNECT_MAX": "0.3",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MIN": "0.02",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MAX": "0.2",
        "GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT": "2",
    }
