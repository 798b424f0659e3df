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
from gateway.errors import ConfigError
from gateway.ledger.cli import add_ledger_commands, run_ledger_command
from gateway.logs import setup_logging
from gateway.pushes.cli import add_push_commands, run_push_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description="USSD/SMS self-service command gateway")
    parser.add_argument("--config", type=Path, help="config file (default config/gateway.toml or $GATEWAY_CONFIG)")
    parser.add_argument("--log-format", choices=["json", "text"], help="override log.format")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the gateway (the default)")
    sim = commands.add_parser("smsc-sim", help="run the bundled SMSC simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=2775)
    sim.add_argument("--control-port", type=int, default=8775, help="HTTP control API port")
    sim.add_argument("--system-id", default="gateway")
    sim.add_argument("--password", default="secret")
    demo = commands.add_parser("demo", help="simulator + gateway + a handset prompt, in one process")
    demo.add_argument("--msisdn", default="13800138000", help="the subscriber you type as")
    demo.add_argument("--to", default="10086", help="the service number you text")
    add_ledger_commands(commands)
    add_converse_command(commands)
    add_push_commands(commands)
    args = parser.parse_args(argv)

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
    return _run(gateway.run_until_signalled())


def _run(coro: Coroutine[Any, Any, Any]) -> int:
    with suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
