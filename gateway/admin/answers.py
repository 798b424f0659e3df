"""How the admin API answers when it cannot do what was asked: JSON ``{"code", "message", "field"?}``.

:func:`errors_as_json` turns every failure under ``/api/v1/`` into that shape: a
:class:`~gateway.errors.RequestRefused`, a ledger refusal (an unknown number is 404, a terminated one
409), aiohttp's own 404/405/413, and an unexpected exception (500, logged, its text not sent). The message and
field are made safe to encode first (a lone surrogate from the request becomes its escape), so a refusal
never turns into a plain-text 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.admin.validate import safe
from gateway.errors import RefusalCode, RequestRefused, SubscriberTerminated, UnknownSubscriber
from gateway.http import json_response

log = logging.getLogger("gateway.admin")

PREFIX = "/api/v1/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES: dict[int, RefusalCode] = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def is_admin(request: web.Request) -> bool:
    """Whether the request is for the admin API (its path is under ``/api/v1/``)."""
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")


def refusal(status: int, code: RefusalCode, message: str, *, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"code": code, "message": safe(message)}
    if field is not None:
        body["field"] = safe(field)
    return json_response(body, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_admin(request):
        return await handler(request)
    try:
        return await handler(request)
    except RequestRefused as refused:
        return refusal(refused.status, refused.code, str(refused), field=refused.field)
    except UnknownSubscriber as unknown:
        return refusal(404, "not_found", f"{unknown} is not a subscriber")
    except SubscriberTerminated as terminated:
        return refusal(409, "terminated", f"{terminated} is terminated (销户): it takes no payments or messages")
    except web.HTTPException as http:
        code = _HTTP_CODES.get(http.status)
        if code is None:
            raise
        message = f"{request.method} {request.path}: {http.reason.lower()}"
        answer = refusal(http.status, code, message)
        if isinstance(http, web.HTTPMethodNotAllowed):
            answer.headers["Allow"] = ", ".join(sorted(http.allowed_methods))
        return answer
    except Exception:
        log.exception("admin request failed", extra={"method": request.method, "path": request.path})
        return refusal(500, "internal", "the gateway could not do this; the error is in its log")
