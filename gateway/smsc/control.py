"""The simulator's HTTP control API (aiohttp, JSON, 127.0.0.1 only), for the demo and human testers.

Routes are listed once in :meth:`ControlServer.routes`. A bad request, or a failed action (no receiver
bound, no answer in time), is answered 400 with ``{"code": ..., "message": ...}``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from gateway.smsc.core import Faults
from gateway.smsc.mts import Mt

if TYPE_CHECKING:
    from gateway.smsc.server import SmscSimulator

CONTROL_HOST = "127.0.0.1"


def _json(data: object, *, status: int = 200) -> web.Response:
    """JSON with Chinese left readable (``curl`` shows 余额, not \\u4f59\\u989d)."""
    return web.json_response(data, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False))


T = TypeVar("T")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FAULT_TYPES: dict[str, type] = {
    f.name: {"int": int, "float": float, "bool": bool, "str": str}[str(f.type)] for f in dataclasses.fields(Faults)
}


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error(code: str, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=400)


@web.middleware
async def _errors_as_json(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(exc.code, str(exc))
    except TimeoutError as exc:
        return _error("timeout", str(exc) or "no answer in time")
    except ConnectionError as exc:
        return _error("not_connected", str(exc))
    except ValueError as exc:
        return _error("invalid", str(exc))


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("bad_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("bad_json", "the body must be a JSON object")
    return body


def _typed(value: object, kind: type[T], name: str) -> T:
    """``value`` if it is a ``kind`` (an int is also a float; a bool is not an int)."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest("bad_field", f"{name} must be {kind.__name__}")
    return value


def _required(body: Mapping[str, object], name: str, kind: type[T]) -> T:
    if name not in body:
        raise BadRequest("missing_field", f"{name} is required")
    return _typed(body[name], kind, name)


def _optional(body: Mapping[str, object], name: str, kind: type[T], default: T) -> T:
    return _typed(body[name], kind, name) if name in body and body[name] is not None else default


def _optional_int(body: Mapping[str, object], name: str) -> int | None:
    return None if body.get(name) is None else _typed(body[name], int, name)


def mt_json(mt: Mt) -> dict[str, Any]:
    """An MT as JSON; a USSD one shows the operation code it was sent with and its its_session_info (hex)."""
    fields = {f.name: getattr(mt, f.name) for f in dataclasses.fields(mt) if f.name != "tlvs"}
    info = mt.its_session_info
    return fields | {
        "message_ids": list(mt.message_ids),
        "ussd_service_op": mt.ussd_service_op,
        "its_session_info": info.hex() if info is not None else None,
    }


def faults_json(faults: Faults) -> dict[str, Any]:
    return {name: getattr(faults, name) for name in _FAULT_TYPES}


def _changed_faults(faults: Faults, changes: Mapping[str, object]) -> Faults:
    """A copy of ``faults`` with ``changes`` applied, once every name, type and range is right."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        kind = _FAULT_TYPES.get(name)
        if kind is None:
            raise BadRequest("unknown_field", f"{name} is not a fault; faults are {sorted(_FAULT_TYPES)}")
        checked[name] = _typed(value, kind, name)
    changed = dataclasses.replace(faults, **checked)
    if changed.throttle_every < 0 or changed.respond_delay < 0:
        raise BadRequest("bad_field", "throttle_every and respond_delay must not be negative")
    if changed.refuse_binds < -1:
        raise BadRequest("bad_field", "refuse_binds must be -1 (all), 0 or a count")
    return changed


class ControlServer:
    """The HTTP control API of one simulator."""

    def __init__(self, simulator: SmscSimulator) -> None:
        self._simulator = simulator
        self._runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/mo", self.post_mo),
            web.get("/mt", self.get_mt),
            web.post("/faults", self.post_faults),
            web.post("/drop", self.post_drop),
            web.post("/garbage", self.post_garbage),
            web.post("/receipt", self.post_receipt),
            web.post("/ussd", self.post_ussd),
            web.post("/enquire_link", self.post_enquire_link),
            web.get("/status", self.get_status),
        ]

    async def start(self, port: int) -> str:
        """Listen on 127.0.0.1:``port`` (0 = a free port); the base URL."""
        app = web.Application(middlewares=[_errors_as_json])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, CONTROL_HOST, port).start()
        bound_port = self._runner.addresses[0][1]
        return f"http://{CONTROL_HOST}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def post_mo(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        drop_parts = _optional(body, "drop_parts", list, [])
        statuses = await self._simulator.send_mo(
            _required(body, "source_addr", str),
            _required(body, "destination_addr", str),
            _required(body, "text", str),
            concat=_optional(body, "concat", str, "udh8"),
            drop_parts=[_typed(n, int, "drop_parts[]") for n in drop_parts],
            reference=_optional_int(body, "reference"),
            data_coding=_optional_int(body, "data_coding"),
        )
        return _json({"statuses": statuses})

    async def post_ussd(self, request: web.Request) -> web.Response:
        """A USSD deliver_sm: {source_addr, destination_addr, text, op, session[, sequence, end]}."""
        body = await _json_object(request)
        status = await self._simulator.send_ussd(
            _required(body, "source_addr", str),
            _required(body, "destination_addr", str),
            _required(body, "text", str),
            op=_required(body, "op", int),
            session=_required(body, "session", int),
            sequence=_optional(body, "sequence", int, 0),
            end=_optional(body, "end", bool, False),
        )
        return _json({"status": status})

    async def get_mt(self, request: web.Request) -> web.Response:
        destination_addr = request.query.get("destination_addr") or None
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            raise BadRequest("bad_field", "since must be an integer") from None
        if since < 0:
            raise BadRequest("bad_field", "since must not be negative")
        mts = self._simulator.mts
        selected = [
            mt_json(mt) for mt in mts[since:] if destination_addr is None or mt.destination_addr == destination_addr
        ]
        return _json({"mts": selected, "next": len(mts)})

    async def post_faults(self, request: web.Request) -> web.Response:
        faults = self._simulator.faults
        changed = _changed_faults(faults, await _json_object(request))
        for name in _FAULT_TYPES:  # in place: whoever holds the Faults object sees the change
            setattr(faults, name, getattr(changed, name))
        return _json(faults_json(faults))

    async def post_drop(self, request: web.Request) -> web.Response:
        await self._simulator.drop_connections()
        return _json({})

    async def post_garbage(self, request: web.Request) -> web.Response:
        text = _required(await _json_object(request), "hex", str)
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise BadRequest("bad_field", "hex must be hexadecimal octets") from None
        await self._simulator.send_garbage(data)
        return _json({})

    async def post_receipt(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        status = await self._simulator.send_receipt(
            _required(body, "message_id", str),
            stat=_optional(body, "stat", str, "DELIVRD"),
            id_format=_optional(body, "id_format", str, "hex"),
            use_tlv=_optional(body, "use_tlv", bool, True),
        )
        return _json({"status": status})

    async def post_enquire_link(self, request: web.Request) -> web.Response:
        await self._simulator.send_enquire_link()
        return _json({})

    async def get_status(self, request: web.Request) -> web.Response:
        simulator = self._simulator
        return _json(
            {
                "bound": len(simulator.sessions),
                "submits": simulator.submits,
                "mts": len(simulator.mts),
                "binds": simulator.binds,
            }
        )
