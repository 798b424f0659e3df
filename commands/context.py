"""What a command gets: who asks, on which service number, what they sent, and the reply templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.catalog import Catalog
from gateway.clock import Clock
from gateway.templates import Templates


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandContext:
    msisdn: str
    catalog: Catalog
    text: str  # normalised
    templates: Templates
    clock: Clock


Command = Callable[[CommandContext], Awaitable[str]]
