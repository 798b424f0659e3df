"""``POST /ussd``: USSD through an aggregator's HTTP callback (docs/ussd.md).

The common convention: form fields ``sessionId``, ``serviceCode``, ``phoneNumber`` and ``text``, the
subscriber's inputs so far joined by ``*`` (empty when the session begins); the answer is
``text/plain``, ``CON <screen>`` to go on or ``END <screen>`` to close.

The new input is what follows the text of the session's previous request (plus its ``*``), not the last
``*``-separated field, so an input that itself contains ``*`` arrives whole. A request that repeats the
previous one (an aggregator's retry) gets the same screen again and does nothing twice, also when it
arrives while the original is still being answered (a session's requests are answered one at a time). A
session the gateway does not know with inputs already (it restarted, or the session timed out) is told
it timed out.

A session belongs to the number that opened it: a request with its ``sessionId`` from another
``phoneNumber`` (while it is open, or ended within the time-out) is refused with an ``END`` and logged, and
changes nothing, so the session goes on for its own number. The service code is checked before the session
is looked up: a request with another code is refused the same way, leaving the session as it was.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.templates import Templates
from gateway.ussd.service import UssdAnswer, UssdSessions

log = logging.getLogger("gateway.ussd")

MAX_FIELD = 200


def caller(number: str) -> str:
    """``+8613800138000`` / ``8613800138000`` / ``13800138000`` → ``13800138000``."""
    digits = "".join(c for c in number if c.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


class UssdHttp:
    def __init__(self, *, sessions: UssdSessions, templates: Templates) -> None:
        self._sessions = sessions
        self._templates = templates
        # One request of a session at a time: a retry sent while the original is still being answered
        # waits for it, then gets its screen (not the one before). A lock goes once nobody holds it.
        self._busy: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/ussd", self.callback)]

    async def callback(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await request.post()
        except (ValueError, LookupError, HttpProcessingError):  # not UTF-8, an unknown charset, broken multipart
            return web.Response(status=400, text="END bad request: not a readable form", content_type="text/plain")
        fields = {name: str(form.get(name, "")) for name in ("sessionId", "serviceCode", "phoneNumber", "text")}
        missing = [name for name in ("sessionId", "serviceCode", "phoneNumber") if not fields[name].strip()]
        if missing or any(len(v) > MAX_FIELD for v in fields.values()):
            problem = f"missing {', '.join(missing)}" if missing else f"a field longer than {MAX_FIELD} characters"
            return web.Response(status=400, text=f"END bad request: {problem}", content_type="text/plain")
        lock = self._busy.setdefault(fields["sessionId"], asyncio.Lock())
        key = f"http:{fields['sessionId']}"
        async with lock:
            await self._sessions.sync(key)  # on a shared ledger the last request may have reached another instance
            answer = await self._answer(
                key, fields["sessionId"], fields["serviceCode"], caller(fields["phoneNumber"]), fields["text"]
            )
            await self._sessions.keep(key)
        return web.Response(text=("END " if answer.end else "CON ") + answer.text, content_type="text/plain")

    async def _answer(self, key: str, session_id: str, code: str, msisdn: str, text: str) -> UssdAnswer:
        sessions = self._sessions
        if code.replace(" ", "") != sessions.service_code:
            return UssdAnswer(text=self._templates.render("ussd_unknown_code"), end=True)
        session = sessions.get(key) or sessions.ended(key)
        if session is not None and session.msisdn != msisdn:
            log.warning(
                "ussd session of another number",
                extra={"msisdn": msisdn, "opened_by": session.msisdn, "session_id": session_id},
            )
            return UssdAnswer(
                text=self._templates.render("ussd_session_mismatch", code=sessions.service_code), end=True
            )
        if session is not None and text == session.last_input:  # a retry of the previous request
            shown, end = session.last_reply
            return UssdAnswer(text=shown, end=end)
        if session is None or session.state == "closed":
            if text:
                return UssdAnswer(text=self._templates.render("ussd_expired", code=sessions.service_code), end=True)
            return sessions.begin(key, msisdn)
        previous = session.last_input
        if not previous:
            new = text
        elif text.startswith(previous + "*"):
            new = text[len(previous) + 1 :]
        else:  # not an extension of the previous text: take its last field
            new = text.rsplit("*", 1)[-1]
        session.last_input = text
        answer = await sessions.input(session, new)
        if answer is None:  # the session timed out while this input was worked on
            return UssdAnswer(text=self._templates.render("ussd_expired", code=sessions.service_code), end=True)
        return answer
