"""Runs one conversation against its own simulator and gateway, on a fresh ledger and a manual clock.

The local gateway gets an admin token of the runner's own, so ``usage``, ``pay`` and ``restore`` go through
its admin API over HTTP exactly as they would to an attached gateway given ``--admin-token``.

SMS answers and USSD screens are read as two streams, each in its order: a ``<`` line takes the next
SMS, a ``< CON`` / ``< END`` line the next screen.
"""

from __future__ import annotations

import asyncio
import difflib
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.config import PROJECT_ROOT, UssdConfig, load_config
from gateway.converse.channels import (
    AdminFeed,
    ChannelError,
    ClockControl,
    Feed,
    HttpUssd,
    LocalClock,
    LocalSmsc,
    NoClock,
    NoFeed,
    NoUssdHttp,
    Refused,
    RemoteClock,
    RemoteSmsc,
    SmppUssd,
    Smsc,
    UssdChannel,
    UssdScreen,
)
from gateway.converse.fixtures import seed
from gateway.converse.script import (
    Conversation,
    Dial,
    Expect,
    HangUp,
    MoveClock,
    Pay,
    Restore,
    Send,
    Silence,
    SmscFault,
    Step,
    Usage,
    UssdInput,
)
from gateway.db.database import open_database
from gateway.db.scratch import scratch_ledger
from gateway.db.target import is_url
from gateway.format import yuan
from gateway.ledger.calendar import Calendar
from gateway.smsc import SmscSimulator
from gateway.ussd.smpp import UssdOps

ANSWER_TIMEOUT = 5.0
GRACE = 0.3  # how long to wait for stray answers before a new message and at the end
ZONE = "Asia/Shanghai"  # the times a conversation writes are Beijing time (docs/testing.md)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    line: int
    what: str  # what went wrong, in words
    expected: str
    actual: str
    literal: bool = False  # the expected text is plain text: mark where it differs from the actual

    def explain(self) -> str:
        lines = [
            f"line {self.line}: {self.what}",
            _labelled("expected", self.expected),
            _labelled("actual", self.actual),
        ]
        if self.literal:
            expected, actual = _marked_screens(self.expected, self.actual)
            lines += ["  where they differ (in 【】):", _labelled("expected", expected), _labelled("actual", actual)]
        return "\n".join(lines)


def _marked_screens(expected: str, actual: str) -> tuple[str, str]:
    """:func:`marked_difference`, with a USSD screen's ``CON`` / ``END`` marked whole when it differs."""
    closings = ("CON ", "END ")
    if expected[:4] not in closings or actual[:4] not in closings:
        return marked_difference(expected, actual)
    left, right = marked_difference(expected[4:], actual[4:])
    if expected[:4] == actual[:4]:
        return expected[:4] + left, actual[:4] + right
    return f"【{expected[:3]}】 {left}", f"【{actual[:3]}】 {right}"


def _labelled(label: str, text: str) -> str:
    """``  expected: …``, the further lines of a multi-line text (a USSD screen) under its first."""
    head = f"  {label + ':':<9} "
    return head + text.replace("\n", "\n" + " " * len(head))


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

    def __init__(
        self,
        conversation: Conversation,
        smsc: Smsc,
        clock: ClockControl,
        feed: Feed,
        calendar: Calendar,
        ussd: UssdChannel,
    ) -> None:
        self.conversation = conversation
        self.smsc = smsc
        self.clock = clock
        self.feed = feed
        self.calendar = calendar
        self.ussd = ussd
        self.subscribers = {s.subscriber for s in conversation.steps if not isinstance(s, Silence | SmscFault)}
        self.read = 0  # answers[:read] have been matched
        self.shown = 0  # screens[:shown] have been matched
        self.transcript: list[str] = []

    async def run(self) -> None:
        for step in self.conversation.steps:
            await self.step(step)
        await self._no_strays(None)

    async def step(self, step: Step) -> None:
        if isinstance(step, Dial | UssdInput | HangUp):
            await self._ussd(step)
        elif isinstance(step, Send):
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
        elif isinstance(step, Usage | Pay | Restore):
            await self._no_strays(step.line, what="before the next step")
            try:
                self.transcript.append(f"  ({await self._feed(step)})")
            except Refused as refused:
                what = "the admin API refused this step"
                raise _Failed(Failure(line=step.line, what=what, expected="(accepted)", actual=str(refused))) from None
            await self._expect(step.expects)
        else:
            self.transcript.append(f"  (smsc {step.action}{f' every {step.value}' if step.value else ''})")
            await self.smsc.fault(step.action, step.value)
            await self._expect(step.expects)

    async def _ussd(self, step: Dial | UssdInput | HangUp) -> None:
        await self._no_strays(step.line)
        who = step.subscriber
        if isinstance(step, Dial):
            self.transcript.append(f"{who} dials {step.code}  (ussd {self.conversation.ussd})")
            await self.ussd.dial(who, step.code)
        elif isinstance(step, UssdInput):
            self.transcript.append(f"{who} > {step.text}")
            await self.ussd.answer(who, step.text)
        else:
            self.transcript.append(f"{who} hangs up")
            await self.ussd.hang_up(who)
            return
        await self._expect(step.expects)

    async def _move(self, step: MoveClock) -> None:
        if step.by is not None:
            await self.clock.advance(step.by)
            self.transcript.append(f"  (clock +{_span(step.by)})")
        elif step.to is not None:
            await self.clock.set(step.to)
            self.transcript.append(f"  (clock at {step.to:%Y-%m-%d %H:%M{':%S' if step.to.second else ''}})")

    async def _feed(self, step: Usage | Pay | Restore) -> str:
        """Do the step through the admin API; what happened, for the transcript."""
        who = step.subscriber
        if isinstance(step, Pay):
            await self.feed.pay(reference=step.id, msisdn=who, amount_fen=step.amount, channel=step.channel)
            return f"{who} pays {yuan(step.amount)} {step.channel}"
        if isinstance(step, Restore):
            answer = await self.feed.restore(who)
            return f"{who} protective restore until {answer.get('until')}"
        start = self.calendar.instant(step.start) if step.start else await self.clock.now() - step.duration
        answer = await self.feed.usage(
            reference=step.id,
            msisdn=who,
            category=step.category,
            quantity=step.quantity,
            start=start,
            duration=step.duration,
        )
        unit = {"data": "KB", "voice": "s"}.get(step.category, "")
        local = self.calendar.local(start)
        said = f"{who} usage {step.category} {step.quantity}{unit} from {local:%Y-%m-%d %H:%M:%S} for {step.duration}s"
        return f"{said}: {_rated(answer, unit)}"

    async def _answers(self) -> list[tuple[str, str]]:
        """The SMS answers so far (destination, text); USSD screens are read apart."""
        mts = await self.smsc.answers()
        sms = [mt for mt in mts if mt.ussd_service_op is None and mt.destination_addr in self.subscribers]
        return [(mt.destination_addr, mt.text) for mt in sms]

    async def _screens(self) -> list[UssdScreen]:
        return [s for s in await self.ussd.screens() if s.subscriber in self.subscribers]

    async def _expect(self, expects: tuple[Expect, ...]) -> None:
        for expect in expects:
            if expect.screen is not None:
                await self._expect_screen(expect)
                continue
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

    async def _expect_screen(self, expect: Expect) -> None:
        screen = await self._next_screen()
        if screen is None:
            waited = f"(no screen within {ANSWER_TIMEOUT:g}s)"
            raise _Failed(
                Failure(line=expect.line, what="an expected screen did not come", expected=expect.shown, actual=waited)
            )
        first, *more = screen.shown.split("\n")
        self.transcript.append(f"{screen.subscriber} < {first}")
        self.transcript += [" " * (len(screen.subscriber) + 7) + line for line in more]  # under the text
        if screen.problem:
            what = f"the screen came wrong: {screen.problem}"
            raise _Failed(Failure(line=expect.line, what=what, expected=expect.shown, actual=screen.shown))
        if screen.end != (expect.screen == "END") or not expect.matches(screen.text):
            literal = not expect.regex and "*" not in expect.pattern
            what = "the screen is not the one expected"
            raise _Failed(
                Failure(line=expect.line, what=what, expected=expect.shown, actual=screen.shown, literal=literal)
            )

    async def _next_screen(self) -> UssdScreen | None:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(screens := await self._screens()) <= self.shown:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        self.shown += 1
        return screens[self.shown - 1]

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
        where = what or ("before the end" if line is None else "before the next message")
        at = line if line is not None else self.conversation.steps[-1].line
        answers = await self._answers()
        if len(answers) > self.read:
            stray = answers[self.read][1]
            what = f"an answer nobody expected came {where}"
            raise _Failed(Failure(line=at, what=what, expected="(no further answer)", actual=stray))
        screens = await self._screens()
        if len(screens) > self.shown:
            what = f"a screen nobody expected came {where}"
            raise _Failed(Failure(line=at, what=what, expected="(no further screen)", actual=screens[self.shown].shown))


async def run_conversation(conversation: Conversation, *, server: str = "") -> Result:
    """Start a simulator and a gateway for this conversation alone, run it, stop them. The ledger is a new
    SQLite file, or with ``server`` (a ``postgresql://`` URL) a new database on that server, dropped after."""
    started = time.monotonic()
    result = Result(conversation=conversation)
    with tempfile.TemporaryDirectory(prefix="converse-") as folder:
        try:
            async with scratch_ledger(server, folder, "converse") as ledger:
                await _run_local(conversation, ledger, result)
        except Exception as exc:  # the ledger could not be made (or dropped)
            result.error = result.error or f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result


async def _run_local(conversation: Conversation, ledger: str, result: Result) -> None:
    sim = SmscSimulator(port=0)
    await sim.start()
    try:
        token = secrets.token_hex(16)
        config = load_config(environ=_environ(sim.port, ledger, token))
        start = Calendar.named(config.gateway.timezone).instant(conversation.clock or datetime.now())
        clock = ManualClock(start)
        gateway = Gateway(config, clock=clock)
        db = await open_database(ledger)
        try:
            await seed(db, conversation.fixtures, gateway.products, gateway.calendar, now=start)
        finally:
            await db.close()
        await gateway.start()
        local = LocalClock(clock, gateway.calendar, gateway.time_moved)
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{gateway.http.port}"
            feed = AdminFeed(http, url, token=token, calendar=gateway.calendar)
            smsc = LocalSmsc(sim, gateway.link.wait_bound)
            ussd: UssdChannel = HttpUssd(http, url) if conversation.ussd == "http" else SmppUssd(smsc, gateway.ussd_ops)
            session = Session(conversation, smsc, local, feed, gateway.calendar, ussd)
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


def _span(seconds: float) -> str:
    """``7171200`` → ``'83d'``, ``5400`` → ``'1h30m'``, ``0.5`` → ``'0.5s'``: as a script would write it."""
    whole = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    rest = whole + seconds - int(seconds)
    return "".join(parts) + (f"{rest:g}s" if rest or not parts else "")


def _rated(answer: Any, unit: str) -> str:
    """The admin API's answer to a batch of one usage record, in words."""
    if answer["duplicates"]:
        return "a repeat of a record id already rated: not charged again"
    if answer["rejected"]:
        rejected = answer["rejected"][0]
        return f"rejected, {rejected['reason']}: {rejected['detail']}"
    rated = answer["rated"][0]
    said = f"granted {rated['granted']}{unit}, charged {yuan(rated['charged_fen'])}"
    if rated["refused"]:
        said += f", {rated['refused']}{unit} refused ({rated['reason']})"
    return said + (", suspended" if answer["suspended"] else "")


def _environ(port: int, ledger: str, token: str) -> dict[str, str]:
    return {
        "GATEWAY_SMPP__PORT": str(port),
        "GATEWAY_LEDGER__URL" if is_url(ledger) else "GATEWAY_LEDGER__PATH": ledger,
        "GATEWAY_HTTP__PORT": "0",
        "GATEWAY_HTTP__TOKENS": token,  # the runner's own, for usage, pay and restore
        "GATEWAY_SMPP__RESPONSE_TIMEOUT": "1",  # answers held by `smsc hold` are sent again soon after `normal`
        "GATEWAY_SMPP__RECONNECT_MIN": "0.05",
        "GATEWAY_SMPP__RECONNECT_MAX": "0.3",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MIN": "0.02",
        "GATEWAY_SMPP__THROTTLE_BACKOFF_MAX": "0.2",
        "GATEWAY_GATEWAY__SHUTDOWN_TIMEOUT": "2",
    }


def ussd_profile(name: str) -> UssdOps:
    """The USSD operation codes of a profile of the project's ``config/ussd/profiles.toml``."""
    return UssdOps.load(PROJECT_ROOT / UssdConfig().profiles, name)


async def run_attached(
    conversation: Conversation,
    *,
    smsc_control: str,
    gateway_control: str | None,
    admin_token: str | None = None,
    ussd_ops: UssdOps | None = None,
) -> Result:
    """Run against a simulator that a (staging) gateway is bound to, through their HTTP control APIs; with
    ``admin_token`` also through that gateway's admin API (usage, pay, restore). USSD goes over that
    simulator with the operation codes of ``ussd_ops`` (default: the ``smpp34`` profile), or with ``ussd
    http`` to ``POST /ussd`` under ``gateway_control``."""
    started = time.monotonic()
    result = Result(conversation=conversation)
    if conversation.fixtures:
        result.error = "ledger blocks need a local run (an attached gateway keeps its own ledger)"
        return result
    async with aiohttp.ClientSession() as http:
        smsc = RemoteSmsc(http, smsc_control)
        clock: ClockControl = RemoteClock(http, gateway_control) if gateway_control else NoClock()
        calendar = Calendar.named(ZONE)
        feed: Feed = NoFeed()
        run = f"conv{int(time.time() * 1000)}-"  # ids unique to this run: the gateway keeps every earlier one
        if gateway_control and admin_token:
            feed = AdminFeed(http, gateway_control, token=admin_token, calendar=calendar, ids=run)
        ussd: UssdChannel
        if conversation.ussd == "http":
            ussd = HttpUssd(http, gateway_control, ids=run) if gateway_control else NoUssdHttp()
        else:
            ussd = SmppUssd(smsc, ussd_ops or ussd_profile("smpp34"))
        session = Session(conversation, smsc, clock, feed, calendar, ussd)
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
