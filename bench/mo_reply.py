"""MO → reply benchmark: answers per second and latency, simulator-injected MO to MT received.

The gateway runs as its own process (``python -m gateway run``, default config, window 64, durable
inbox/outbox and ledger in a fresh SQLite file); the simulator runs in this process and injects MOs.
Each MT is matched to its subscriber's oldest unanswered MO (a subscriber's MOs are answered in order).

With ``--subscribers N`` the ledger is first seeded with N subscribers (13000000000, 13000000001, ...)
and the MOs (``--text``, default ``102``) come from them in turn, so every answer reads the ledger.
With ``--subscribers 0`` the MOs come from numbers the ledger does not know.

Two phases:

* saturation: ``--count`` MOs with ``--concurrency`` outstanding deliver_sm; answers/s over the phase;
* paced: ``--rate`` MOs per second for ``--paced-seconds``; latency without queueing.

Usage: ``python bench/mo_reply.py [--subscribers 100000] [--count 20000] [--concurrency 256] [--rate 500]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from bench import steady_instrument
from gateway.clock import SystemClock
from gateway.config import load_config
from gateway.db.database import open_database
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.seed import seed_bulk
from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
FIRST_MSISDN = 13000000000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def seed(path: str, count: int) -> float:
    """``count`` subscribers from FIRST_MSISDN in the ledger at ``path`` (a file, or a PostgreSQL URL)."""
    config = load_config(environ={})
    started = time.monotonic()
    db = await open_database(path)
    await seed_bulk(
        db,
        count=count,
        now=SystemClock().now(),
        products=Products.load(config.resolve(config.gateway.products)),
        calendar=Calendar.named(config.gateway.timezone),
        start_msisdn=FIRST_MSISDN,
    )
    if db.engine == "sqlite":
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    await db.close()
    os.sync()  # a real ledger was loaded long before the traffic: do not measure the flush of a fresh seed
    return time.monotonic() - started


async def start_gateway(
    port: int, path: str, *, event_loop: str = "asyncio", instance: str = "", extra: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_SMPP__PORT": str(port),
            **({"GATEWAY_LEDGER__URL": path} if path.startswith("postgresql://") else {"GATEWAY_LEDGER__PATH": path}),
            "GATEWAY_HTTP__PORT": "0",
            "GATEWAY_LOG__LEVEL": "warning",
            "GATEWAY_SMPP__WINDOW": "64",
            "GATEWAY_GATEWAY__EVENT_LOOP": event_loop,
            "GATEWAY_GATEWAY__INSTANCE": instance,
            **(
                {"GATEWAY_LEDGER__CONNECTIONS": os.environ["BENCH_CONNECTIONS"]}
                if "BENCH_CONNECTIONS" in os.environ
                else {}
            ),
            **(extra or {}),
        }
    )
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "run", cwd=ROOT, env=env)


class Meter:
    """Send times per subscriber; each MT answers that subscriber's oldest unanswered MO."""

    def __init__(self, sim: SmscSimulator) -> None:
        self.sim = sim
        self.sent: dict[str, deque[float]] = {}
        self.first_sent = 0.0
        self.seen = len(sim.mts)
        self.latencies: list[float] = []
        self.last_received = 0.0

    async def send(self, msisdn: str, text: str) -> None:
        now = time.monotonic()
        self.first_sent = self.first_sent or now
        self.sent.setdefault(msisdn, deque()).append(now)
        await self.sim.send_mo(msisdn, "10001", text, timeout=30)

    async def collect(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.latencies) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.latencies)} of {expected} answers arrived")
            for mt in self.sim.mts[self.seen :]:
                sent = self.sent.get(mt.destination_addr)
                if not sent:
                    continue  # not one of this meter's (a flood's answers, say)
                self.latencies.append((mt.received_at - sent.popleft()) * 1000)
                self.last_received = max(self.last_received, mt.received_at)
            self.seen = len(self.sim.mts)
            await asyncio.sleep(0.05)

    def figures(self) -> tuple[float, float, float]:
        """(answers per second, p50 ms, p99 ms)"""
        rate = len(self.latencies) / (self.last_received - self.first_sent)
        return rate, percentile(self.latencies, 0.5), percentile(self.latencies, 0.99)

    def report(self, name: str) -> tuple[float, float, float]:
        count = len(self.latencies)
        rate, p50, p99 = self.figures()
        print(
            f"{name:<16} {count:>7} answers  {rate:>8.0f}/s  p50 {p50:>7.1f} ms"
            f"  p99 {p99:>7.1f} ms  mean {statistics.fmean(self.latencies):>7.1f} ms"
        )
        return rate, p50, p99


class Answers:
    """Hands each new MT to whoever waits for the next answer to its destination."""

    def __init__(self, sim: SmscSimulator) -> None:
        self.sim = sim
        self.seen = len(sim.mts)
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            for mt in self.sim.mts[self.seen :]:
                future = self.waiting.pop(mt.destination_addr, None)
                if future is not None and not future.done():
                    future.set_result(mt.text)
            self.seen = len(self.sim.mts)
            await asyncio.sleep(0.002)

    async def ask(self, msisdn: str, text: str) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting[msisdn] = future
        await self.sim.send_mo(msisdn, "10086", text, timeout=30)
        return await asyncio.wait_for(future, 30)


async def dialogs(sim: SmscSimulator, msisdns: list[str], concurrency: int) -> tuple[float, float, float]:
    """Order + confirm (two MOs, two answers) for each subscriber: dialogs per second and their duration."""
    answers = Answers(sim)
    durations: list[float] = []
    queue = iter(msisdns)
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        for msisdn in queue:
            started = time.monotonic()
            await answers.ask(msisdn, "KTXWZWB")
            done = await answers.ask(msisdn, "是")
            durations.append((time.monotonic() - started) * 1000)
            kind = "ordered" if "成功订购" in done else done[:12]
            outcomes[kind] = outcomes.get(kind, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    answers.task.cancel()
    print(
        f"{'order+confirm':<16} {len(durations):>7} dialogs  {len(durations) / elapsed:>8.0f}/s  "
        f"p50 {percentile(durations, 0.5):>7.1f} ms  p99 {percentile(durations, 0.99):>7.1f} ms  "
        f"(per dialog, 2 MOs; outcomes {outcomes})"
    )
    return len(durations) / elapsed, percentile(durations, 0.5), percentile(durations, 0.99)


def numbers(args: argparse.Namespace, count: int, offset: int) -> list[str]:
    if args.subscribers:
        return [str(FIRST_MSISDN + (offset + i) * 7919 % args.subscribers) for i in range(count)]
    return [f"139{offset + i:08d}" for i in range(count)]


async def saturate(meter: Meter, msisdns: list[str], text: str, concurrency: int) -> None:
    queue = iter(msisdns)

    async def worker() -> None:
        for msisdn in queue:
            await meter.send(msisdn, text)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def pace(meter: Meter, msisdns: list[str], text: str, rate: float) -> None:
    start = time.monotonic()
    tasks = []
    for i, msisdn in enumerate(msisdns):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(meter.send(msisdn, text)))
    await asyncio.gather(*tasks)


@dataclass(frozen=True, slots=True)
class Flood:
    alone: tuple[float, float, float]  # the probe's (answers/s, p50 ms, p99 ms) with nothing else going on
    flooded: tuple[float, float, float]  # the same probe while one number floods
    count: int
    acknowledged_in: float  # seconds to acknowledge the whole flood


async def flood_probe(
    sim: SmscSimulator,
    probes: list[str],
    flooder: str,
    *,
    count: int = 5000,
    flood_rate: float = 2000,
    rate: float = 100,
    window: int = 64,
) -> Flood:
    """One number sends ``count`` identical ``102`` pipelined (at most ``window`` outstanding, at most
    ``flood_rate`` a second, so the flood lasts long enough to measure beside it) while other numbers ask
    ``102`` at ``rate``/s for as long as the flood lasts; then the same probe alone, as many. The flood is
    over the rate limit after its 20th MO: what it costs the others is the figure."""
    meter = Meter(sim)
    flooded = Meter(sim)
    sent = 0
    finished = 0.0
    begun = time.monotonic()

    async def flood() -> None:
        nonlocal sent, finished
        while sent < count:
            delay = begun + sent / flood_rate - time.monotonic()
            sent += 1
            if delay > 0:
                await asyncio.sleep(delay)
            await sim.send_mo(flooder, "10001", "102", timeout=60)
        finished = time.monotonic()

    started = time.monotonic()
    flooding = [asyncio.create_task(flood()) for _ in range(window)]
    asked = 0
    tasks = []
    while not finished and asked < len(probes) // 2:  # probes while the flood lasts
        delay = started + asked / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(flooded.send(probes[asked], "102")))
        asked += 1
    await asyncio.gather(*flooding, *tasks)
    await flooded.collect(asked, 60)
    acknowledged_in = finished - begun
    await asyncio.sleep(1.0)
    await pace(meter, probes[asked : 2 * asked], "102", rate)
    await meter.collect(asked, 60)
    alone = meter.report(f"probe {rate:g}/s")
    print(f"flood of {count} from one number at up to {flood_rate:g}/s acknowledged in {acknowledged_in:.2f} s")
    return Flood(alone=alone, flooded=flooded.report("probe in flood"), count=count, acknowledged_in=acknowledged_in)


async def main(args: argparse.Namespace) -> None:
    steady_instrument()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = f"{folder}/bench.db"
        if args.subscribers:
            print(f"seeded {args.subscribers} subscribers in {await seed(path, args.subscribers):.1f} s")
        sim = SmscSimulator(port=0)
        await sim.start()
        gateway = await start_gateway(sim.port, path)
        try:
            await sim.wait_bound(15.0)
            warm = Meter(sim)
            await saturate(warm, numbers(args, 500, 10**6), args.text, 32)
            await warm.collect(500, 30)

            if args.count:
                meter = Meter(sim)
                await saturate(meter, numbers(args, args.count, 0), args.text, args.concurrency)
                await meter.collect(args.count, 120)
                meter.report(f"saturation c={args.concurrency}")

            meter = Meter(sim)
            paced = int(args.rate * args.paced_seconds)
            await pace(meter, numbers(args, paced, args.count), args.text, args.rate)
            await meter.collect(paced, 60)
            meter.report(f"paced {args.rate:g}/s")
            print(f"sample answer: {sim.mts[-1].text}")
            if args.dialogs and args.subscribers:
                await dialogs(sim, [str(FIRST_MSISDN + i) for i in range(args.dialogs)], args.dialog_concurrency)
        finally:
            gateway.send_signal(signal.SIGTERM)
            await asyncio.wait_for(gateway.wait(), 30)
            await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000, help="seed this many (0: unknown numbers)")
    parser.add_argument("--text", default="102")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--paced-seconds", type=float, default=5)
    parser.add_argument("--dialogs", type=int, default=2000, help="order+confirm dialogs (needs --subscribers)")
    parser.add_argument("--dialog-concurrency", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
