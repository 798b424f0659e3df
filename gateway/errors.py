"""Every error the gateway raises on purpose, named once.

Split by whose fault it is, as h11 does: the peer's (``RemoteProtocolError``), ours
(``LocalProtocolError``), or the operator's (``ConfigError``).
"""

from __future__ import annotations

from typing import Literal


class GatewayError(Exception):
    """Base of all errors raised on purpose by the gateway."""


class ConfigError(GatewayError):
    """The configuration is invalid; the message names the key and the problem."""


class StartupError(GatewayError):
    """The gateway cannot start: a port is taken, the ledger cannot be opened. The message names it."""


class ProtocolError(GatewayError):
    """An SMPP rule was broken. ``command_status`` is the status to answer with."""

    def __init__(self, message: str, *, command_status: int, sequence_number: int | None = None) -> None:
        super().__init__(message)
        self.command_status = command_status
        self.sequence_number = sequence_number


class RemoteProtocolError(ProtocolError):
    """The SMSC (or the ESME, seen from the simulator) sent something invalid."""


class FramingError(RemoteProtocolError):
    """The byte stream cannot be split into PDUs any more: the link must be reset."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the SMPP state rules forbid (e.g. submit while unbound)."""


class MessageTooLong(GatewayError):
    """A text needs more than 255 concatenated parts."""


class NotYourTurn(Exception):
    """A subscriber's MO that must wait: another instance is handling that subscriber, or has an earlier MO
    of theirs in hand (see :func:`gateway.db.messages.take_turn`). Its unit wrote nothing; it is tried again."""


class LedgerError(GatewayError):
    """A ledger fact does not allow what was asked."""


class UnknownSubscriber(LedgerError):
    """The number is not a subscriber of this operator."""


class SubscriberTerminated(LedgerError):
    """The number was closed (销户): nothing about it is told any more."""


class ImportRejected(LedgerError):
    """Subscribers could not be loaded and nothing was written; ``problems`` names each one.

    Each problem is one line such as ``"line 7: balance '12.345' has more than 2 decimals"`` (the header of
    a CSV file is line 1). Problems never quote a password or an ID number.
    """

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''}: " + "; ".join(problems[:3]))
        self.problems = problems


class SubscriberSuspended(LedgerError):
    """The number is suspended (停机): it may query and pay, not order."""


class InsufficientFunds(LedgerError):
    """The available balance does not cover a charge; ``shortfall`` fen are missing."""

    def __init__(self, msisdn: str, *, shortfall: int, available: int) -> None:
        super().__init__(f"{msisdn}: {shortfall} fen short")
        self.shortfall = shortfall
        self.available = available


class AlreadySubscribed(LedgerError):
    """The subscriber already has this package."""


class NotEnoughPoints(LedgerError):
    """A points exchange costs more points than the subscriber has."""

    def __init__(self, msisdn: str, *, have: int, need: int) -> None:
        super().__init__(f"{msisdn}: {need} points needed, {have} held")
        self.have = have
        self.need = need


class NotSubscribed(LedgerError):
    """The subscriber does not have this package (or has already cancelled it)."""


RefusalCode = Literal[
    "unauthorized",
    "bad_json",
    "bad_field",
    "unknown_field",
    "not_found",
    "method_not_allowed",
    "conflict",
    "terminated",
    "too_large",
    "internal",
]
"""The stable ``code`` of every refusal the admin API gives (its OpenAPI document lists them from here)."""


class RequestRefused(GatewayError):
    """An admin API request that cannot be done as asked: answered ``status`` with ``code`` and the message.

    ``field`` names the body field (or path parameter) at fault, when there is one.
    """

    def __init__(self, status: int, code: RefusalCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code: RefusalCode = code
        self.field = field


class ProtectRefused(LedgerError):
    """A protective restore (紧急开机) cannot be given: ``reason`` says why."""

    def __init__(self, msisdn: str, reason: str, *, until: float | None = None) -> None:
        super().__init__(f"{msisdn}: protective restore refused: {reason}")
        self.reason = reason  # not_suspended | already_protected | by_operator | voluntary | too_soon | terminated
        self.until = until  # already_protected: when the running one ends
