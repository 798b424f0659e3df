"""``gateway ledger import|seed|show|usage|migrate``: loading, rating, looking at and migrating the ledger.

Exit codes: 0 done, 1 the ledger said no (a rejected file, an unknown number, numbers already taken;
the ledger is then unchanged), 2 a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.cli.ledger_show import describe
from gateway.cli.usage_file import parse_usage
from gateway.clock import SystemClock
from gateway.config import Config
from gateway.db.database import Database, DatabaseError, open_database
from gateway.db.target import shown
from gateway.db.unit import DirectWriter
from gateway.errors import ConfigError, ImportRejected, StartupError, UnknownSubscriber
from gateway.ledger.calendar import Calendar
from gateway.ledger.cards import import_cards, parse_cards
from gateway.ledger.importer import import_subscribers, parse_subscribers
from gateway.ledger.products import Products
from gateway.ledger.reads import Ledger
from gateway.ledger.seed import seed_bulk, seed_demo
from gateway.usecases.rate_usage import UsageRating

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 2


def add_ledger_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ledger`` and its sub-commands, on the ``gateway`` parser's sub-commands."""
    ledger = subparsers.add_parser("ledger", help="import, seed or show subscribers, rate usage, migrate the ledger")
    actions = ledger.add_subparsers(
        dest="ledger_command", required=True, metavar="{import,cards,seed,show,usage,migrate}"
    )
    load = actions.add_parser("import", help="import subscribers from a CSV file (all or nothing)")
    load.add_argument("file", type=Path, help="UTF-8 CSV: msisdn,name,brand,vip,plan,balance[,...]")
    cards = actions.add_parser("cards", help="import recharge cards (701) from a CSV file (all or nothing)")
    cards.add_argument("file", type=Path, help="UTF-8 CSV: serial,value,expires[,state]")
    seed = actions.add_parser("seed", help="fill the ledger with demo or benchmark subscribers")
    what = seed.add_mutually_exclusive_group(required=True)
    what.add_argument("--demo", action="store_true", help="the demo people (13800138000 and a few dozen more)")
    what.add_argument("--count", type=_positive, metavar="N", help="N plain subscribers for benchmarks")
    seed.add_argument("--start", type=int, default=13_000_000_000, help="first number of --count (13000000000)")
    show = actions.add_parser("show", help="one subscriber's account, this cycle, bills and payments")
    show.add_argument("msisdn", type=phone_number, help="the subscriber's number, e.g. 13800138000")
    usage = actions.add_parser("usage", help="rate usage records from a CSV file (as POST /api/v1/usage does)")
    usage.add_argument("file", type=Path, help="UTF-8 CSV: id,msisdn,category,quantity,start,duration")
    actions.add_parser(
        "migrate",
        help="bring the ledger to this gateway's schema (gateway run does it at start)",
        description="Bring the ledger (the PostgreSQL database at ledger.url if set, else the file at ledger.path)"
        " to the newest schema revision this gateway has, in one transaction: a file of an earlier gateway keeps"
        " every row. A ledger already there is left as it is.",
    )


def run_ledger_command(args: argparse.Namespace, config: Config) -> int:
    """Run the parsed ``gateway ledger ...`` command; the exit code."""
    if args.ledger_command == "migrate":  # needs no products: a file is migrated whatever the catalog says
        return _migrate(config.ledger_target())
    try:
        products = Products.load(config.resolve(config.gateway.products))
        path = config.ledger_target()
    except ConfigError as exc:
        return _fail(f"gateway: config error: {exc}", EXIT_CONFIG)
    calendar = Calendar.named(config.gateway.timezone)  # load_config has checked the zone
    action: Callable[[Database], Awaitable[int]]
    if args.ledger_command in ("import", "usage", "cards"):
        try:
            text = args.file.read_bytes().decode("utf-8")
        except OSError as exc:
            return _fail(f"gateway: cannot read {args.file}: {exc.strerror}", EXIT_REFUSED)
        except UnicodeDecodeError as exc:
            return _fail(f"gateway: {args.file}: not UTF-8 text (byte {exc.start}); save it as UTF-8", EXIT_REFUSED)
        if args.ledger_command == "import":
            action = _importer(text, args.file, products, calendar)
        elif args.ledger_command == "cards":
            action = _card_importer(text, args.file)
        else:
            action = _rater(text, args.file, UsageRating.of(config, products, calendar))
    elif args.ledger_command == "seed":
        action = _seeder(args.count, args.start, products, calendar)
    else:
        action = _shower(args.msisdn, products, calendar)
    return asyncio.run(_with_ledger(path, action))


async def _with_ledger(path: str, action: Callable[[Database], Awaitable[int]]) -> int:
    try:
        db = await open_database(path)
    except StartupError as exc:
        return _fail(f"gateway: {exc}", EXIT_REFUSED)
    try:
        return await action(db)
    except ImportRejected as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        return _fail(f"gateway: nothing was written ({count} problem{'' if count == 1 else 's'})", EXIT_REFUSED)
    except UnknownSubscriber as exc:
        return _fail(f"gateway: {exc} is not in the ledger", EXIT_REFUSED)
    except DatabaseError as exc:  # e.g. locked by another writer for longer than busy_timeout
        return _fail(f"gateway: ledger {shown(path)}: {exc}", EXIT_REFUSED)
    finally:
        await db.close()


def _migrate(path: str) -> int:
    from gateway.db import migrate  # Alembic takes 0.3 s to import: only the command that needs it pays

    try:
        before = migrate.current(path)
        now = migrate.upgrade(path)
    except StartupError as exc:
        return _fail(f"gateway: {exc}", EXIT_REFUSED)
    print(f"ledger {shown(path)}: {'already ' if now == before else ''}at revision {now} ({migrate.title(now)})")
    return EXIT_OK


def _importer(text: str, file: Path, products: Products, calendar: Calendar) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        subscribers = parse_subscribers(text, products=products, today=calendar.today(SystemClock().now()))
        count = await import_subscribers(db, subscribers)
        print(f"imported {count} subscriber{'' if count == 1 else 's'} from {file}")
        return EXIT_OK

    return run


def _card_importer(text: str, file: Path) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        count = await import_cards(db, parse_cards(text))
        print(f"imported {count} recharge card{'' if count == 1 else 's'} from {file}")
        return EXIT_OK

    return run


def _rater(text: str, file: Path, rating: UsageRating) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        records = parse_usage(text)
        result = await rating.rate(DirectWriter(db), records, now=SystemClock().now())
        charged = sum(r.charged for r in result.rated)
        partly = [r for r in result.rated if r.refused]
        print(
            f"{file}: {len(result.rated)} rated (charged {charged} fen), {len(partly)} of them in part,"
            f" {len(result.duplicates)} duplicates, {len(result.rejected)} rejected"
        )
        for r in partly:
            print(f"  {r.id}: {r.refused} not granted ({r.reason})")
        for rejected in result.rejected:
            print(f"  {rejected.id}: rejected, {rejected.reason}: {rejected.detail}")
        for msisdn in sorted(set(result.suspended)):
            print(f"  {msisdn}: suspended")
        return EXIT_OK

    return run


def _seeder(
    count: int | None, start: int, products: Products, calendar: Calendar
) -> Callable[[Database], Awaitable[int]]:
    """``--count N`` plain subscribers, else (``--demo``) the demo people."""

    async def run(db: Database) -> int:
        now = SystemClock().now()
        began = time.perf_counter()
        if count is None:
            numbers = await seed_demo(db, now=now, products=products, calendar=calendar)
            print(f"seeded {len(numbers)} demo subscribers ({', '.join(numbers[:2])}, ...) in {calendar.cycle(now)}")
            return EXIT_OK
        try:
            seeded = await seed_bulk(db, count=count, now=now, products=products, calendar=calendar, start_msisdn=start)
        except ValueError as exc:
            return _fail(f"gateway: {exc}", EXIT_REFUSED)
        last = start + seeded - 1
        print(f"seeded {seeded} subscribers {start} to {last} in {time.perf_counter() - began:.1f} s")
        return EXIT_OK

    return run


def _shower(msisdn: str, products: Products, calendar: Calendar) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        ledger = Ledger(db, products=products, calendar=calendar)
        print("\n".join(await describe(ledger, msisdn, now=SystemClock().now())))
        return EXIT_OK

    return run


def phone_number(text: str) -> str:
    if not (text.isascii() and text.isdigit() and 5 <= len(text) <= 21):
        raise argparse.ArgumentTypeError(f"{text!r} is not a phone number")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code
