"""Reminder sweep benchmark: a low-balance campaign over a large ledger, selection time and send rate.

The ledger is seeded with ``--subscribers`` plain subscribers (13000000000 + i) of which exactly
``--due`` are below the low-balance threshold: every ``subscribers // due``-th from the first, given an
available balance of 1 to 8.99元 (cash + credit limit); everyone else gets 200元 more than the bulk seed
gave them (so at least 200元). Today's daily jobs are marked done in the file, so the gateway's scheduler
raises nothing of its own during the run. The file is checkpointed and synced before the gateway starts.

The gateway runs as its own process (``python -m gateway run``) with that ledger, an admin token, no
quiet hours (``pushes.quiet_start`` = ``quiet_end``) and ``pushes.tps`` = ``--tps``; the simulator runs in
this process, takes the MTs and answers each with a delivery receipt (``--no-receipts``: none).

* selection: ``POST /api/v1/pushes {"kind": "low_balance"}``, then ``GET /api/v1/pushes/{id}`` every
  ``--poll`` seconds until ``selecting`` is false; the time from the POST to that answer, and ``selected``.
* sending: MTs received by the simulator per second, over ``--window`` seconds that begin ``--skip``
  seconds after the first one; against ``--tps``. The sending is not waited for to the end.
* correctness: every MT went to a due subscriber, none twice; after the gateway stopped, the campaign's
  reminders in the ledger are exactly the due subscribers.

Usage: ``python bench/push_sweep.py [--subscribers 1000000] [--due 100000] [--tps 500] [--window 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gateway.clock import SystemClock
from gateway.config import load_config
from gateway.db.database import open_database
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.seed import seed_bulk
from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
FIRST_MSISDN = 13000000000
TOKEN = "bench-push-sweep-token-0123456789"
KIND = "low_balance"
BEFORE_SEED = 20_000  # fen added to everyone not due (the bulk seed gives 0 to 499.99元 cash)

# Due: the stride-th subscribers from the first, ``due`` of them. Their available balance becomes
# 100 + n % 800 fen (1 to 8.99元): cash is set so that cash + credit limit (postpaid: 100元) is that.
BALANCES = """
UPDATE account SET cash = CASE
    WHEN (CAST(msisdn AS INTEGER) - :first) % :stride = 0 AND CAST(msisdn AS INTEGER) - :first < :due * :stride
    THEN 100 + CAST(msisdn AS INTEGER) % 800 - credit_limit
    ELSE cash + :raise
END
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    subscribers: int
    due: int

    @property
    def stride(self) -> int:
        return self.subscribers // self.due

    def due_numbers(self) -> set[str]:
        return {str(FIRST_MSISDN + i * self.stride) for i in range(self.due)}


async def seed(path: str, plan: Plan) -> tuple[float, float]:
    """Seed and set the balances; (seconds seeding, seconds setting balances)."""
    config = load_config(environ={})
    calendar = Calendar.named(config.gateway.timezone)
    now = SystemClock().now()
    started = time.monotonic()
    db = await open_database(path)
    await seed_bulk(
        db,
        count=plan.subscribers,
        now=now,
        products=Products.load(config.resolve(config.gateway.products)),
        calendar=calendar,
        start_msisdn=FIRST_MSISDN,
    )
    seeded = time.monotonic()
    params = {"first": FIRST_MSISDN, "stride": plan.stride, "due": plan.due, "raise": BEFORE_SEED}
    async with db.transaction() as tx:
        await tx.execute(BALANCES, params)
        await tx.execute("INSERT OR IGNORE INTO schedule_run VALUES ('daily', ?)", (calendar.today(now).isoformat(),))
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    await db.close()
    os.sync()  # a real ledger was loaded long before the campaign: do not measure the flush of a fresh seed
    return seeded - started, time.monotonic() - seeded


def count_low(path: str, threshold: int) -> int:
    """Subscribers below the threshold, counted in SQL independently of the sweep (a check of the seed)."""
    with closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT COUNT(*) FROM account WHERE cash + credit_limit + gift < ?", (threshold,)).fetchone()
    return int(row[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_gateway(smpp_port: int, http_port: int, path: str, tps: float) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_SMPP__PORT": str(smpp_port),
            "GATEWAY_LEDGER__PATH": path,
            "GATEWAY_HTTP__PORT": str(http_port),
            "GATEWAY_HTTP__TOKENS": TOKEN,
            "GATEWAY_LOG__LEVEL": "warning",
            "GATEWAY_PUSHES__TPS": f"{tps:g}",
            "GATEWAY_PUSHES__QUIET_START": "00:00",
            "GATEWAY_PUSHES__QUIET_END": "00:00",
        }
    )
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "run", cwd=ROOT, env=env)


async def stop_gateway(gateway: asyncio.subprocess.Process) -> None:
    if gateway.returncode is not None:
        return
    gateway.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(gateway.wait(), 30)
    except TimeoutError:
        gateway.kill()
        await gateway.wait()


class Api:
    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http = http
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    async def ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                async with self.http.get(f"{self.base}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway's HTTP server did not come up")
            await asyncio.sleep(0.1)

    async def start(self, kind: str) -> int:
        async with self.http.post(f"{self.base}/api/v1/pushes", json={"kind": kind}, headers=self.headers) as answer:
            body = await answer.json()
            if answer.status != 202:
                raise RuntimeError(f"POST /api/v1/pushes: {answer.status} {body}")
            return int(body["id"])

    async def progress(self, campaign: int) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/api/v1/pushes/{campaign}", headers=self.headers) as answer:
            body: dict[str, Any] = await answer.json()
            if answer.status != 200:
                raise RuntimeError(f"GET /api/v1/pushes/{campaign}: {answer.status} {body}")
            return body


async def select(api: Api, poll: float, timeout: float) -> tuple[int, float, float, dict[str, Any]]:
    """Start the campaign and wait for its selection; (id, when posted, when seen done, progress)."""
    posted = time.monotonic()
    campaign = await api.start(KIND)
    while True:
        progress = await api.progress(campaign)
        if not progress["selecting"]:
            return campaign, posted, time.monotonic(), progress
        if time.monotonic() - posted > timeout:
            raise TimeoutError(f"selection not done after {timeout:g} s: {progress}")
        await asyncio.sleep(poll)


async def first_mt(sim: SmscSimulator, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not sim.mts:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no MT within {timeout:g} s of the campaign's start")
        await asyncio.sleep(0.01)
    return sim.mts[0].received_at


def received_between(sim: SmscSimulator, start: float, end: float) -> int:
    return sum(1 for mt in sim.mts if start <= mt.received_at < end)


def per_second(sim: SmscSimulator, start: float, seconds: int) -> list[int]:
    counts = [0] * seconds
    for mt in sim.mts:
        if start <= mt.received_at < start + seconds:
            counts[int(mt.received_at - start)] += 1
    return counts


def check_mts(sim: SmscSimulator, due: set[str]) -> tuple[int, int, int]:
    """(MTs, MTs to numbers not due, numbers that got more than one)."""
    destinations = Counter(mt.destination_addr for mt in sim.mts)
    stray = sum(n for msisdn, n in destinations.items() if msisdn not in due)
    return sum(destinations.values()), stray, sum(1 for n in destinations.values() if n > 1)


def check_ledger(path: str, campaign: int, due: set[str]) -> tuple[int, int, int, dict[str, int]]:
    """(reminders, of them not due, due without one, reminders by status), read after the gateway stopped."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT msisdn, status FROM push WHERE campaign = ?", (campaign,)).fetchall()
    selected = {r[0] for r in rows}
    return len(rows), len(selected - due), len(due - selected), dict(Counter(r[1] for r in rows))


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """What one run measured (the harness ``python -m bench`` reads these)."""

    selection_seconds: float
    selected: int
    rate: float  # MTs/s over the window
    tps: float
    ok: bool


async def main(args: argparse.Namespace) -> int:
    return 0 if (await measure(args)).ok else 1


async def measure(args: argparse.Namespace) -> Sweep:
    plan = Plan(subscribers=args.subscribers, due=args.due)
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = f"{folder}/bench.db"
        seeding, balancing = await seed(path, plan)
        low = count_low(path, load_config(environ={}).pushes.low_balance_fen)
        print(
            f"seeded {plan.subscribers:,} subscribers in {seeding:.1f} s, balances set in {balancing:.1f} s;"
            f" below the threshold: {low:,} (every {plan.stride}th)"
        )
        if low != plan.due:
            raise SystemExit(f"the seed gives {low} low balances, not {plan.due}")
        sim = SmscSimulator(port=0)
        sim.auto_receipts = not args.no_receipts
        await sim.start()
        http_port = free_port()
        gateway = await start_gateway(sim.port, http_port, path, args.tps)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                api = Api(http, http_port)
                await sim.wait_bound(30.0)
                await api.ready(30.0)
                campaign, posted, selected_at, done = await select(api, args.poll, args.select_timeout)
                first = await first_mt(sim, 30.0)
                start = first + args.skip
                end = start + args.window
                await asyncio.sleep(max(0.0, end - time.monotonic()) + 0.5)
                at_end = await api.progress(campaign)
                selection_load = load()
        finally:
            await stop_gateway(gateway)
            await sim.stop()
        sent = received_between(sim, start, end)
        rate = sent / args.window
        seconds = per_second(sim, start, int(args.window))
        during = received_between(sim, first, selected_at) / (selected_at - first) if selected_at > first + 1 else None
        due = plan.due_numbers()
        mts, stray, twice = check_mts(sim, due)
        reminders, not_due, missed, by_status = check_ledger(path, campaign, due)
        ok = done["selected"] == plan.due and not stray and not twice and not not_due and not missed

    print(f"gateway exit code {gateway.returncode}; load average after the window: {selection_load}")
    print()
    print("| figure | value |\n| --- | ---: |")
    print(f"| subscribers / due | {plan.subscribers:,} / {plan.due:,} |")
    print(f"| selection: POST → `selecting` false (poll every {args.poll:g} s) | {selected_at - posted:.2f} s |")
    print(f"| selected | {done['selected']:,} |")
    print(f"| POST → first MT at the simulator | {first - posted:.2f} s |")
    if during is not None:
        print(f"| MTs/s from the first MT to the end of the selection | {during:.1f} |")
    print(f"| configured `pushes.tps` | {args.tps:g} |")
    print(f"| MTs/s, {args.window:g} s from {args.skip:g} s after the first MT | {rate:.1f} |")
    print(f"| ratio to `pushes.tps` | {rate / args.tps:.4f} ({(rate / args.tps - 1) * 100:+.2f} %) |")
    print(f"| MTs per second in the window, min / max | {min(seconds)} / {max(seconds)} |")
    progress = ", ".join(f"{k} {v}" for k, v in at_end.items() if k not in ("id", "kind", "started_at"))
    print(f"| progress after the window | {progress} |")
    print(f"| MTs received in all / to numbers not due / numbers twice | {mts:,} / {stray} / {twice} |")
    print(f"| reminders in the ledger / not due / due without one | {reminders:,} / {not_due} / {missed} |")
    print(f"| reminders by status at the stop | {by_status} |")
    print()
    print(f"per second: {seconds}")
    print("OK" if ok else "FAILED: see the figures above")
    return Sweep(selection_seconds=selected_at - posted, selected=done["selected"], rate=rate, tps=args.tps, ok=ok)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000, help="how many are below the low-balance threshold")
    parser.add_argument("--tps", type=float, default=500, help="pushes.tps of the gateway")
    parser.add_argument("--window", type=float, default=20, help="seconds the send rate is measured over")
    parser.add_argument("--skip", type=float, default=2, help="seconds after the first MT before the window")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between progress reads")
    parser.add_argument("--select-timeout", type=float, default=300)
    parser.add_argument("--no-receipts", action="store_true", help="the simulator sends no delivery receipts")
    parsed = parser.parse_args(argv)
    if not 1 <= parsed.due <= parsed.subscribers:
        parser.error("--due must be between 1 and --subscribers")
    return parsed


if __name__ == "__main__":
    sys.exit(asyncio.run(main(arguments())))
