"""``python -m bench``: every benchmark in one run, as one table, with the floor beside the gateway.

1. The floor: the simulator and a minimal ESME (``bench/floor_esme.py``: the gateway's SMPP stack, a fixed
   answer, nothing stored or read) — ``102`` at saturation with 64 MOs outstanding, paced at 1,000 MOs/s,
   and at 100 MOs/s.
2. The gateway (its own process, window 64, durable inbox/outbox, a ledger of ``--subscribers``): the same
   three loads of ``102``, then order+confirm dialogs, then a probe of ``102`` from other numbers alone and
   while one number floods ``--flood`` identical ``102`` (the probe's p50/p99 in both, side by side).
3. Ledger size: ``102`` paced at 1,000/s from numbers spread over a ledger of 1,000 subscribers and over one
   of 1,000,000 (a gateway process each, both up, taking the load in turns), p99 side by side.
4. A reminder sweep: 1,000,000 subscribers, 100,000 due (``bench/push_sweep.py``).

Each row gives the gateway's figure, the floor's and the ratio gateway / floor; a last table sets the four
figures issue 14 asks for beside their targets. Bounded in count and time. Usage: ``python -m bench
[--subscribers 100000] [--count 20000] [--concurrency 64] [--no-sweep] [--no-sizes] [--event-loop ...]``;
``--engines``: instead, ``102`` and dialogs on SQLite, on PostgreSQL, and on two instances sharing it;
``--console``: instead, ``102`` at saturation with and without the live console polled, in turns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sqlite3
import sys
from pathlib import Path

from bench import mo_reply, push_sweep, steady_instrument
from bench.processes import gateways_on, stop
from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
Figures = dict[str, tuple[float, float, float]]


async def loads(sim: SmscSimulator, args: argparse.Namespace, numbers: list[str]) -> Figures:
    """Warm up, then ``102`` at saturation and at the light rate: {name: (answers/s, p50 ms, p99 ms)}."""
    warm = mo_reply.Meter(sim)
    await mo_reply.saturate(warm, numbers[:500], "102", 32)
    await warm.collect(500, 60)
    figures: Figures = {}
    meter = mo_reply.Meter(sim)
    await mo_reply.saturate(meter, numbers[500 : 500 + args.count], "102", args.concurrency)
    await meter.collect(args.count, 180)
    figures["saturation"] = meter.report(f"102 c={args.concurrency}")
    start = 500 + args.count
    for key, rate, seconds in (("paced", args.paced, args.paced_seconds), ("light", args.light, args.light_seconds)):
        count = int(rate * seconds)
        meter = mo_reply.Meter(sim)
        await mo_reply.pace(meter, numbers[start : start + count], "102", rate)
        await meter.collect(count, 60)
        figures[key] = meter.report(f"102 {rate:g}/s")
        start += count
    return figures


def needed(args: argparse.Namespace) -> int:
    """How many distinct numbers :func:`loads` asks from."""
    return 500 + int(args.count) + int(args.paced * args.paced_seconds + args.light * args.light_seconds)


SIZE_ROUNDS = 10
"""Rounds of the ledger-size comparison, each gateway in turn (ABBA), pooled per ledger."""


async def ledger_sizes(args: argparse.Namespace) -> dict[int, tuple[float, float]]:
    """``102`` paced at ``--paced`` from numbers spread over ledgers of 1,000 and of 1,000,000 subscribers:
    {size: (p50 ms, p99 ms)}.

    Both gateways run at once, each its own process bound to its own simulator, and take the load in turns
    of ``--paced-seconds`` / :data:`SIZE_ROUNDS` (1,000, 1,000,000, 1,000,000, 1,000, ...); each ledger's
    p50 and p99 are over all its rounds. A p99 of a few milliseconds moves by half between two runs ten
    seconds apart on this machine; in turns, that drift falls on both ledgers alike and the ratio is the
    ledger's."""
    sizes = (1_000, 1_000_000)
    per_round = int(args.paced * args.paced_seconds / SIZE_ROUNDS)
    count = per_round * SIZE_ROUNDS
    async with contextlib.AsyncExitStack() as up:
        sims = {}
        for size in sizes:
            sims[size] = await up.enter_async_context(gateways_on(size, engine=args.engine, event_loop=args.event_loop))
        spread = {
            size: [str(mo_reply.FIRST_MSISDN + (i * 7919 + 13) % size) for i in range(500 + count)] for size in sizes
        }
        meters = {}
        for size in sizes:
            warm = mo_reply.Meter(sims[size])
            await mo_reply.saturate(warm, spread[size][:500], "102", 32)
            await warm.collect(500, 60)
            meters[size] = mo_reply.Meter(sims[size])
        for turn in range(SIZE_ROUNDS):
            order = sizes if turn % 2 == 0 else sizes[::-1]
            for size in order:
                start = 500 + turn * per_round
                await mo_reply.pace(meters[size], spread[size][start : start + per_round], "102", args.paced)
                await meters[size].collect((turn + 1) * per_round, 60)
        found = {}
        for size in sizes:
            latencies = meters[size].latencies
            p50, p99 = mo_reply.percentile(latencies, 0.5), mo_reply.percentile(latencies, 0.99)
            print(
                f"{size:,} holders: {len(latencies)} answers in {SIZE_ROUNDS} turns, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            )
            found[size] = (p50, p99)
        return found


async def floor(args: argparse.Namespace) -> Figures:
    sim = SmscSimulator(port=0)
    await sim.start()
    esme = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "bench" / "floor_esme.py"), str(sim.port))
    try:
        await sim.wait_bound(15.0)
        return await loads(sim, args, [f"139{i:08d}" for i in range(needed(args))])
    finally:
        await stop(esme)
        await sim.stop()


async def gateway(args: argparse.Namespace) -> tuple[Figures, tuple[float, float, float], mo_reply.Flood]:
    async with gateways_on(args.subscribers, engine=args.engine, event_loop=args.event_loop) as sim:
        numbers = [str(mo_reply.FIRST_MSISDN + i * 7919 % args.subscribers) for i in range(needed(args))]
        figures = await loads(sim, args, numbers)
        holders = [str(mo_reply.FIRST_MSISDN + i) for i in range(args.dialogs)]
        dialogs = await mo_reply.dialogs(sim, holders, args.concurrency)
        probes = [str(mo_reply.FIRST_MSISDN + args.subscribers // 2 + i) for i in range(int(args.light * 60))]
        flood = await mo_reply.flood_probe(
            sim, probes, str(mo_reply.FIRST_MSISDN + args.subscribers - 1), count=args.flood, rate=args.light
        )
    return figures, dialogs, flood


CONSOLE_TOKEN = "bench-console-token-0123456789"
CONSOLE_ROUNDS = 4


async def console_cost(args: argparse.Namespace) -> None:
    """``102`` at saturation with nobody watching and with the console polled every second (as its page does),
    in turns (ABBA, so neither is favoured by coming later) on one gateway process with ``http.console`` on; the
    slowdown (issue 17: at most 5 %)."""
    import socket

    import aiohttp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    extra = {"GATEWAY_HTTP__CONSOLE": "true", "GATEWAY_HTTP__TOKENS": CONSOLE_TOKEN, "GATEWAY_HTTP__PORT": str(port)}
    polls = 0

    async def watch(http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        nonlocal polls
        headers = {"Authorization": f"Bearer {CONSOLE_TOKEN}"}
        while not stop.is_set():
            async with http.get(f"http://127.0.0.1:{port}/console/api/live", headers=headers) as response:
                assert response.status == 200, response.status
                await response.json()
                polls += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    rates: dict[bool, list[float]] = {False: [], True: []}
    async with gateways_on(args.subscribers, engine=args.engine, event_loop=args.event_loop, extra=extra) as sim:
        numbers = [str(mo_reply.FIRST_MSISDN + i * 7919 % args.subscribers) for i in range(args.subscribers)]
        warm = mo_reply.Meter(sim)
        await mo_reply.saturate(warm, numbers[:500], "102", 32)
        await warm.collect(500, 60)
        start = 500
        async with aiohttp.ClientSession() as http:
            for round_ in range(CONSOLE_ROUNDS):
                for watched in (False, True) if round_ % 2 == 0 else (True, False):  # ABBA: no order favoured
                    stop = asyncio.Event()
                    watcher = asyncio.create_task(watch(http, stop)) if watched else None
                    meter = mo_reply.Meter(sim)
                    await mo_reply.saturate(meter, numbers[start : start + args.count], "102", args.concurrency)
                    await meter.collect(args.count, 180)
                    start = (start + args.count) % (args.subscribers - args.count)
                    stop.set()
                    if watcher is not None:
                        await watcher
                    label = f"round {round_ + 1}, console {'polled' if watched else 'not polled'}"
                    rates[watched].append(meter.report(label)[0])
    quiet, polled = sum(rates[False]) / CONSOLE_ROUNDS, sum(rates[True]) / CONSOLE_ROUNDS
    print()
    print("| `102` at saturation | answers/s (mean of rounds) |")
    print("| --- | ---: |")
    print(f"| console not polled | {quiet:,.0f} |")
    print(f"| console polled every second ({polls} polls) | {polled:,.0f} |")
    slower = (quiet - polled) / quiet * 100
    print(f"| slowdown | {slower:.1f} % (target ≤ 5 %: {'met' if slower <= 5 else 'NOT met'}) |")


ENGINE_RUNS = (("sqlite", 1), ("postgres", 1), ("postgres", 2))


class CpuMeter:
    """CPU seconds spent, between :meth:`start` and :meth:`stop`, by the gateway processes, PostgreSQL's,
    and this one (the simulator and the load), read from the kernel (psutil: a dependency of pgserver)."""

    def __init__(self) -> None:
        import psutil  # type: ignore[import-untyped]

        self._psutil = psutil
        self._start: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        found = {"gateway": 0.0, "postgres": 0.0, "simulator and load": 0.0}
        for process in self._psutil.process_iter(["name", "cmdline", "cpu_times"]):
            times = process.info["cpu_times"]
            if times is None:
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            if process.pid == os.getpid():
                group = "simulator and load"
            elif process.info["name"] == "postgres" or "postgres:" in cmdline:
                group = "postgres"
            elif "-m gateway run" in cmdline:
                group = "gateway"
            else:
                continue
            found[group] += times.user + times.system
        return found

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        end = self._now()
        self.spent = {group: end[group] - self._start.get(group, 0.0) for group in end}


async def engines(args: argparse.Namespace) -> None:
    """``102`` and order+confirm on SQLite with one instance, PostgreSQL with one and with two, in one run,
    with the floor, and the CPU each part took per answer."""
    print("--- floor (minimal ESME)")
    base = await floor(args)
    runs = {}
    for engine, instances in ENGINE_RUNS:
        print(f"--- {engine}, {instances} instance(s)")
        async with gateways_on(args.subscribers, engine=engine, instances=instances, event_loop=args.event_loop) as sim:
            numbers = [str(mo_reply.FIRST_MSISDN + i * 7919 % args.subscribers) for i in range(needed(args))]
            cpu = CpuMeter()
            cpu.start()
            figures = await loads(sim, args, numbers)
            cpu.stop()
            holders = [str(mo_reply.FIRST_MSISDN + i) for i in range(args.dialogs)]
            dialogs = await mo_reply.dialogs(sim, holders, args.concurrency)
        runs[engine, instances] = (figures, dialogs, cpu.spent)
    names = {("sqlite", 1): "SQLite, 1 instance", ("postgres", 1): "PostgreSQL, 1", ("postgres", 2): "PostgreSQL, 2"}
    print()
    print("| measure | " + " | ".join(names[run] for run in ENGINE_RUNS) + " | floor |")
    print("| --- |" + " ---: |" * (len(ENGINE_RUNS) + 1))
    c, paced = args.concurrency, f"{args.paced:g}/s"
    for key, label, index, unit in (
        ("saturation", f"`102` at saturation ({c} outstanding): answers/s", 0, "/s"),
        ("saturation", f"`102` at saturation ({c} outstanding): p99", 2, "ms"),
        ("paced", f"`102` at {paced}: p50", 1, "ms"),
        ("paced", f"`102` at {paced}: p99", 2, "ms"),
    ):
        cells = [f"{runs[run][0][key][index]:,.1f} {unit}" for run in ENGINE_RUNS]
        print(f"| {label} | " + " | ".join(cells) + f" | {base[key][index]:,.1f} {unit} |")
    for index, label, unit in ((0, "order+confirm: dialogs/s", "/s"), (2, "order+confirm: p99 per dialog", "ms")):
        cells = [f"{runs[run][1][index]:,.1f} {unit}" for run in ENGINE_RUNS]
        print(f"| {label} | " + " | ".join(cells) + " | — |")
    answered = needed(args)
    for group in ("gateway", "postgres", "simulator and load"):
        cells = [f"{runs[run][2][group] / answered * 1000:,.2f} ms" for run in ENGINE_RUNS]
        print(f"| CPU per `102` answered: {group} | " + " | ".join(cells) + " | — |")
    sqlite_rate = runs["sqlite", 1][0]["saturation"][0]
    one, two = runs["postgres", 1][0]["saturation"][0], runs["postgres", 2][0]["saturation"][0]
    print()
    print(f"PostgreSQL, 1 instance / SQLite: {one / sqlite_rate:.2f} (issue 15 asks ≥ 0.5)")
    print(f"PostgreSQL, 2 instances / 1: {two / one:.2f} (issue 15 asks ≥ 1.0)")
    print(f"load at the end: {os.getloadavg()[0]:.2f}")


def row(name: str, ours: float, base: float | None, unit: str) -> str:
    ratio = f"{ours / base:.2f}" if base else "—"
    shown = f"{base:,.1f}" if base is not None else "—"
    return f"| {name} | {ours:,.1f} {unit} | {shown} {unit if base is not None else ''} | {ratio} |"


async def main(args: argparse.Namespace) -> None:
    steady_instrument()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}; load {os.getloadavg()[0]:.2f}"
    )
    print(f"the gateway's event loop: {args.event_loop}")
    if args.engines:
        print(f"the gateway's ledger: {', '.join(f'{e} x{n}' for e, n in ENGINE_RUNS)}")
        await engines(args)
        return
    if args.console:
        await console_cost(args)
        return
    print(f"the gateway's ledger: {args.engine}")
    print("--- floor (minimal ESME)")
    base = await floor(args)
    print("--- gateway")
    ours, (dialog_rate, dialog_p50, dialog_p99), flood = await gateway(args)
    sizes = None
    if not args.no_sizes:
        print("--- ledger size")
        sizes = await ledger_sizes(args)
    sweep = None
    if not args.no_sweep:
        print("--- reminder sweep")
        sweep = await push_sweep.measure(push_sweep.arguments(["--window", str(args.sweep_window)]))
    print()
    print("| measure | gateway | floor | gateway / floor |")
    print("| --- | ---: | ---: | ---: |")
    c, paced, light = args.concurrency, f"{args.paced:g}/s", f"{args.light:g}/s"
    for key, label in (
        ("saturation", f"`102` at saturation ({c} outstanding)"),
        ("paced", f"`102` at {paced}"),
        ("light", f"`102` at {light}"),
    ):
        rate, p50, p99 = ours[key]
        brate, bp50, bp99 = base[key]
        print(row(f"{label}: answers/s", rate, brate, "/s"))
        print(row(f"{label}: p50", p50, bp50, "ms"))
        print(row(f"{label}: p99", p99, bp99, "ms"))
    print(row("order+confirm: dialogs/s", dialog_rate, None, "/s"))
    print(row("order+confirm: p50 per dialog", dialog_p50, None, "ms"))
    print(row("order+confirm: p99 per dialog", dialog_p99, None, "ms"))
    if sweep is not None:
        print(row("sweep of 1,000,000 (100,000 due): selection", sweep.selection_seconds, None, "s"))
        print(row(f"sweep: sending at pushes.tps {sweep.tps:g}", sweep.rate, None, "/s"))
    print()
    print(f"| probe `102` at {args.light:g}/s from other numbers | alone | during the flood | flood / alone |")
    print("| --- | ---: | ---: | ---: |")
    for i, name in ((1, "p50"), (2, "p99")):
        alone, flooded = flood.alone[i], flood.flooded[i]
        print(f"| {name} | {alone:,.1f} ms | {flooded:,.1f} ms | {flooded / alone:.2f} |")
    print(
        f"(the flood: {flood.count:,} identical `102` from one number, 64 outstanding, acknowledged in"
        f" {flood.acknowledged_in:.2f} s; over the rate limit after the 20th)"
    )
    if sizes is not None:
        print()
        print(f"| `102` at {paced} over a ledger of | p50 | p99 |")
        print("| --- | ---: | ---: |")
        for size, (p50, p99) in sizes.items():
            print(f"| {size:,} subscribers | {p50:,.1f} ms | {p99:,.1f} ms |")
    print()
    print("| issue 14 asks for | measured | target | met |")
    print("| --- | ---: | ---: | :---: |")
    targets = [
        (
            f"`102` answers/s at saturation, window {c}",
            ours["saturation"][0],
            "≥ 4,000 /s",
            ours["saturation"][0] >= 4000,
        ),
        (f"`102` paced at {paced}: p99", ours["paced"][2], "≤ 20 ms", ours["paced"][2] <= 20),
        ("order+confirm dialogs/s", dialog_rate, "≥ 1,000 /s", dialog_rate >= 1000),
    ]
    if sizes is not None:
        ratio = sizes[1_000_000][1] / sizes[1_000][1]
        targets.append(("p99 over 1,000,000 subscribers / over 1,000", ratio, "≤ 1.5", ratio <= 1.5))
    for name, value, target, met in targets:
        print(f"| {name} | {value:,.2f} | {target} | {'yes' if met else 'no'} |")
    print(f"load at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=20_000, help="MOs at saturation")
    parser.add_argument("--concurrency", type=int, default=64, help="MOs outstanding at saturation")
    parser.add_argument("--paced", type=float, default=1000, help="MOs per second of the paced load")
    parser.add_argument("--paced-seconds", type=float, default=10)
    parser.add_argument("--light", type=float, default=100, help="MOs per second of the light load")
    parser.add_argument("--light-seconds", type=float, default=10)
    parser.add_argument("--dialogs", type=int, default=2000)
    parser.add_argument("--flood", type=int, default=20_000, help="identical MOs from one number, beside a probe")
    parser.add_argument("--sweep-window", type=float, default=10)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-sizes", action="store_true", help="skip the 1,000 vs 1,000,000 subscribers run")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite", help="the gateway's ledger")
    parser.add_argument(
        "--engines", action="store_true", help="SQLite, PostgreSQL and two instances on it, side by side (issue 15)"
    )
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio", help="the gateway's")
    parser.add_argument(
        "--console", action="store_true", help="`102` at saturation with and without the live console polled (issue 17)"
    )
    asyncio.run(main(parser.parse_args()))
