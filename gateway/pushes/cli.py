"""``gateway push run KIND``: start a reminder campaign on the ledger and follow it to the end.

The sweep runs here, on the ledger file, a range of numbers per transaction; the running gateway's
sender picks the reminders up and sends them at ``pushes.tps``. The progress bar (on stderr) shows
selected / queued / sent / delivered / failed / dropped until every reminder is sent or dropped;
``--no-wait`` returns once they are selected. Exit codes: 0 done, 1 refused, 2 configuration error,
130 interrupted (the gateway goes on sending).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time

from gateway.clock import SystemClock
from gateway.config import Config
from gateway.database import open_database
from gateway.errors import ConfigError
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.pushes.campaigns import Campaigns, Progress
from gateway.pushes.policy import PushSetup
from gateway.pushes.sweeps import SWEEPABLE, Sweeps
from gateway.store import DirectWriter

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
POLL = 0.5
BAR = 30


def add_push_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    push = subparsers.add_parser("push", help="reminder campaigns")
    actions = push.add_subparsers(dest="push_command", required=True, metavar="{run}")
    run = actions.add_parser("run", help="raise a reminder for everyone it applies to, and follow the sending")
    run.add_argument("kind", choices=SWEEPABLE)
    run.add_argument("--no-wait", action="store_true", help="return once the reminders are selected")


def run_push_command(args: argparse.Namespace, config: Config) -> int:
    try:
        products = Products.load(config.resolve(config.gateway.products))
        setup = PushSetup.of(config, products, Calendar.named(config.gateway.timezone))
    except ConfigError as exc:
        print(f"gateway: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    path = str(config.resolve(config.ledger.path))
    try:
        return asyncio.run(_campaign(path, args.kind, args.no_wait, setup))
    except KeyboardInterrupt:
        print("\ninterrupted: the gateway goes on sending what was selected", file=sys.stderr)
        return EXIT_INTERRUPTED
    except sqlite3.Error as exc:
        print(f"gateway: ledger {path}: {exc}", file=sys.stderr)
        return EXIT_REFUSED


async def _campaign(path: str, kind: str, no_wait: bool, setup: PushSetup) -> int:
    db = await open_database(path)
    try:
        writer = DirectWriter(db)
        sweeps = Sweeps(store=writer, setup=setup)
        campaigns = Campaigns(store=writer, sweeps=sweeps, clock=SystemClock())
        campaign = await campaigns.create(kind)
        began = time.monotonic()
        selected = await campaigns.select(
            campaign, kind, lambda n: _line(f"campaign {campaign} ({kind}): selecting… {n:,}")
        )
        _line(f"campaign {campaign} ({kind}): {selected:,} selected in {time.monotonic() - began:.1f} s")
        print(file=sys.stderr)
        if no_wait or not selected:
            print(f"campaign {campaign}: follow it with GET /api/v1/pushes/{campaign}")
            return EXIT_OK
        print(f"the gateway sends them at up to {setup.pushes.tps:g}/s (pushes.tps)", file=sys.stderr)
        while True:
            progress = await campaigns.progress(campaign)
            assert progress is not None
            _line(_bar(progress))
            if progress.settled:
                print(file=sys.stderr)
                print(_summary(progress))
                return EXIT_OK
            await asyncio.sleep(POLL)
    finally:
        await db.close()


def _bar(p: Progress) -> str:
    done = p.sent + p.failed + p.dropped
    filled = BAR * done // p.selected if p.selected else BAR
    return (
        f"[{'#' * filled}{'.' * (BAR - filled)}] {done:,}/{p.selected:,}"
        f" queued {p.queued:,} sent {p.sent:,} delivered {p.delivered:,} failed {p.failed:,} dropped {p.dropped:,}"
    )


def _summary(p: Progress) -> str:
    return (
        f"campaign {p.id} ({p.kind}): selected {p.selected}, queued {p.queued}, sent {p.sent},"
        f" delivered {p.delivered}, failed {p.failed}, dropped {p.dropped}"
    )


def _line(text: str) -> None:
    print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)
