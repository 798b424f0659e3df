"""The harness of tests/reliability/test_kill9.py: subscribers' scripts, the SMSC's side of delivery, the
answers as the SMSC saw them, the gateway as a process that is killed and started again, and the cycles.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from support.process import spawn

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.smpp.constants import Status
from gateway.smsc import SmscSimulator

SCRIPTS_PER_CYCLE = 12
OPENING_CASH = 10_000  # fen: 100元, far above the 10元 low-balance reminder
STARTUP_KILL_CHANCE = 0.2  # of a cycle also killing a gateway while it starts and recovers
ACK_LOSS_WINDOW = 0.1  # seconds before a kill: the acknowledgements the SMSC may not have acted on
FIRST_MSISDN = 13_900_000_000

AnswerKey = tuple[str, str, str]  # subscriber, service number, kind of answer


# --- what subscribers send ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    service_number: str
    text: str
    answer: str  # the kind of answer it gets: see answer_kind


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    steps: tuple[Step, ...]
    orders: str | None = None  # the package the unit orders and pays for


def _step(service_number: str, text: str, answer: str) -> Step:
    return Step(service_number=service_number, text=text, answer=answer)


# A subscriber's first script orders each package at most once (so the expected ledger is known); the
# scripts of returning subscribers ask the same queries again, as the same numbers do in real traffic.
UNITS = (
    Unit(steps=(_step("10001", "102", "balance"),)),
    Unit(steps=(_step("10086", "CXYE", "balance"),)),
    Unit(steps=(_step("10001", "101", "charges"),)),
    Unit(
        steps=(_step("10086", "KTGPRS10", "prompt GPRS10元包"), _step("10086", "是", "done GPRS10元包")),
        orders="GPRS10",
    ),
    Unit(steps=(_step("10001", "452", "prompt 3元短信包"), _step("10001", "Y", "done 3元短信包")), orders="DX3"),
    Unit(steps=(_step("10086", "3041", "prompt 来电提醒"), _step("10086", "否", "declined 来电提醒"))),
)

QUERY_UNITS = UNITS[:3]
QUERY_KINDS = frozenset(step.answer for unit in QUERY_UNITS for step in unit.steps)
RETURNING_PER_CYCLE = 6  # subscribers of earlier cycles whose scripts are done, asking again

_KINDS = (
    (re.compile(r"您好，您的账户余额为"), "balance"),
    (re.compile(r"您好，截至"), "charges"),
    (re.compile(r"您好，您将订购(.+?)，月费"), "prompt"),
    (re.compile(r"您好，您已成功订购(.+?)，本次扣费"), "done"),
    (re.compile(r"您好，您已取消订购(.+?)，未扣费"), "declined"),
)


def answer_kind(text: str) -> str:
    for pattern, kind in _KINDS:
        match = pattern.match(text)
        if match:
            return f"{kind} {match[1]}" if match.groups() else kind
    return "unexpected"


def charged_fen(done_text: str) -> int:
    match = re.search(r"本次扣费(\d+)\.(\d\d)元", done_text)
    assert match, done_text
    return int(match[1]) * 100 + int(match[2])


@dataclass(slots=True, kw_only=True)
class Script:
    msisdn: str
    units: list[Unit]
    acked: int = 0  # MOs with an OK deliver_sm_resp
    answered: int = 0  # steps whose answer came

    @property
    def steps(self) -> list[Step]:
        return [step for unit in self.units for step in unit.steps]

    @property
    def orders(self) -> set[str]:
        return {unit.orders for unit in self.units if unit.orders}


def make_script(rng: random.Random, msisdn: str, *, returning: bool = False) -> Script:
    """A new subscriber's script, or (``returning``) the queries of one who was here before."""
    choices = QUERY_UNITS if returning else UNITS
    units = [unit for unit in choices if rng.random() < 0.55] or [rng.choice(choices)]
    rng.shuffle(units)
    return Script(msisdn=msisdn, units=units)


# --- what the SMSC sees ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    run: int  # which start of the gateway sent it (1 = the first)
    message_ids: tuple[str, ...]
    text: str
    received_at: float


class Progress:
    """Steps of the scripts acknowledged and answered so far: the kills are placed by this count, so each
    run gets a random share of real work done (counting redeliveries or resent MTs as well would let a
    backlog of them fill every run, killed before it could commit anything)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Event()

    def tick(self) -> None:
        self.count += 1
        self._changed.set()

    async def reach(self, target: int, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                while self.count < target:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pass  # the load ran dry first: kill it idle


class Answers:
    """Every MT the simulator completed, as copies of an answer keyed by subscriber, number and kind."""

    def __init__(self, sim: SmscSimulator, run_starts: list[float]) -> None:
        self.copies: dict[AnswerKey, list[Copy]] = {}
        self._sim = sim
        self._run_starts = run_starts  # time.monotonic() of each start, as the simulator stamps MTs
        self._arrived: dict[AnswerKey, asyncio.Event] = {}
        self._seen = 0

    async def watch(self) -> None:
        mts = self._sim.mts
        while True:
            while len(mts) <= self._seen:
                await asyncio.sleep(0.002)  # (wait_for_mts would scan every MT at every PDU)
            for mt in mts[self._seen :]:
                key = (mt.destination_addr, mt.source_addr, answer_kind(mt.text))
                run = bisect.bisect_right(self._run_starts, mt.received_at)
                copy = Copy(run=run, message_ids=mt.message_ids, text=mt.text, received_at=mt.received_at)
                self.copies.setdefault(key, []).append(copy)
                self._event(key).set()
                self._seen += 1

    async def wait(self, key: AnswerKey) -> None:
        await self._event(key).wait()

    def _event(self, key: AnswerKey) -> asyncio.Event:
        return self._arrived.setdefault(key, asyncio.Event())


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    at: float  # time.monotonic()
    sent_at: float  # when the deliver_sm was sent (its acknowledgement was read after this)
    msisdn: str
    step: Step


class Smsc:
    """The SMSC's side of MO delivery: an MO is delivered until a gateway acknowledges it with ESME_ROK,
    and delivered once more when the SMSC had not read that acknowledgement when the link broke. As a
    real SMSC does, a subscriber's MOs delivered again come first, in their order, before newer ones."""

    def __init__(self, sim: SmscSimulator) -> None:
        self.sim = sim
        self.unacked = 0  # deliveries that got no OK (the gateway died first), made again
        self.failures: Counter[str] = Counter()  # why, by status or exception
        self.redelivered = 0  # MOs delivered again after their acknowledgement was lost
        # (msisdn, service number, text) → copies that may reach a gateway again: after a lost acknowledgement,
        # and after a delivery that got no OK (the gateway may have stored it before it died)
        self.redelivered_keys: Counter[tuple[str, str, str]] = Counter()
        self.redeliveries: list[asyncio.Task[None]] = []
        self._acks: list[Ack] = []
        self._redelivering: dict[str, asyncio.Event] = {}  # set once that subscriber's are all delivered

    async def deliver(self, msisdn: str, step: Step, *, again: bool = False) -> None:
        while True:
            await self.sim.wait_bound(timeout=120)
            while not again and msisdn in self._redelivering:
                await self._redelivering[msisdn].wait()
            sent_at = time.monotonic()
            try:
                statuses = await self.sim.send_mo(msisdn, step.service_number, step.text, timeout=30)
            except (ConnectionError, TimeoutError) as exc:
                self.failures[f"{type(exc).__name__}: {exc}"] += 1
            else:
                if statuses == [Status.ESME_ROK]:
                    self._acks.append(Ack(at=time.monotonic(), sent_at=sent_at, msisdn=msisdn, step=step))
                    return
                self.failures[f"status {statuses}"] += 1
            self.unacked += 1
            # The gateway may have stored it and died before its acknowledgement went: a copy delivered again
            self.redelivered_keys[(msisdn, step.service_number, step.text)] += 1
            await asyncio.sleep(0.01)

    def lose_acks(self, rng: random.Random, since: float) -> None:
        """The link broke: of the acknowledgements of MOs sent since ``since``, lose about half.

        On one machine a killed process's last writes still arrive, so the acknowledgement a real SMSC
        may miss is made up here; after a crash the gateway expects again every MO of the last
        ``gateway.redelivery_window`` whose acknowledgement it had not seen read.
        """
        # The gateway counts an acknowledgement as read once we answer a request it wrote after it, and a
        # real SMSC that had read it would not deliver again: ``since`` is when we stopped answering (the
        # kill holds the submit_sm answers first), so only acknowledgements of MOs sent after it may be lost.
        lost: dict[str, list[Step]] = {}
        for ack in self._acks:
            if ack.sent_at >= since and rng.random() < 0.5:
                self.redelivered += 1
                self.redelivered_keys[(ack.msisdn, ack.step.service_number, ack.step.text)] += 1
                lost.setdefault(ack.msisdn, []).append(ack.step)
        self._acks.clear()
        for msisdn, steps in lost.items():
            if msisdn not in self._redelivering:
                self._redelivering[msisdn] = asyncio.Event()
            self.redeliveries.append(asyncio.create_task(self._deliver_again(msisdn, steps)))

    async def _deliver_again(self, msisdn: str, steps: list[Step]) -> None:
        try:
            for step in steps:
                await self.deliver(msisdn, step, again=True)
        finally:
            self._redelivering.pop(msisdn).set()


async def run_script(smsc: Smsc, answers: Answers, progress: Progress, script: Script, delay: float) -> None:
    """One subscriber: each MO once acknowledged, then its answer awaited, as a person would."""
    await asyncio.sleep(delay)
    for step in script.steps:
        await smsc.deliver(script.msisdn, step)
        script.acked += 1
        progress.tick()
        await answers.wait((script.msisdn, step.service_number, step.answer))
        script.answered += 1
        progress.tick()


# --- the gateway process --------------------------------------------------------------------------


class GatewayProcess:
    def __init__(self, sim: SmscSimulator, env: dict[str, str]) -> None:
        self.sim = sim
        self.env = env
        self.run_starts: list[float] = []
        self.kills: list[float] = []
        self._process: asyncio.subprocess.Process | None = None

    @property
    def runs(self) -> int:
        return len(self.run_starts)

    async def start(self, *, bound: bool = True) -> None:
        """Start a gateway on the ledger file and (unless told not to) wait until it has bound."""
        binds_before = self.sim.binds
        self.run_starts.append(time.monotonic())
        self._process = await spawn(self.env)
        if not bound:
            return
        async with asyncio.timeout(30):
            while self.sim.binds <= binds_before or not self.sim.sessions:
                assert self._process is not None and self._process.returncode is None, "the gateway exited"
                await asyncio.sleep(0.01)

    async def kill(self) -> None:
        assert self._process is not None
        self.kills.append(time.monotonic())
        self._process.kill()
        await asyncio.wait_for(self._process.wait(), 10)
        async with asyncio.timeout(10):  # the simulator has read what the dead process had written
            while self.sim.sessions:
                await asyncio.sleep(0.005)

    async def stop(self) -> int:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self._process.wait(), 30)

    async def close(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


# --- the ledger -----------------------------------------------------------------------------------


def msisdns(count: int) -> list[str]:
    return [str(FIRST_MSISDN + n) for n in range(count)]


async def seed(path: Path, numbers: list[str]) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            NewSubscriber(
                msisdn=n, name="可靠", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=OPENING_CASH
            )
            for n in numbers
        ],
    )
    await db.close()


async def read_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "accounts": "SELECT msisdn, cash, gift FROM account",
        "fees": "SELECT msisdn, product, amount FROM fee",
        "subscriptions": "SELECT msisdn, product, ends_at FROM subscription",
        "dialogs": "SELECT msisdn, service_number, kind FROM dialog",
        "mos": "SELECT id, source_addr, destination_addr, text, status, redelivery_of FROM mo",
        "mts": "SELECT id, mo_id, status FROM mt",
        "mt_parts": "SELECT mt_id, message_id FROM mt_part",
    }
    db = await open_database(str(path))
    try:
        return {name: [tuple(r) for r in await db.fetch(sql)] for name, sql in queries.items()}
    finally:
        await db.close()


# --- the cycles -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Load:
    """The subscribers' scripts, a batch started each cycle, and the SMSC that delivers their MOs."""

    rng: random.Random
    smsc: Smsc
    answers: Answers
    progress: Progress
    numbers: Iterator[str]
    scripts: list[Script] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    kills: int = 0  # under load

    @property
    def outstanding(self) -> int:
        """Progress events (acknowledgements, answers) the scripts have still to come."""
        return sum(2 * len(s.steps) - s.acked - s.answered for s in self.scripts)

    def start_batch(self) -> None:
        batch = [make_script(self.rng, next(self.numbers)) for _ in range(SCRIPTS_PER_CYCLE)]
        busy = {s.msisdn for s in self.scripts if s.answered < len(s.steps)}
        done = sorted({s.msisdn for s in self.scripts} - busy)
        returning = self.rng.sample(done, min(RETURNING_PER_CYCLE, len(done)))
        batch += [make_script(self.rng, msisdn, returning=True) for msisdn in returning]
        self.scripts += batch
        self.tasks += [
            asyncio.create_task(run_script(self.smsc, self.answers, self.progress, s, self.rng.uniform(0.0, 0.2)))
            for s in batch
        ]

    async def finish(self, timeout: float) -> list[str]:
        """Wait for every script and redelivery; the scripts that did not finish."""
        if self.tasks:
            await asyncio.wait([*self.tasks, *self.smsc.redeliveries], timeout=timeout)
        return [f"{s.msisdn}: {s.answered}/{len(s.steps)} answered" for s in self.scripts if s.answered < len(s.steps)]

    async def cancel(self) -> None:
        for task in [*self.tasks, *self.smsc.redeliveries]:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.smsc.redeliveries, return_exceptions=True)


async def kill_cycles(gateway: GatewayProcess, load: Load, cycles: int) -> None:
    """``cycles`` times: start, add a batch of scripts, let a random share of the outstanding work be done,
    SIGKILL; at times also a kill while the gateway starts (opens the ledger, recovers, resends, binds).
    Each kill loses some acknowledgements."""
    rng = load.rng

    async def kill() -> None:
        if rng.random() < 0.5:  # abrupt: in the middle of everything (MTs accepted but not yet recorded)
            await gateway.kill()
            load.smsc.lose_acks(rng, since=float("inf"))  # none lost: the gateway may know they were read
            return
        # A link about to break: quiet first (no submit_sm answered) for ACK_LOSS_WINDOW; the
        # acknowledgements read meanwhile are ones the gateway cannot know were read, and may be lost.
        load.smsc.sim.faults.hold_submits = True
        quiet_since = time.monotonic()
        await asyncio.sleep(ACK_LOSS_WINDOW)
        await gateway.kill()
        load.smsc.sim.faults.hold_submits = False
        load.smsc.lose_acks(rng, since=quiet_since)

    for _ in range(cycles):
        if rng.random() < STARTUP_KILL_CHANCE:
            await gateway.start(bound=False)
            await asyncio.sleep(rng.uniform(0.0, 1.2))
            await kill()
        await gateway.start()
        load.start_batch()  # then kill after a random share of the work outstanding: half of it on average
        await load.progress.reach(load.progress.count + rng.randint(0, load.outstanding), timeout=10)
        await asyncio.sleep(rng.choice((0.0, 0.0, rng.uniform(0.0, 0.01))))
        await kill()
        load.kills += 1
