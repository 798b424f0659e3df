"""Domain types named once: money, data, addresses and the messages that flow through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

Fen = NewType("Fen", int)
"""Money: integer fen (1 yuan = 100 fen). Formatted only at the edge."""

KB = NewType("KB", int)
"""Data volume: integer kilobytes."""

Msisdn = NewType("Msisdn", str)
"""A subscriber's phone number as received (digits, no '+')."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """A mobile-originated message, stored in the inbox and handed to a handler."""

    id: int
    source_addr: str
    destination_addr: str
    text: str
    received_at: float
    complete: bool = True  # every part of a concatenated MO came
    too_long: bool = False  # longer than gateway.max_mo_octets: the text is cut, and the answer says so
    redelivery_of: int | None = None  # the stored MO this may be the SMSC's second delivery of


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One answer a handler wants sent. The source address defaults to the MO's service number."""

    text: str
    destination_addr: str
    source_addr: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """A mobile-terminated message in the outbox, to be split into parts and submitted."""

    id: int
    source_addr: str
    destination_addr: str
    text: str
