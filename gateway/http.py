"""The gateway's one HTTP server (aiohttp). Routes come from the modules that own them, listed in app.py.

- :mod:`gateway.control`: ``/healthz``, ``/readyz`` and, in test mode, the clock (``/test/clock``);
- :mod:`gateway.metrics`: ``/metrics``;
- :mod:`gateway.admin`: the admin API under ``/api/v1/`` (behind a bearer token).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from aiohttp import web

from gateway.errors import StartupError

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body taken (413 above): a full usage batch, 10,000 records, is 1.2–3 MB of JSON."""


def json_response(data: object, *, status: int = 200) -> web.Response:
    """JSON with Chinese left readable."""
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def json_error(status: int, code: str, message: str) -> web.Response:
    """Every error the HTTP side gives: a stable ``code`` and a readable ``message``."""
    return json_response({"code": code, "message": message}, status=status)


class HttpServer:
    def __init__(self, routes: Sequence[web.RouteDef], middlewares: Sequence[object] = ()) -> None:
        self._routes = list(routes)
        self._middlewares = list(middlewares)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def routes(self) -> list[web.RouteDef]:
        return list(self._routes)

    async def start(self, host: str, port: int) -> None:
        app = web.Application(middlewares=self._middlewares, client_max_size=MAX_BODY_BYTES)  # type: ignore[arg-type]
        app.add_routes(self._routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise StartupError(f"cannot listen on {host}:{port}: {reason}") from exc
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
