"""``gateway demo``: the simulator, a throw-away ledger and the gateway in one process, and a handset prompt.

You type as a subscriber (13800138000 by default) texting a service number (10086); each line goes to
the simulator as an MO over real SMPP, and the gateway's answers are printed as the handset would show
them. ``/to 10001`` switches the service number, ``/from N`` the subscriber, ``/quit`` (or end of input)
leaves.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

from gateway.app import Gateway
from gateway.config import load_config
from gateway.database import open_database
from gateway.ledger.seed import seed_demo
from gateway.logs import setup_logging
from gateway.smsc import SmscSimulator

ANSWER_WAIT = 5.0
MORE_WAIT = 0.3

BANNER = """\
SMS self-service gateway demo: simulator on 127.0.0.1:{port}, gateway bound, ledger in {ledger}
You are {msisdn}, texting {service}. Type a code (e.g. CXYE, CXLL, 0000; on 10001: 101 to 110, 501)
and press Enter. The ledger holds a demo set: try /from 13900139000 (全球通, credit limit) too.
Commands: /to NUMBER (service number), /from MSISDN, /quit. Ctrl-D also quits.
"""


async def run_demo(*, msisdn: str, service_number: str) -> None:
    setup_logging("warning", "text")
    with tempfile.TemporaryDirectory(prefix="gateway-demo-") as tmp:
        sim = SmscSimulator(port=0)
        await sim.start()
        ledger = os.path.join(tmp, "demo.db")
        environ = {
            **os.environ,
            "GATEWAY_SMPP__PORT": str(sim.port),
            "GATEWAY_SMPP__HOST": "127.0.0.1",
            "GATEWAY_SMPP__SYSTEM_ID": "gateway",
            "GATEWAY_SMPP__PASSWORD": "secret",
            "GATEWAY_LEDGER__PATH": ledger,
            "GATEWAY_HTTP__PORT": "0",
        }
        gateway = Gateway(load_config(environ=environ))
        await _seed(ledger, gateway)
        await gateway.start()
        try:
            await gateway.link.wait_bound(10.0)
            print(BANNER.format(port=sim.port, ledger=ledger, msisdn=msisdn, service=service_number), flush=True)
            await _prompt(sim, msisdn, service_number)
        finally:
            await gateway.stop()
            await sim.stop()


async def _seed(path: str, gateway: Gateway) -> None:
    """The demo people (13800138000 first) in the throw-away ledger, before the gateway opens it."""
    db = await open_database(path)
    try:
        await seed_demo(db, now=gateway.clock.now(), products=gateway.products, calendar=gateway.calendar)
    finally:
        await db.close()


async def _prompt(sim: SmscSimulator, msisdn: str, service_number: str) -> None:
    interactive = sys.stdin.isatty()
    while True:
        line = await asyncio.to_thread(_read_line, f"{msisdn} → {service_number}> " if interactive else "")
        if line is None or line.strip() == "/quit":
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith("/to "):
            service_number = line[4:].strip()
            continue
        if line.startswith("/from "):
            msisdn = line[6:].strip()
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


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
