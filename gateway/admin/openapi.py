"""The admin API's route list and its OpenAPI 3.1 document, built from that list.

Every admin route is a :class:`Route`; the server is given exactly these routes and the document is made
from exactly these, with the request schemas of the :class:`~gateway.admin.validate.Body` each route
checks with, so the document cannot lose a route or describe a check that is not made.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.admin.validate import Body, Field
from gateway.errors import RefusalCode

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer a route can give: its description and the name of its body's schema."""

    description: str
    schema: str = "Error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    method: str
    path: str  # aiohttp's pattern, which is also OpenAPI's: /api/v1/subscribers/{msisdn}
    handler: Handler
    operation: str  # the OpenAPI operationId
    summary: str
    body: Body | None = None
    answers: Mapping[int, Answer] = field(default_factory=dict)

    def route_def(self) -> web.RouteDef:
        """The aiohttp route: exactly this method (no HEAD added to a GET: the document does not list one)."""
        extra = {"allow_head": False} if self.method == "GET" else {}
        return web.route(self.method, self.path, self.handler, **extra)


UNAUTHORIZED = Answer("no token, or not a valid one (Authorization: Bearer <token>)")


def document(
    routes: Sequence[Route], *, path_fields: Mapping[str, Field], schemas: Mapping[str, Any], version: str
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``; ``path_fields`` check the path parameters by name."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": _error_schema(), **schemas}
    for route in routes:
        if route.body is not None:
            components[route.body.name] = route.body.schema()
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, path_fields)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SMS self-service gateway: admin API",
            "version": version,
            "description": "Subscribers, payments, subscriptions and messages. Every call needs "
            "Authorization: Bearer <token> (a token of http.tokens). Errors are JSON with a stable code.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(route: Route, path_fields: Mapping[str, Field]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation, "summary": route.summary}
    names = _PARAMETER.findall(route.path)
    if names:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": dict(path_fields[name].schema)} for name in names
        ]
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body.name)}},
        }
    answers = {**route.answers, 401: UNAUTHORIZED}
    operation["responses"] = {
        str(status): {
            "description": answer.description,
            "content": {"application/json": {"schema": _ref(answer.schema)}},
        }
        for status, answer in sorted(answers.items())
    }
    return operation


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "every error: a stable code, a readable message, and the field at fault if one is",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": list(typing.get_args(RefusalCode))},
            "message": {"type": "string"},
            "field": {"type": "string"},
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
