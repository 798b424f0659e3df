"""The handset in the browser (``/console/handset``): a phone that texts and dials through the bundled
simulator, its SMS thread and USSD screens, the subscriber's ledger beside it, and the recording of what was
typed and answered as a ``.conv`` script.

The page's input line: a text that starts with ``*`` and ends with ``#`` is dialled (a USSD session opens);
while a session is open, the next input answers its screen; anything else is an SMS to the chosen service
number. Every step goes to the simulator's control API, which delivers it over SMPP; the gateway's answers
come back from the simulator's record of MTs (:class:`~gateway.console.simulator.Simulator`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.clock import Clock
from gateway.console.pages import static_file
from gateway.console.simulator import Simulator, SimulatorUnavailable
from gateway.console.snapshot import fixture, people, snapshot
from gateway.errors import UnknownSubscriber
from gateway.http import json_error, json_response
from gateway.ledger.reads import Ledger
from gateway.ussd.smpp import UssdOps

PAGES = {"handset.html", "handset.css", "handset.js", "console.js"}


@dataclass(slots=True)
class _Session:
    code: str
    number: int
    sequence: int = 0  # of the subscriber's last message in it


class Handset:
    def __init__(
        self, *, ledger: Ledger, clock: Clock, simulator: Simulator, ops: UssdOps, service_numbers: list[str]
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._simulator = simulator
        self._ops = ops
        self._service_numbers = service_numbers
        self._sessions: dict[str, _Session] = {}  # msisdn → its open USSD session
        self._numbers = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/console/handset", self.page),
            web.get("/console/static/{name}", self.static),
            web.get("/console/api/subscribers", self.subscribers),
            web.get("/console/api/ledger", self.ledger),
            web.get("/console/api/fixture", self.fixture),
            web.get("/console/api/messages", self.messages),
            web.post("/console/api/send", self.send),
        ]

    async def close(self) -> None:
        await self._simulator.close()

    async def page(self, request: web.Request) -> web.StreamResponse:
        return static_file("handset.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in PAGES:
            return json_error(404, "not_found", f"no file {name!r}")
        return static_file(name)

    async def subscribers(self, request: web.Request) -> web.Response:
        return json_response({"subscribers": await people(self._ledger), "services": self._service_numbers})

    async def ledger(self, request: web.Request) -> web.Response:
        msisdn = request.query.get("msisdn", "")
        try:
            found = await snapshot(self._ledger, msisdn, now=self._clock.now(), service_numbers=self._service_numbers)
        except UnknownSubscriber:
            return json_error(404, "not_found", f"{msisdn} is not in the ledger")
        return json_response(found | {"ussd_open": msisdn in self._sessions})

    async def fixture(self, request: web.Request) -> web.Response:
        msisdn = request.query.get("msisdn", "")
        try:
            text = await fixture(self._ledger, msisdn, now=self._clock.now())
        except UnknownSubscriber:
            return json_error(404, "not_found", f"{msisdn} is not in the ledger")
        return json_response({"ledger": text})

    async def messages(self, request: web.Request) -> web.Response:
        """The MTs to the subscriber from index ``since`` on: SMS, or a USSD screen (``menu``: it goes on,
        ``close``: the session ended)."""
        msisdn = request.query.get("msisdn", "")
        try:
            since = max(0, int(request.query.get("since", "0")))
            mts, following = await self._simulator.mts(msisdn, since)
        except ValueError:
            return json_error(400, "bad_field", "since must be a whole number")
        except SimulatorUnavailable as exc:
            return json_error(503, "no_simulator", str(exc))
        shown = [self._shown(mt) for mt in mts]
        if any(m["kind"] == "close" for m in shown):
            self._sessions.pop(msisdn, None)
        return json_response({"messages": shown, "next": following, "ussd_open": msisdn in self._sessions})

    def _shown(self, mt: dict[str, Any]) -> dict[str, Any]:
        op = mt.get("ussd_service_op")
        kind = "sms" if op is None else "close" if op == self._ops.close else "menu"
        return {"text": mt["text"], "kind": kind, "from": mt["source_addr"], "at": self._at()}

    def _at(self) -> str:
        """The time of a message as the thread shows it: now on the gateway's clock (manual in the demo)."""
        return self._ledger.calendar.local(self._clock.now()).strftime("%H:%M:%S")

    async def send(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            msisdn, service, text = (str(body[k]).strip() for k in ("msisdn", "service", "text"))
        except (ValueError, KeyError, TypeError):
            return json_error(400, "bad_request", 'send {"msisdn": ..., "service": ..., "text": ...}')
        if not (msisdn.isdigit() and text):
            return json_error(400, "bad_field", "msisdn must be digits and text not empty")
        try:
            sent = await self._send(msisdn, service, text)
            return json_response({"sent": sent, "at": self._at()})
        except ValueError as exc:
            return json_error(400, "bad_field", str(exc))
        except SimulatorUnavailable as exc:
            return json_error(503, "no_simulator", str(exc))

    async def _send(self, msisdn: str, service: str, text: str) -> str:
        if text.startswith("*") and text.endswith("#") and len(text) > 2:
            opened = self._sessions[msisdn] = _Session(code=text, number=next(self._numbers) & 0xFF)
            await self._simulator.send_ussd(msisdn, text, text, op=self._ops.begin, session=opened.number, sequence=0)
            return "dial"
        session = self._sessions.get(msisdn)
        if session is not None:
            session.sequence += 1
            await self._simulator.send_ussd(
                msisdn, session.code, text, op=self._ops.answer, session=session.number, sequence=session.sequence
            )
            return "answer"
        if service not in self._service_numbers:
            raise ValueError(f"{service} is not a service number here ({', '.join(self._service_numbers)})")
        await self._simulator.send_sms(msisdn, service, text)
        return "sms"
