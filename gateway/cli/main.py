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
from gateway.cli.ledger import add_ledger_commands, phone_number, run_ledger_command
from gateway.cli.push import add_push_commands, run_push_command
from gateway.config import load_config
from gateway.converse.cli import add_converse_command, run_converse
from gateway.errors import ConfigError, StartupError
from gateway.logs import setup_logging

READS = {
    "run": ("--config", "--log-format"),
    "smsc-sim": ("--log-format",),
    "demo": ("--config", "--log-format"),
    "ledger": ("--config",),
    "push": ("--config",),
    "converse": (),
}
"""The top-level options each subcommand reads. Every subcommand takes both after its name too
(``gateway run --log-format text``), but lists in its help only those it uses."""


class HelpFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it has none to tell or already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def _common_options(parser: argparse.ArgumentParser, *, reads: Sequence[str] | None = None) -> None:
    """--config and --log-format: on the top-level parser (``reads`` None), or on a subcommand's."""
    default = None if reads is None else argparse.SUPPRESS  # a subcommand's copy never hides the one given before
    config_help = "config file (default: config/gateway.toml or $GATEWAY_CONFIG)"
    log_help = "override log.format (the demo: of its log file)"
    if reads is None:
        config_help += "; read by run, demo, ledger and push"
        log_help += "; read by run, smsc-sim and demo"
    shown = reads is None or "--config" in reads
    parser.add_argument("--config", type=Path, default=default, help=config_help if shown else argparse.SUPPRESS)
    shown = reads is None or "--log-format" in reads
    parser.add_argument(
        "--log-format", choices=["json", "text"], default=default, help=log_help if shown else argparse.SUPPRESS
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every subcommand's parser below ``parser`` with the name of its top-level command, nested ones too."""
    found = []
    for action in parser._actions:  # argparse has no public way to list them
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(name, sub), *((name, nested) for _, nested in _subparsers(sub))]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="USSD/SMS self-service command gateway", formatter_class=HelpFormatter
    )
    _common_options(parser)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "run",
        help="run the gateway (the default)",
        description="Run the gateway (config/gateway.toml, GATEWAY_* variables) until SIGTERM or SIGINT.",
    )
    sim = commands.add_parser(
        "smsc-sim", help="run the bundled SMSC simulator", description="The bundled SMSC simulator (docs/simulator.md)."
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=2775, help="SMPP port (0: a free one, printed)")
    sim.add_argument("--control-port", type=int, default=8775, help="HTTP control API port (0: a free one, printed)")
    sim.add_argument("--system-id", default="gateway", help="the system_id a bind must give")
    sim.add_argument("--password", default="secret", help="the password a bind must give")
    demo = commands.add_parser(
        "demo",
        help="simulator + gateway + a handset prompt, in one process",
        description="A simulator, the gateway and a throw-away demo ledger in one process, and a prompt where you"
        " type as a subscriber (/help at the prompt lists its commands).",
    )
    demo.add_argument("--msisdn", type=phone_number, default="13800138000", help="the subscriber you type as")
    demo.add_argument("--to", default="10086", help="the service number you text (one of gateway.service_numbers)")
    demo.add_argument(
        "--web",
        action="store_true",
        help="serve the handset in the browser instead of the prompt; prints its URL, runs until Ctrl-C or SIGTERM",
    )
    demo.add_argument("--port", type=int, default=0, help="with --web: the HTTP port (default: a free one)")
    add_ledger_commands(commands)
    add_converse_command(commands)
    add_push_commands(commands)
    for command, sub in _subparsers(parser):
        sub.formatter_class = HelpFormatter
        _common_options(sub, reads=READS[command])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "smsc-sim":
        from gateway.smsc import run_simulator

        setup_logging("info", args.log_format or "text")
        return _run(run_simulator(args.host, args.port, args.control_port, args.system_id, args.password))
    if args.command == "demo":
        from gateway.demo import run_demo

        return _run(run_demo(msisdn=args.msisdn, service_number=args.to, web=args.web, port=args.port))
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
        return _run(gateway.run_until_signalled(), uvloop=config.gateway.event_loop == "uvloop")
    except StartupError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _run(coro: Coroutine[Any, Any, Any], *, uvloop: bool = False) -> int:
    """Run ``coro`` to the end, on uvloop's event loop if asked (``gateway.event_loop``), else asyncio's."""
    factory = None
    if uvloop:
        import uvloop as chosen  # only the gateway itself runs on it

        factory = chosen.new_event_loop
    with suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=factory) as runner:
        runner.run(coro)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
