"""How a conversation reaches the SMSC, the clock and the admin API: in this process, or over HTTP.

Local: the conversation's own :class:`SmscSimulator` and gateway (with a manual clock). Attached: a
simulator's control API (``--smsc-control``) that a staging gateway is bound to, and that gateway's
clock control (``--gateway-control``) when it runs in manual-clock mode. Usage, payments and protective
restores (``usage``, ``pay``, ``restore``) always go through the gateway's admin API over HTTP
(:class:`AdminFeed`), with the runner's own token locally and a given one when attached.

USSD sessions (``dial``, ``>`` in a session, ``hang up``) go over SMPP through the simulator
(:class:`SmppUssd`: a USSD deliver_sm in, a submit_sm with ``ussd_service_op`` back) or to the gateway's
HTTP callback ``POST /ussd`` (:class:`HttpUssd`); either way the runner reads :class:`UssdScreen` objects.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from gateway.clock import ManualClock
from gateway.errors import GatewayError
from gateway.ledger.calendar import Calendar
from gateway.smsc import Faults, SmscSimulator
from gateway.ussd.smpp import UssdOps

REBIND_TIMEOUT = 5.0


class ChannelError(GatewayError):
    """The SMSC, the clock or the admin API could not do what a step asked."""


class Refused(ChannelError):
    """The admin API refused a request of a step (a 4xx other than an authentication failure)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mt:
    """What the gateway sent through the SMSC: an SMS, or with ``ussd_service_op`` a USSD screen."""

    destination_addr: str
    text: str
    ussd_service_op: int | None = None
    its_session_info: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UssdScreen:
    """A screen of a USSD session as the runner got it; ``problem`` says what was wrong with how it came."""

    subscriber: str
    text: str
    end: bool  # the session closed with it
    problem: str = ""

    @property
    def shown(self) -> str:
        return f"{'END' if self.end else 'CON'} {self.text}"


class Smsc(Protocol):
    async def send(self, msisdn: str, service: str, text: str) -> None: ...
    async def send_ussd(
        self, msisdn: str, code: str, text: str, *, op: int, session: int, sequence: int, end: bool
    ) -> None: ...
    async def answers(self) -> list[Mt]: ...  # every MT so far, in order
    async def fault(self, action: str, value: int) -> None: ...


class UssdChannel(Protocol):
    """How ``dial``, ``>`` in a session and ``hang up`` reach the gateway, and the screens they got."""

    async def dial(self, msisdn: str, code: str) -> None: ...
    async def answer(self, msisdn: str, text: str) -> None: ...
    async def hang_up(self, msisdn: str) -> None: ...
    async def screens(self) -> list[UssdScreen]: ...  # every screen so far, in order


class ClockControl(Protocol):
    async def now(self) -> float: ...  # the gateway's time, epoch seconds
    async def advance(self, seconds: float) -> None: ...
    async def set(self, local: datetime) -> None: ...


class Feed(Protocol):
    """What the ``usage``, ``pay`` and ``restore`` steps do; each returns the admin API's JSON answer."""

    async def usage(
        self, *, reference: str, msisdn: str, category: str, quantity: int, start: float, duration: int
    ) -> Any: ...
    async def pay(self, *, reference: str, msisdn: str, amount_fen: int, channel: str) -> Any: ...
    async def restore(self, msisdn: str) -> Any: ...


class LocalSmsc:
    def __init__(self, sim: SmscSimulator, wait_bound: Any) -> None:
        self._sim = sim
        self._wait_bound = wait_bound  # the local gateway's link.wait_bound

    async def send(self, msisdn: str, service: str, text: str) -> None:
        await self._sim.send_mo(msisdn, service, text)

    async def send_ussd(
        self, msisdn: str, code: str, text: str, *, op: int, session: int, sequence: int, end: bool
    ) -> None:
        await self._sim.send_ussd(msisdn, code, text, op=op, session=session, sequence=sequence, end=end)

    async def answers(self) -> list[Mt]:
        return [
            Mt(
                destination_addr=mt.destination_addr,
                text=mt.text,
                ussd_service_op=mt.ussd_service_op,
                its_session_info=mt.its_session_info,
            )
            for mt in self._sim.mts
        ]

    async def fault(self, action: str, value: int) -> None:
        faults = self._sim.faults
        if action == "throttle":
            faults.throttle_every = value
        elif action == "hold":
            faults.hold_submits = True
        elif action == "normal":
            fresh = Faults()
            for f in fields(Faults):
                setattr(faults, f.name, getattr(fresh, f.name))
        elif action == "drop":
            await self._sim.drop_connections()
            await asyncio.sleep(0.05)
            await self._wait_bound(REBIND_TIMEOUT)


class LocalClock:
    def __init__(self, clock: ManualClock, calendar: Calendar, on_moved: Callable[[], Awaitable[None]]) -> None:
        self._clock = clock
        self._calendar = calendar
        self._on_moved = on_moved  # the gateway's time-based work (Gateway.time_moved), run at once

    async def now(self) -> float:
        return self._clock.now()

    async def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)
        await self._on_moved()

    async def set(self, local: datetime) -> None:
        self._clock.set(self._calendar.instant(local))
        await self._on_moved()


class RemoteSmsc:
    """The simulator's HTTP control API (docs/simulator.md)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url.rstrip("/")
        self._seen: list[Mt] = []
        self._next = 0

    async def start(self) -> None:
        """Only answers after this point belong to the conversation."""
        body = await self._get("/mt", since=str(1 << 62))
        self._next = int(body["next"])

    async def send(self, msisdn: str, service: str, text: str) -> None:
        await self._post("/mo", {"source_addr": msisdn, "destination_addr": service, "text": text})

    async def send_ussd(
        self, msisdn: str, code: str, text: str, *, op: int, session: int, sequence: int, end: bool
    ) -> None:
        body = {
            "source_addr": msisdn,
            "destination_addr": code,
            "text": text,
            "op": op,
            "session": session,
            "sequence": sequence,
            "end": end,
        }
        await self._post("/ussd", body)

    async def answers(self) -> list[Mt]:
        body = await self._get("/mt", since=str(self._next))
        self._seen += [
            Mt(
                destination_addr=mt["destination_addr"],
                text=mt["text"],
                ussd_service_op=mt.get("ussd_service_op"),
                its_session_info=bytes.fromhex(mt["its_session_info"]) if mt.get("its_session_info") else None,
            )
            for mt in body["mts"]
        ]
        self._next = int(body["next"])
        return self._seen

    async def fault(self, action: str, value: int) -> None:
        if action == "drop":
            await self._post("/drop", {})
            for _ in range(int(REBIND_TIMEOUT / 0.05)):
                await asyncio.sleep(0.05)
                if (await self._get("/status"))["bound"]:
                    return
            raise ChannelError("the gateway did not bind again after the drop")
        changes = {"throttle": {"throttle_every": value}, "hold": {"hold_submits": True}}.get(action)
        if changes is None:  # normal
            changes = {f.name: getattr(Faults(), f.name) for f in fields(Faults)}
        await self._post("/faults", changes)

    async def _get(self, path: str, **query: str) -> Any:
        async with self._http.get(self._url + path, params=query) as response:
            return await _body(response)

    async def _post(self, path: str, body: object) -> Any:
        async with self._http.post(self._url + path, json=body) as response:
            return await _body(response)


class RemoteClock:
    """A gateway's clock control (``gateway.clock = manual``): POST /test/clock."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url.rstrip("/") + "/test/clock"

    async def now(self) -> float:
        async with self._http.get(self._url) as response:
            return float((await _body(response))["epoch"])

    async def advance(self, seconds: float) -> None:
        await self._move({"advance": seconds})

    async def set(self, local: datetime) -> None:
        await self._move({"at": local.isoformat()})

    async def _move(self, body: object) -> None:
        async with self._http.post(self._url, json=body) as response:
            await _body(response)


class NoClock:
    async def now(self) -> float:
        return time.time()

    async def advance(self, seconds: float) -> None:
        raise ChannelError("moving the clock needs --gateway-control URL of a gateway in manual-clock mode")

    async def set(self, local: datetime) -> None:
        await self.advance(0)


class AdminFeed:
    """The gateway's admin API (``/api/v1/``, bearer token): usage records, payments, protective restores.

    Record and payment ids are prefixed with ``ids`` (empty for a fresh local ledger; unique per run when
    attached, so a second run of a conversation is not taken for a repeat of the first)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, *, token: str, calendar: Calendar, ids: str = "") -> None:
        self._http = http
        self._url = url.rstrip("/") + "/api/v1"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._calendar = calendar
        self._ids = ids

    async def usage(
        self, *, reference: str, msisdn: str, category: str, quantity: int, start: float, duration: int
    ) -> Any:
        record = {
            "id": self._ids + reference,
            "msisdn": msisdn,
            "category": category,
            "quantity": quantity,
            "start": self._calendar.local(start).isoformat(),
            "duration": duration,
        }
        return await self._post("/usage", {"records": [record]})

    async def pay(self, *, reference: str, msisdn: str, amount_fen: int, channel: str) -> Any:
        body = {"id": self._ids + reference, "msisdn": msisdn, "amount_fen": amount_fen, "channel": channel}
        return await self._post("/payments", body)

    async def restore(self, msisdn: str) -> Any:
        return await self._post(f"/subscribers/{msisdn}/protective-restore", {})

    async def _post(self, path: str, body: object) -> Any:
        async with self._http.post(self._url + path, json=body, headers=self._headers) as response:
            answer = await response.json(content_type=None)
            if response.status in (401, 403):
                raise ChannelError(f"the admin API refused the token ({response.status}): check --admin-token")
            if response.status >= 400:
                message = answer.get("message", answer) if isinstance(answer, dict) else answer
                raise Refused(f"{response.status} {message}")
            return answer


class NoFeed:
    """Attached without an admin token: the steps that feed the gateway cannot run."""

    async def usage(
        self, *, reference: str, msisdn: str, category: str, quantity: int, start: float, duration: int
    ) -> Any:
        raise ChannelError(
            "usage, pay and restore need the gateway's admin API: --gateway-control URL and --admin-token "
            "(or GATEWAY_ADMIN_TOKEN)"
        )

    async def pay(self, *, reference: str, msisdn: str, amount_fen: int, channel: str) -> Any:
        return await self.usage(reference=reference, msisdn=msisdn, category="", quantity=0, start=0, duration=0)

    async def restore(self, msisdn: str) -> Any:
        return await self.usage(reference="", msisdn=msisdn, category="", quantity=0, start=0, duration=0)


@dataclass(slots=True, kw_only=True)
class _SmppSession:
    code: str
    number: int  # its_session_info's session number
    sequence: int = 0  # of the subscriber's last message in it


def session_info(number: int, sequence: int, *, end: bool = False) -> bytes:
    """its_session_info: the session number; then the sequence number (7 bits) and the end-of-session bit."""
    return bytes([number & 0xFF, ((sequence & 0x7F) << 1) | int(end)])


class SmppUssd:
    """USSD over SMPP through the simulator: each dial and answer a USSD deliver_sm with the profile's
    operation code, each screen a submit_sm whose ``ussd_service_op`` says menu (CON) or close (END) and
    whose ``its_session_info`` must be the one its deliver_sm carried, unchanged."""

    def __init__(self, smsc: Smsc, ops: UssdOps) -> None:
        self._smsc = smsc
        self._ops = ops
        self._numbers = itertools.count(1)
        self._open: dict[str, _SmppSession] = {}
        self._sent: dict[str, list[bytes]] = {}  # subscriber → its_session_info of each dial and answer

    async def dial(self, msisdn: str, code: str) -> None:
        session = self._open[msisdn] = _SmppSession(code=code, number=next(self._numbers) & 0xFF)
        await self._deliver(msisdn, session, code, self._ops.begin)

    async def answer(self, msisdn: str, text: str) -> None:
        session = self._session(msisdn)
        session.sequence += 1
        await self._deliver(msisdn, session, text, self._ops.answer)

    async def hang_up(self, msisdn: str) -> None:
        session = self._session(msisdn)
        del self._open[msisdn]
        session.sequence += 1
        await self._smsc.send_ussd(
            msisdn, session.code, "", op=self._ops.answer, session=session.number, sequence=session.sequence, end=True
        )

    async def screens(self) -> list[UssdScreen]:
        screens: list[UssdScreen] = []
        count: dict[str, int] = {}
        for mt in await self._smsc.answers():
            if mt.ussd_service_op is None:
                continue
            who = mt.destination_addr
            index = count[who] = count.get(who, -1) + 1
            sent = self._sent.get(who, [])
            screens.append(self._screen(mt, sent[index] if index < len(sent) else None))
        return screens

    def _screen(self, mt: Mt, sent: bytes | None) -> UssdScreen:
        op, ops = mt.ussd_service_op, self._ops
        problem = ""
        if op not in (ops.menu, ops.close):
            problem = f"ussd_service_op {op} is neither the menu's ({ops.menu}) nor the last screen's ({ops.close})"
        elif sent is not None and mt.its_session_info != sent:
            back = mt.its_session_info.hex() if mt.its_session_info is not None else "none"
            problem = f"its_session_info came back as {back}, not {sent.hex()} as sent"
        return UssdScreen(subscriber=mt.destination_addr, text=mt.text, end=op == ops.close, problem=problem)

    def _session(self, msisdn: str) -> _SmppSession:
        session = self._open.get(msisdn)
        if session is None:
            raise ChannelError(f"{msisdn} has no USSD session open")
        return session

    async def _deliver(self, msisdn: str, session: _SmppSession, text: str, op: int) -> None:
        self._sent.setdefault(msisdn, []).append(session_info(session.number, session.sequence))
        await self._smsc.send_ussd(
            msisdn, session.code, text, op=op, session=session.number, sequence=session.sequence, end=False
        )


@dataclass(slots=True, kw_only=True)
class _HttpSession:
    id: str
    code: str
    inputs: list[str] = field(default_factory=list)


class HttpUssd:
    """USSD over the gateway's HTTP callback ``POST /ussd``, as an aggregator calls it: a ``sessionId`` per
    dial (prefixed with ``ids``: unique per run when attached), ``text`` every input so far joined by
    ``*``; the answer ``CON <screen>`` or ``END <screen>``. The convention has no abort: ``hang up`` sends
    nothing and the session stays on the gateway until it times out."""

    def __init__(self, http: aiohttp.ClientSession, url: str, *, ids: str = "") -> None:
        self._http = http
        self._url = url.rstrip("/") + "/ussd"
        self._ids = ids
        self._numbers = itertools.count(1)
        self._open: dict[str, _HttpSession] = {}
        self._screens: list[UssdScreen] = []

    async def dial(self, msisdn: str, code: str) -> None:
        session = self._open[msisdn] = _HttpSession(id=f"{self._ids}{msisdn}-{next(self._numbers)}", code=code)
        await self._post(msisdn, session)

    async def answer(self, msisdn: str, text: str) -> None:
        session = self._open.get(msisdn)
        if session is None:
            raise ChannelError(f"{msisdn} has no USSD session open")
        session.inputs.append(text)
        await self._post(msisdn, session)

    async def hang_up(self, msisdn: str) -> None:
        self._open.pop(msisdn, None)

    async def screens(self) -> list[UssdScreen]:
        return self._screens

    async def _post(self, msisdn: str, session: _HttpSession) -> None:
        form = {"sessionId": session.id, "serviceCode": session.code, "phoneNumber": msisdn}
        form["text"] = "*".join(session.inputs)
        async with self._http.post(self._url, data=form) as response:
            body = await response.text()
            status = response.status
        kind, _, text = body.partition(" ")
        if status == 200 and kind in ("CON", "END"):
            self._screens.append(UssdScreen(subscriber=msisdn, text=text, end=kind == "END"))
            return
        problem = f"POST /ussd answered {status}" if status != 200 else "the answer starts with neither CON nor END"
        self._screens.append(UssdScreen(subscriber=msisdn, text=body, end=True, problem=problem))


class NoUssdHttp:
    """Attached without the gateway's URL: a conversation over ``ussd http`` cannot dial."""

    async def dial(self, msisdn: str, code: str) -> None:
        raise ChannelError("ussd http needs the gateway's HTTP API, where POST /ussd is: --gateway-control URL")

    async def answer(self, msisdn: str, text: str) -> None:
        await self.dial(msisdn, "")

    async def hang_up(self, msisdn: str) -> None:
        await self.dial(msisdn, "")

    async def screens(self) -> list[UssdScreen]:
        return []


async def _body(response: aiohttp.ClientResponse) -> Any:
    body = await response.json(content_type=None)
    if response.status >= 400:
        raise ChannelError(f"{response.url.path}: {response.status} {body.get('message', body)}")
    return body
