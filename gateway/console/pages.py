"""The console's static files (``gateway/console/static/``): plain HTML, CSS and JavaScript, never cached."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}


def static_file(name: str) -> web.Response:
    path = STATIC / name
    return web.Response(
        body=path.read_bytes(), content_type=TYPES[path.suffix], charset="utf-8", headers={"Cache-Control": "no-store"}
    )
