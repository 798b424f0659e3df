"""MO → reply benchmark: answers per second and latency, simulator-injected MO to MT received.

The gateway runs as its own process (``python -m gateway run``, default config, window 64, durable
inbox/outbox in a fresh SQLite file); the simulator runs in this process and injects MOs from distinct
subscribers, so each MT is matched to its MO by destination address. Two phases:

* saturation: ``--count`` MOs with ``--concurrency`` outstanding deliver_sm; answers/s over the phase;
* paced: ``--rate`` MOs per second for ``--paced-seconds``; latency without queueing.

Usage: ``python bench/mo_reply.py [--count 20000] [--concurrency 256] [--rate 500] [--paced-seconds 5]``
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
from pathlib import Path

from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def start_gateway(port: int, folder: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_SMPP__PORT": str(port),
            "GATEWAY_LEDGER__PATH": f"{folder}/bench.db",
            "GATEWAY_LOG__LEVEL": "warning",
            "GATEWAY_SMPP__WINDOW": "64",
        }
    )
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "run", cwd=ROOT, env=env)


async def inject(sim: SmscSimulator, numbers: list[str], concurrency: int, sent_at: dict[str, float]) -> None:
    queue = iter(numbers)

    async def worker() -> None:
        for number in queue:
            sent_at[number] = time.monotonic()
            await sim.send_mo(number, "10001", "102", timeout=30)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def paced(sim: SmscSimulator, numbers: list[str], rate: float, sent_at: dict[str, float]) -> None:
    start = time.monotonic()
    tasks = []
    for i, number in enumerate(numbers):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[number] = time.monotonic()
        tasks.append(asyncio.create_task(sim.send_mo(number, "10001", "102", timeout=30)))
    await asyncio.gather(*tasks)


async def collect(sim: SmscSimulator, first: int, numbers: list[str], timeout: float) -> dict[str, float]:
    wanted = set(numbers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {mt.destination_addr: mt.received_at for mt in sim.mts[first:] if mt.destination_addr in wanted}
        if len(got) == len(wanted):
            return got
        await asyncio.sleep(0.05)
    raise TimeoutError(f"only {len(got)} of {len(wanted)} answers arrived")


def report(name: str, sent_at: dict[str, float], received: dict[str, float]) -> dict[str, float]:
    latencies = [(received[n] - sent_at[n]) * 1000 for n in received]
    span = max(received.values()) - min(sent_at.values())
    row = {
        "answers": len(received),
        "per_second": len(received) / span,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
    }
    print(
        f"{name:<12} {row['answers']:>7} answers  {row['per_second']:>8.0f}/s  "
        f"p50 {row['p50_ms']:>7.1f} ms  p99 {row['p99_ms']:>7.1f} ms"
    )
    return row


async def main(args: argparse.Namespace) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    sim = SmscSimulator(port=0)
    await sim.start()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        gateway = await start_gateway(sim.port, folder)
        try:
            await sim.wait_bound(15.0)
            warm = [f"1350000{n:04d}" for n in range(200)]
            await inject(sim, warm, 32, {})
            await collect(sim, 0, warm, 30)

            numbers = [f"139{n:08d}" for n in range(args.count)]
            sent_at: dict[str, float] = {}
            first = len(sim.mts)
            await inject(sim, numbers, args.concurrency, sent_at)
            report("saturation", sent_at, await collect(sim, first, numbers, 120))

            numbers = [f"137{n:08d}" for n in range(int(args.rate * args.paced_seconds))]
            sent_at = {}
            first = len(sim.mts)
            await paced(sim, numbers, args.rate, sent_at)
            report(f"paced {args.rate:g}/s", sent_at, await collect(sim, first, numbers, 60))
            duplicates = len(sim.mts) - len({mt.destination_addr for mt in sim.mts})
            print(f"duplicated answers: {duplicates}")
        finally:
            gateway.send_signal(signal.SIGTERM)
            await asyncio.wait_for(gateway.wait(), 30)
    await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--paced-seconds", type=float, default=5)
    asyncio.run(main(parser.parse_args()))
