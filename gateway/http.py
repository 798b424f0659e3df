"""The gateway's own HTTP server (aiohttp): health, and the clock control of test and simulation mode.

Routes are listed once in :func:`routes`. In production (``gateway.clock = "system"``) the clock is the
system clock and the control refuses to move it; with ``gateway.clock = "manual"`` testers set and
advance it (confirmation expiry, proration on the 16th, reminders on fixed days become testable).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.clock import Clock, ManualClock
from gateway.ledger.calendar import Calendar


def _json(data: object, *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)


class ControlApi:
    def __init__(self, *, clock: Clock, calendar: Calendar, on_moved: Callable[[], Awaitable[None]]) -> None:
        self.clock = clock
        self.calendar = calendar
        self._on_moved = on_moved  # time-based work (dialog expiry) runs at once after a move
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/api/v1/clock", self.get_clock),
            web.post("/api/v1/clock", self.move_clock),
        ]

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def get_clock(self, request: web.Request) -> web.Response:
        return _json(self._clock_state())

    async def move_clock(self, request: web.Request) -> web.Response:
        if not isinstance(self.clock, ManualClock):
            return _error(409, "clock_not_movable", "the gateway runs on the system clock (gateway.clock = system)")
        try:
            body: Any = await request.json()
        except ValueError:
            return _error(400, "bad_json", "the body must be JSON")
        if not isinstance(body, dict) or len(body) != 1 or not ({"advance", "at"} & body.keys()):
            return _error(400, "bad_request", 'send {"advance": seconds} or {"at": "2026-12-11T09:00:00"}')
        try:
            if "advance" in body:
                seconds = body["advance"]
                if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                    raise ValueError("advance must be a number of seconds, 0 or more")
                self.clock.advance(float(seconds))
            else:
                at = datetime.fromisoformat(str(body["at"]))
                at = at if at.tzinfo is not None else at.replace(tzinfo=self.calendar.zone)
                self.clock.set(at.timestamp())
        except ValueError as exc:
            return _error(400, "bad_field", str(exc))
        await self._on_moved()
        return _json(self._clock_state())

    def _clock_state(self) -> dict[str, object]:
        now = self.clock.now()
        return {
            "now": self.calendar.local(now).isoformat(),
            "epoch": now,
            "movable": isinstance(self.clock, ManualClock),
        }
