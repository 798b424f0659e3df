"""``gateway``: run the gateway, the SMSC simulator, or the interactive demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from gateway.app import EXIT_CONFIG, EXIT_OK, Gateway
from gateway.config import load_config
from gateway.converse.cli import add_converse_command, run_converse
from gateway.errors import ConfigError, StartupError
from gateway.ledger.cli import add_ledger_commands, run_ledger_command
from gateway.logs import setup_logging
from gateway.pushes.cli import add_push_commands, run_push_command


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--config and --log-format, before the subcommand or after it (``gateway run --log-format text``)."""
    default = None if top else argparse.SUPPRESS  # a subcommand's copy never hides the one given before it
    parser.add_argument(
        "--config", type=Path, default=default, help="config file (default config/gateway.toml or $GATEWAY_CONFIG)"
    )
    parser.add_argument("--log-format", choices=["json", "text"], default=default, help="override log.format")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand's parser below ``parser``, nested ones (``ledger import``) too."""
    found = []
    for action in parser._actions:  # argparse has no public way to list them
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += [sub, *_subparsers(sub)]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="USSD/SMS self-service command gateway",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the gateway (the default)", description="Run the gateway until SIGTERM.")
    sim = commands.add_parser(
        "smsc-sim", help="run the bundled SMSC simulator", description="The bundled SMSC simulator (docs/simulator.md)."
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=2775, help="SMPP port (0: a free one, printed)")
    sim.add_argument("--control-port", type=int, default=8775, help="HTTP control API port (0: a free one, printed)")
    sim.add_argument("--system-id", default="gateway", help="the system_id a bind must give")
    sim.add_argument("--password", default="secret", help="the password a bind must give")
    demo = commands.add_parser("demo", help="simulator + gateway + a handset prompt, in one process")
    demo.add_argument("--msisdn", default="13800138000", help="the subscriber you type as")
    demo.add_argument("--to", default="10086", help="the service number you text")
    add_ledger_commands(commands)
    add_converse_command(commands)
    add_push_commands(commands)
    for sub in _subparsers(parser):
        sub.formatter_class = argparse.ArgumentDefaultsHelpFormatter
        _common_options(sub, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "smsc-sim":
        from gateway.smsc import run_simulator

        setup_logging("info", args.log_format or "text")
        return _run(run_simulator(args.host, args.port, args.control_port, args.system_id, args.password))
    if args.command == "demo":
        from gateway.demo import run_demo

        return _run(run_demo(msisdn=args.msisdn, service_number=args.to))
    if args.command == "converse":
        setup_logging("critical", args.log_format or "text")  # the report says what matters; the logs are noise
        return run_converse(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"gateway: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "ledger":
        return run_ledger_command(args, config)
    if args.command == "push":
        return run_push_command(args, config)
    setup_logging(config.log.level, args.log_format or config.log.format)
    try:
        gateway = Gateway(config)
    except ConfigError as exc:
        print(f"gateway: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _run(gateway.run_until_signalled())
    except StartupError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _run(coro: Coroutine[Any, Any, Any]) -> int:
    with suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
