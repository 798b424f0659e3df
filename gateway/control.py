"""Health, readiness, and the clock control of test and simulation mode.

In production (``gateway.clock = "system"``) the clock is the system clock and the control refuses to
move it; with ``gateway.clock = "manual"`` testers set and advance it (confirmation expiry, proration on
the 16th, reminders on fixed days become testable), and the time-based work runs at once after a move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.clock import Clock, ManualClock
from gateway.http import json_error, json_response
from gateway.ledger.calendar import Calendar

Readiness = Callable[[], Awaitable[str | None]]  # None when ready, else the reason


class Control:
    def __init__(
        self, *, clock: Clock, calendar: Calendar, on_moved: Callable[[], Awaitable[None]], readiness: Readiness
    ) -> None:
        self.clock = clock
        self.calendar = calendar
        self._on_moved = on_moved
        self._readiness = readiness

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/test/clock", self.get_clock),
            web.post("/test/clock", self.move_clock),
        ]

    async def healthz(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        reason = await self._readiness()
        if reason is not None:
            return json_response({"status": "not ready", "reason": reason}, status=503)
        return json_response({"status": "ready"})

    async def get_clock(self, request: web.Request) -> web.Response:
        return json_response(self._clock_state())

    async def move_clock(self, request: web.Request) -> web.Response:
        if not isinstance(self.clock, ManualClock):
            return json_error(409, "clock_not_movable", "the gateway runs on the system clock (gateway.clock = system)")
        try:
            body: Any = await request.json()
        except ValueError:
            return json_error(400, "bad_json", "the body must be JSON")
        if not isinstance(body, dict) or len(body) != 1 or not ({"advance", "at"} & body.keys()):
            return json_error(400, "bad_request", 'send {"advance": seconds} or {"at": "2026-12-11T09:00:00"}')
        try:
            if "advance" in body:
                seconds = body["advance"]
                if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                    raise ValueError("advance must be a number of seconds, 0 or more")
                self.clock.advance(float(seconds))
            else:
                self.clock.set(self.calendar.instant(datetime.fromisoformat(str(body["at"]))))
        except ValueError as exc:
            return json_error(400, "bad_field", str(exc))
        await self._on_moved()
        return json_response(self._clock_state())

    def _clock_state(self) -> dict[str, object]:
        now = self.clock.now()
        movable = isinstance(self.clock, ManualClock)
        return {"now": self.calendar.local(now).isoformat(), "epoch": now, "movable": movable}
