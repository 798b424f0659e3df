"""How a conversation reaches the SMSC, the clock and the admin API: in this process, or over HTTP.

Local: the conversation's own :class:`SmscSimulator` and gateway (with a manual clock). Attached: a
simulator's control API (``--smsc-control``) that a staging gateway is bound to, and that gateway's
clock control (``--gateway-control``) when it runs in manual-clock mode. Usage, payments and protective
restores (``usage``, ``pay``, ``restore``) always go through the gateway's admin API over HTTP
(:class:`AdminFeed`), with the runner's own token locally and a given one when attached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from gateway.clock import ManualClock
from gateway.errors import GatewayError
from gateway.ledger.calendar import Calendar
from gateway.smsc import Faults, SmscSimulator

REBIND_TIMEOUT = 5.0


class ChannelError(GatewayError):
    """The SMSC, the clock or the admin API could not do what a step asked."""


class Refused(ChannelError):
    """The admin API refused a request of a step (a 4xx other than an authentication failure)."""


class Smsc(Protocol):
    async def send(self, msisdn: str, service: str, text: str) -> None: ...
    async def answers(self) -> list[tuple[str, str]]: ...  # every MT so far: (destination, text), in order
    async def fault(self, action: str, value: int) -> None: ...


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

    async def answers(self) -> list[tuple[str, str]]:
        return [(mt.destination_addr, mt.text) for mt in self._sim.mts]

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
        self._seen: list[tuple[str, str]] = []
        self._next = 0

    async def start(self) -> None:
        """Only answers after this point belong to the conversation."""
        body = await self._get("/mt", since=str(1 << 62))
        self._next = int(body["next"])

    async def send(self, msisdn: str, service: str, text: str) -> None:
        await self._post("/mo", {"source_addr": msisdn, "destination_addr": service, "text": text})

    async def answers(self) -> list[tuple[str, str]]:
        body = await self._get("/mt", since=str(self._next))
        self._seen += [(mt["destination_addr"], mt["text"]) for mt in body["mts"]]
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


async def _body(response: aiohttp.ClientResponse) -> Any:
    body = await response.json(content_type=None)
    if response.status >= 400:
        raise ChannelError(f"{response.url.path}: {response.status} {body.get('message', body)}")
    return body
