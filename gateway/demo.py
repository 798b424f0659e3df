"""``gateway demo``: the simulator, a throw-away ledger and the gateway in one process, and a handset prompt.

You type as a subscriber (13800138000 by default) texting a service number (10086); each line goes to
the simulator as an MO over real SMPP, and the gateway's answers are printed as the handset would show
them. ``/to 10001`` switches the service number (one of ``gateway.service_numbers``), ``/from N`` the
subscriber, ``/help`` lists these, ``/quit`` (or end of input) leaves; anything else that starts with ``/``
is refused rather than sent. Log lines go to ``demo.log`` beside the ledger, never onto the prompt. The
ledger is a new SQLite file, or with ``ledger.url`` set a new database on that PostgreSQL server, dropped
after (:mod:`gateway.db.scratch`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import tempfile
import time
from typing import TextIO

from gateway.app import Gateway
from gateway.config import load_config
from gateway.db.database import open_database
from gateway.db.scratch import scratch_ledger
from gateway.db.target import is_url, shown
from gateway.ledger.seed import seed_demo
from gateway.logs import setup_logging
from gateway.smsc import SmscSimulator

ANSWER_WAIT = 5.0
MORE_WAIT = 0.3

BANNER = """\
SMS self-service gateway demo: simulator on 127.0.0.1:{port}, gateway bound, ledger in {ledger}
You are {msisdn}, texting {service}. Type a code (e.g. CXYE, CXLL, KTGPRS20 then 是, 0000; on 10001:
101-105, 108, 110, 501) and press Enter. Try /from 13900139000 (全球通, credit limit) too.
Commands: /to {numbers}, /from MSISDN, /help, /quit (Ctrl-D also quits). Logs: {log}
"""


HELP = """\
  /to NUMBER   text another service number ({numbers})
  /from MSISDN type as another subscriber (digits only)
  /help        this list
  /quit        leave (Ctrl-D too)
  anything else is sent as an SMS"""


async def run_demo(*, msisdn: str, service_number: str, web: bool = False, port: int = 0) -> None:
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp, _log_file(tmp) as log:
        setup_logging("warning", "text", stream=log)  # never onto the prompt
        async with scratch_ledger(load_config().ledger.url, tmp, "demo") as ledger:
            await _run(ledger, log, msisdn=msisdn, service_number=service_number, web=web, port=port)


async def _run(ledger: str, log: TextIO, *, msisdn: str, service_number: str, web: bool, port: int) -> None:
    """The demo on ``ledger``: a new SQLite file, or a new database on the PostgreSQL server of ``ledger.url``."""
    sim = SmscSimulator(port=0, control_port=0 if web else None)
    await sim.start()
    try:
        if web:
            await _web(sim, ledger, log, port=port)
        else:
            await _on(sim, ledger, log, msisdn=msisdn, service_number=service_number)
    finally:
        await sim.stop()


def _environ(sim: SmscSimulator, ledger: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "GATEWAY_SMPP__PORT": str(sim.port),
        "GATEWAY_SMPP__HOST": "127.0.0.1",
        "GATEWAY_SMPP__SYSTEM_ID": "gateway",
        "GATEWAY_SMPP__PASSWORD": "secret",
        "GATEWAY_LEDGER__URL" if is_url(ledger) else "GATEWAY_LEDGER__PATH": ledger,
        "GATEWAY_HTTP__PORT": "0",
        **extra,
    }


async def _web(sim: SmscSimulator, ledger: str, log: TextIO, *, port: int) -> None:
    """The handset in the browser, on a manual clock it can move, until SIGINT or SIGTERM (stdin is not read)."""
    environ = _environ(
        sim,
        ledger,
        GATEWAY_HTTP__PORT=str(port),
        GATEWAY_HTTP__CONSOLE="true",
        GATEWAY_HTTP__CONSOLE_SMSC=sim.control_url or "",
        GATEWAY_GATEWAY__CLOCK="manual",
        GATEWAY_HTTP__TOKENS=os.environ.get("GATEWAY_HTTP__TOKENS") or secrets.token_urlsafe(18),
    )
    gateway = Gateway(load_config(environ=environ))
    await _seed(ledger, gateway)
    await gateway.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await gateway.link.wait_bound(10.0)
        base = f"http://127.0.0.1:{gateway.http.port}"
        token = gateway.config.http.tokens[0]
        print(
            f"SMS self-service gateway demo: the handset is at {base}/console/handset\n"
            f"The console is at {base}/console (admin token {token}). Logs: {log.name}. Ctrl-C stops.",
            flush=True,
        )
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await gateway.stop()


async def _on(sim: SmscSimulator, ledger: str, log: TextIO, *, msisdn: str, service_number: str) -> None:
    gateway = Gateway(load_config(environ=_environ(sim, ledger)))
    await _seed(ledger, gateway)
    await gateway.start()
    numbers = gateway.config.gateway.service_numbers
    try:
        await gateway.link.wait_bound(10.0)
        banner = BANNER.format(
            port=sim.port,
            ledger=shown(ledger),
            msisdn=msisdn,
            service=service_number,
            numbers="|".join(numbers),
            log=log.name,
        )
        print(banner, flush=True)
        await _prompt(sim, msisdn, service_number, numbers)
    finally:
        await gateway.stop()


async def _seed(path: str, gateway: Gateway) -> None:
    """The demo people (13800138000 first) in the throw-away ledger, before the gateway opens it."""
    db = await open_database(path)
    try:
        await seed_demo(db, now=gateway.clock.now(), products=gateway.products, calendar=gateway.calendar)
    finally:
        await db.close()


async def _prompt(sim: SmscSimulator, msisdn: str, service_number: str, numbers: list[str]) -> None:
    interactive = sys.stdin.isatty()
    while True:
        line = await asyncio.to_thread(_read_line, f"{msisdn} → {service_number}> " if interactive else "")
        if line is None or line.strip() == "/quit":
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            command, _, argument = line.partition(" ")
            argument = argument.strip()
            said = ""
            if command == "/to" and argument in numbers:
                service_number = argument
            elif command == "/to":
                said = f"  {argument or '(nothing)'} is not a service number here: /to {'|'.join(numbers)}"
            elif command == "/from" and argument.isascii() and argument.isdigit() and 5 <= len(argument) <= 21:
                msisdn = argument
            elif command == "/from":
                said = f"  {argument or '(nothing)'} is not a phone number: /from 13900139000, say"
            elif command == "/help":
                said = HELP.format(numbers="|".join(numbers))
            else:
                said = f"  unknown command {command}: /help lists them"
            if said:
                if not interactive:
                    print(f"{msisdn} → {service_number}> {line}", flush=True)
                print(said, flush=True)
            continue
        if not interactive:
            print(f"{msisdn} → {service_number}> {line}", flush=True)
        seen = len(sim.mts)
        await sim.send_mo(msisdn, service_number, line)
        for text in await _answers(sim, seen, msisdn):
            print(f"  {service_number} → {msisdn}: {text}", flush=True)


async def _answers(sim: SmscSimulator, seen: int, msisdn: str) -> list[str]:
    """The MTs to ``msisdn`` after index ``seen``: wait for the first, then briefly for more."""
    deadline = time.monotonic() + ANSWER_WAIT
    found: list[str] = []
    while time.monotonic() < deadline:
        found = [mt.text for mt in sim.mts[seen:] if mt.destination_addr == msisdn]
        if found:
            await asyncio.sleep(MORE_WAIT)
            return [mt.text for mt in sim.mts[seen:] if mt.destination_addr == msisdn]
        await asyncio.sleep(0.02)
    return ["(no answer)"]


def _log_file(folder: str) -> TextIO:
    return open(os.path.join(folder, "demo.log"), "a", encoding="utf-8")


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
