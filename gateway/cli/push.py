"""``gateway push run KIND``: start a reminder campaign on the ledger and follow it to the end.

The sweep runs here, on the ledger file, a range of numbers per transaction; the running gateway's
sender picks the reminders up and sends them at ``pushes.tps``. The progress bar (on stderr) shows
selected / queued / sent / delivered / failed / dropped until every reminder is sent or dropped;
``--no-wait`` returns once they are selected. When nothing is sent for ``--stall-timeout`` seconds (no
gateway running on this ledger, say) it says so and exits 1; the reminders stay queued for the gateway.
On a terminal the bar redraws in place; elsewhere (a pipe, a log file) it is plain lines, at most one
every few seconds. Exit codes: 0 done, 1 refused or stalled, 2 configuration error, 130 interrupted (the
gateway goes on sending).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from gateway.clock import SystemClock
from gateway.config import Config
from gateway.db.database import DatabaseError, open_database
from gateway.db.target import shown
from gateway.db.unit import DirectWriter
from gateway.errors import ConfigError
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.pushes.campaigns import Campaigns, Progress
from gateway.pushes.policy import PushSetup
from gateway.pushes.sweeps import SWEEPABLE, Sweeps

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
POLL = 0.5
BAR = 30


def add_push_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    push = subparsers.add_parser("push", help="reminder campaigns")
    actions = push.add_subparsers(dest="push_command", required=True, metavar="{run}")
    run = actions.add_parser("run", help="raise a reminder for everyone it applies to, and follow the sending")
    run.add_argument("kind", choices=SWEEPABLE)
    run.add_argument("--no-wait", action="store_true", help="return once the reminders are selected")
    run.add_argument(
        "--stall-timeout",
        type=float,
        default=30.0,
        help="seconds without a reminder sent before giving up on following (no gateway sending?)",
    )


def run_push_command(args: argparse.Namespace, config: Config) -> int:
    try:
        products = Products.load(config.resolve(config.gateway.products))
        setup = PushSetup.of(config, products, Calendar.named(config.gateway.timezone))
        path = config.ledger_target()
    except ConfigError as exc:
        print(f"gateway: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(_campaign(path, args.kind, args.no_wait, setup, args.stall_timeout))
    except KeyboardInterrupt:
        print("\ninterrupted: the gateway goes on sending what was selected", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DatabaseError as exc:
        print(f"gateway: ledger {shown(path)}: {exc}", file=sys.stderr)
        return EXIT_REFUSED


async def _campaign(path: str, kind: str, no_wait: bool, setup: PushSetup, stall_timeout: float) -> int:
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
        _line(f"campaign {campaign} ({kind}): {selected:,} selected in {time.monotonic() - began:.1f} s", last=True)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        if no_wait or not selected:
            print(f"campaign {campaign}: follow it with GET /api/v1/pushes/{campaign}")
            return EXIT_OK
        print(f"the gateway sends them at up to {setup.pushes.tps:g}/s (pushes.tps)", file=sys.stderr)
        moved_at, done = time.monotonic(), -1
        while True:
            progress = await campaigns.progress(campaign)
            assert progress is not None
            _line(_bar(progress), last=progress.settled)
            if progress.settled:
                if sys.stderr.isatty():
                    print(file=sys.stderr)
                print(_summary(progress))
                return EXIT_OK
            now_done = progress.sent + progress.failed + progress.dropped
            if now_done != done:
                moved_at, done = time.monotonic(), now_done
            elif time.monotonic() - moved_at >= stall_timeout:
                _line(_bar(progress), last=True)
                if sys.stderr.isatty():
                    print(file=sys.stderr)
                print(
                    f"gateway: nothing was sent for {stall_timeout:g} s: is a gateway running on this ledger?"
                    f" The reminders stay queued; follow them with GET /api/v1/pushes/{campaign}",
                    file=sys.stderr,
                )
                return EXIT_REFUSED
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


PLAIN_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal


class _Plain:
    at = float("-inf")
    text = ""


def _line(text: str, *, last: bool = False) -> None:
    """The progress line: redrawn in place on a terminal; elsewhere a plain line, when it changed and at
    most every PLAIN_EVERY seconds (and always the last one)."""
    if sys.stderr.isatty():
        print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)
        return
    now = time.monotonic()
    if text != _Plain.text and (last or now - _Plain.at >= PLAIN_EVERY):
        print(text, file=sys.stderr, flush=True)
        _Plain.at, _Plain.text = now, text
