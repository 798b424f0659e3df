"""``gateway converse PATH...``: run conversation files and say which passed."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from gateway.converse.parse import parse_file
from gateway.converse.report import details, one_line, summary, write_junit
from gateway.converse.runner import Result, run_attached, run_conversation, ussd_profile
from gateway.converse.script import Conversation, ScriptError
from gateway.errors import ConfigError

SUFFIX = ".conv"
TOKEN_VARIABLE = "GATEWAY_ADMIN_TOKEN"


LEDGER_URL_VARIABLE = "GATEWAY_LEDGER__URL"  # ledger.url: conversations run on new databases of that server


def add_converse_command(commands: Any) -> None:
    converse = commands.add_parser("converse", help="run conversation scripts against a simulator and gateway")
    converse.add_argument("paths", nargs="+", type=Path, help="conversation files or folders of them (*.conv)")
    converse.add_argument("--junit", type=Path, help="also write the results as JUnit XML to this file")
    converse.add_argument("--jobs", type=int, default=4, help="conversations run side by side (default 4)")
    converse.add_argument(
        "--smsc-control", metavar="URL", help="attach: a running simulator's control API a gateway is bound to"
    )
    converse.add_argument(
        "--gateway-control", metavar="URL", help="attach: that gateway's HTTP API, to move its clock (manual mode)"
    )
    converse.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"attach: a token of that gateway's admin API, for usage, pay and restore (default: ${TOKEN_VARIABLE})",
    )
    converse.add_argument(
        "--ussd-profile",
        metavar="NAME",
        default="smpp34",
        help="attach: the USSD operation codes that gateway uses (ussd.profile; default smpp34)",
    )


def collect(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(f"*{SUFFIX}"))
        else:
            found.append(path)
    return found


def run_converse(args: argparse.Namespace) -> int:
    files = collect(args.paths)
    if not files:
        print(f"gateway converse: no {SUFFIX} files in {', '.join(map(str, args.paths))}")
        return 2
    if args.smsc_control:
        token = args.admin_token or os.environ.get(TOKEN_VARIABLE)
        try:
            ops = ussd_profile(args.ussd_profile)
        except ConfigError as exc:
            print(f"gateway converse: {exc}")
            return 2

        def run(conversation: Conversation) -> Awaitable[Result]:
            return run_attached(
                conversation,
                smsc_control=args.smsc_control,
                gateway_control=args.gateway_control,
                admin_token=token,
                ussd_ops=ops,
            )

        jobs = 1  # one simulator and one gateway shared: one conversation at a time
    else:
        server = os.environ.get(LEDGER_URL_VARIABLE, "")  # each conversation on a new database of this server

        def run(conversation: Conversation) -> Awaitable[Result]:
            return run_conversation(conversation, server=server)

        jobs = max(1, args.jobs)
    return asyncio.run(_run_all(files, run=run, jobs=jobs, junit=args.junit))


async def _run_all(
    files: list[Path], *, run: Callable[[Conversation], Awaitable[Result]], jobs: int, junit: Path | None
) -> int:
    started = time.monotonic()
    gate = asyncio.Semaphore(jobs)

    async def one(path: Path) -> Result:
        try:
            conversation = parse_file(path)
        except (ScriptError, OSError, UnicodeDecodeError) as exc:
            broken = Conversation(path=path, title=path.stem, clock=None, fixtures=[], steps=[])
            return Result(conversation=broken, error=str(exc))
        async with gate:
            result = await run(conversation)
        print(one_line(result), flush=True)
        return result

    results = await asyncio.gather(*(one(path) for path in files))
    seconds = time.monotonic() - started
    for result in results:
        if not result.passed:
            if result.error is not None and not result.conversation.steps:
                print(one_line(result))
            print(details(result))
    print(summary(results, seconds))
    if junit is not None:
        write_junit(results, junit, seconds)
    return 0 if all(r.passed for r in results) else 1
