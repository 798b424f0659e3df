"""The admin API's bearer tokens: every call under ``/api/v1/`` needs ``Authorization: Bearer <token>``.

The tokens of ``http.tokens`` are kept only as SHA-256 digests, taken at start; a presented token is
hashed and compared with each digest by :func:`hmac.compare_digest`, all of them every time. A call
without a token or with a wrong one is answered 401 ``unauthorized`` and counted in :attr:`refused`. No
token (presented or configured) is ever logged. With no tokens configured every admin call is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from gateway.admin.answers import Handler, is_admin, refusal

SCHEME = "bearer"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenAuth:
    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = tuple(_digest(token) for token in tokens)
        self.refused = 0  # admin calls answered 401 (no token, a malformed header, or a wrong token)

    @property
    def configured(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries one of the tokens."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != SCHEME or not token:
            return False
        presented = _digest(token)
        matched = False
        for digest in self._digests:  # no early exit: every digest is compared every time
            matched |= hmac.compare_digest(presented, digest)
        return matched

    def middleware(self) -> Any:
        """The aiohttp middleware that refuses admin calls without a good token (others pass untouched)."""

        @web.middleware
        async def bearer_token(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not is_admin(request) or self.allows(request.headers.get("Authorization")):
                return await handler(request)
            self.refused += 1
            answer = refusal(401, "unauthorized", "send a valid token: Authorization: Bearer <token>")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="gateway admin API"'
            return answer

        return bearer_token
