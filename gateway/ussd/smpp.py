"""USSD over the SMPP link: deliver_sm with ``ussd_service_op`` in, submit_sm with it out (docs/ussd.md).

A deliver_sm carrying ``ussd_service_op`` is a USSD event, not an SMS: it is acknowledged at once (a USSD
session lives only as long as the network keeps it open, so it is not stored), and answered by one
submit_sm with the operation code of the profile (``config/ussd/profiles.toml``: a menu wants an answer,
the last screen closes) and the same ``its_session_info``, carried back unchanged. A deliver_sm whose
``its_session_info`` has the end-of-session bit set (the subscriber aborted, the network released it)
ends the session without an answer.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError
from gateway.link import DeliverHandle, Link
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, Status, Tag, status_name
from gateway.smpp.text import decode_payload, gsm_encode
from gateway.tasks import Background
from gateway.templates import Templates
from gateway.ussd.service import UssdAnswer, UssdSessions

log = logging.getLogger("gateway.ussd")


@dataclass(frozen=True, slots=True, kw_only=True)
class UssdOps:
    begin: int  # deliver_sm: a session starts (PSSR indication)
    answer: int  # deliver_sm: the subscriber's answer (USSR confirm)
    menu: int  # submit_sm: a screen that wants an answer (USSR request)
    close: int  # submit_sm: the last screen (PSSR response)

    @classmethod
    def load(cls, path: Path, profile: str) -> UssdOps:
        where = f"ussd.profile: {path}"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read: {exc}") from None
        if profile not in raw:
            raise ConfigError(f"ussd.profile: {profile!r} is not one of the profiles in {path} ({', '.join(raw)})")
        try:
            ops = cls(**{name: int(raw[profile][name]) for name in ("begin", "answer", "menu", "close")})
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: profile {profile!r}: {exc}") from None
        if not all(0 <= v <= 255 for v in (ops.begin, ops.answer, ops.menu, ops.close)):
            raise ConfigError(f"{where}: profile {profile!r}: operation codes are one octet (0 to 255)")
        return ops


class UssdSmpp:
    def __init__(self, *, sessions: UssdSessions, link: Link, ops: UssdOps, templates: Templates) -> None:
        self._sessions = sessions
        self._link = link
        self._ops = ops
        self._templates = templates
        self._tasks = Background("ussd")
        self._next_ref = -1  # the outbox's refs are positive: these never meet them

    @staticmethod
    def wants(message: ShortMessage) -> bool:
        return message.tlv(Tag.ussd_service_op) is not None

    def deliver(self, handle: DeliverHandle, message: ShortMessage) -> None:
        self._link.answer_deliver(handle, Status.ESME_ROK)
        self._tasks.spawn(self._handle(message))

    def settled(self, ref: int, refused: int | None = None) -> bool:
        """Whether ``ref`` is one of ours (a submit_sm_resp for a USSD screen): the link forgets it. A screen
        the SMSC refused for good (``refused``: its command_status) is logged; it is not sent again."""
        if ref >= 0:
            return False
        self._link.forget(ref)
        if refused is not None:
            log.warning("ussd screen refused by the smsc", extra={"status": status_name(refused)})
        return True

    async def drain(self) -> None:
        await self._tasks.wait()

    async def _handle(self, message: ShortMessage) -> None:
        answer: UssdAnswer | None
        op = (message.tlv(Tag.ussd_service_op) or b"\xff")[0]
        info = message.tlv(Tag.its_session_info)
        msisdn = message.source_addr
        key = f"smpp:{msisdn}:{info[0] if info else ''}"
        if info is not None and len(info) >= 2 and info[1] & 1:
            await self._sessions.released(key)  # an abort or a release: nothing to answer
            return
        await self._sessions.sync(key)  # on a shared ledger its last PDU may have reached another instance
        text = decode_payload(message.data_coding, message.short_message)
        if op == self._ops.begin:
            if text.strip().replace(" ", "") != self._sessions.service_code:
                answer = UssdAnswer(text=self._templates.render("ussd_unknown_code"), end=True)
            else:
                answer = self._sessions.begin(key, msisdn)
        elif op == self._ops.answer:
            session = self._sessions.get(key)
            if session is None:
                code = self._sessions.service_code
                answer = UssdAnswer(text=self._templates.render("ussd_expired", code=code), end=True)
            else:
                answer = await self._sessions.input(session, text)
        else:
            log.warning("ussd operation not handled", extra={"msisdn": msisdn, "op": op})
            return
        await self._sessions.keep(key)
        if answer is not None:  # None: the session was ended while its input was worked on
            self._send(message, answer, info)

    def _send(self, message: ShortMessage, answer: UssdAnswer, info: bytes | None) -> None:
        septets = gsm_encode(answer.text)
        if septets is not None:
            coding, payload = DataCoding.SMSC_DEFAULT, septets
        else:
            coding, payload = DataCoding.UCS2, answer.text.encode("utf-16-be")
        tlvs = [(Tag.ussd_service_op, bytes([self._ops.close if answer.end else self._ops.menu]))]
        if info is not None:
            tlvs.append((Tag.its_session_info, info))
        ref = self._next_ref
        self._next_ref -= 1
        self._link.submit(
            ref,
            ShortMessage(
                service_type=message.service_type,
                source_addr=message.destination_addr,
                dest_addr_ton=message.source_addr_ton,
                dest_addr_npi=message.source_addr_npi,
                destination_addr=message.source_addr,
                data_coding=coding,
                short_message=payload[:254],
                tlvs=tuple(tlvs),
            ),
        )
