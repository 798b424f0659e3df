"""Runs one conversation against its own simulator and gateway, on a fresh ledger and a manual clock."""

from __future__ import annotations

import asyncio
import difflib
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.config import load_config
from gateway.converse.channels import (
    ChannelError,
    ClockControl,
    LocalClock,
    LocalSmsc,
    NoClock,
    RemoteClock,
    RemoteSmsc,
    Smsc,
)
from gateway.converse.fixtures import seed
from gateway.converse.script import Conversation, Expect, MoveClock, Send, Silence, Step
from gateway.database import open_database
from gateway.ledger.calendar import Calendar
from gateway.smsc import SmscSimulator

ANSWER_TIMEOUT = 5.0
GRACE = 0.3  # how long to wait for stray answers before a new message and at the end


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    line: int
    what: str  # what went wrong, in words
    expected: str
    actual: str
    literal: bool = False  # the expected text is plain text: mark where it differs from the actual

    def explain(self) -> str:
        lines = [f"line {self.line}: {self.what}", f"  expected: {self.expected}", f"  actual:   {self.actual}"]
        if self.literal:
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
    """One conversation in progress: where it sends, the clock it moves, and what it has read so far."""

    def __init__(self, conversation: Conversation, smsc: Smsc, clock: ClockControl) -> None:
        self.conversation = conversation
        self.smsc = smsc
        self.clock = clock
        self.subscribers = {s.subscriber for s in conversation.steps if isinstance(s, Send)}
        self.read = 0  # answers[:read] have been matched
        self.transcript: list[str] = []

    async def run(self) -> None:
        for step in self.conversation.steps:
            await self.step(step)
        await self._no_strays(None)

    async def step(self, step: Step) -> None:
        if isinstance(step, Send):
            await self._no_strays(step.line)
            self.transcript.append(f"{step.subscriber} > {step.text}")
            await self.smsc.send(step.subscriber, step.service, step.text)
            await self._expect(step.expects)
        elif isinstance(step, MoveClock):
            await self._move(step)
            await self._expect(step.expects)
        elif isinstance(step, Silence):
            await asyncio.sleep(step.seconds)
            await self._no_strays(step.line, what=f"within {step.seconds:g}s")
        else:
            self.transcript.append(f"  (smsc {step.action}{f' every {step.value}' if step.value else ''})")
            await self.smsc.fault(step.action, step.value)
            await self._expect(step.expects)

    async def _move(self, step: MoveClock) -> None:
        if step.by is not None:
            await self.clock.advance(step.by)
            self.transcript.append(f"  (clock +{step.by:g}s)")
        elif step.to is not None:
            await self.clock.set(step.to)
            self.transcript.append(f"  (clock at {step.to:%Y-%m-%d %H:%M})")

    async def _answers(self) -> list[tuple[str, str]]:
        return [a for a in await self.smsc.answers() if a[0] in self.subscribers]

    async def _expect(self, expects: tuple[Expect, ...]) -> None:
        for expect in expects:
            answer = await self._next_answer()
            if answer is None:
                waited = f"(no answer within {ANSWER_TIMEOUT:g}s)"
                what = "an expected answer did not come"
                raise _Failed(Failure(line=expect.line, what=what, expected=expect.shown, actual=waited))
            destination, actual = answer
            self.transcript.append(f"{destination} < {actual}")
            if not expect.matches(actual):
                what = "the answer is not the one expected"
                literal = not expect.regex and "*" not in expect.pattern
                raise _Failed(
                    Failure(line=expect.line, what=what, expected=expect.shown, actual=actual, literal=literal)
                )

    async def _next_answer(self) -> tuple[str, str] | None:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(answers := await self._answers()) <= self.read:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        self.read += 1
        return answers[self.read - 1]

    async def _no_strays(self, line: int | None, what: str = "") -> None:
        await asyncio.sleep(GRACE if line is None else 0)
        answers = await self._answers()
        if len(answers) > self.read:
            where = what or ("before the end" if line is None else "before the next message")
            what = f"an answer nobody expected came {where}"
            stray = answers[self.read][1]
            at = line if line is not None else self.conversation.steps[-1].line
            raise _Failed(Failure(line=at, what=what, expected="(no further answer)", actual=stray))


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
            start = Calendar.named(config.gateway.timezone).instant(conversation.clock or datetime.now())
            clock = ManualClock(start)
            gateway = Gateway(config, clock=clock)
            db = await open_database(ledger)
            try:
                await seed(db, conversation.fixtures, gateway.products, gateway.calendar, now=start)
            finally:
                await db.close()
            await gateway.start()
            moved = gateway.responder.expire_dialogs
            local = LocalClock(clock, gateway.calendar, moved)
            session = Session(conversation, LocalSmsc(sim, gateway.link.wait_bound), local)
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
        "GATEWAY_SMPP__RESPONSE_TIMEOUT": "1",  # answers held by `smsc hold` are sent again soon after `normal`
        "GATEWAY_SMPP__RECONNECT_MIN": "0.05",
        "GATEWAY_SMPP__RECONNECT_MAX": "0.3",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MIN": "0.02",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MAX": "0.2",
        "GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT": "2",
    }


async def run_attached(conversation: Conversation, *, smsc_control: str, gateway_control: str | None) -> Result:
    """Run against a simulator that a (staging) gateway is bound to, through their HTTP control APIs."""
    started = time.monotonic()
    result = Result(conversation=conversation)
    if conversation.fixtures:
        result.error = "ledger blocks need a local run (an attached gateway keeps its own ledger)"
        return result
    async with aiohttp.ClientSession() as http:
        smsc = RemoteSmsc(http, smsc_control)
        clock: ClockControl = RemoteClock(http, gateway_control) if gateway_control else NoClock()
        session = Session(conversation, smsc, clock)
        try:
            await smsc.start()
            if conversation.clock is not None:
                await clock.set(conversation.clock)
            await session.run()
        except _Failed as failed:
            result.failure = failed.failure
        except (ChannelError, aiohttp.ClientError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.transcript = session.transcript
    result.seconds = time.monotonic() - started
    return result
