"""What the reminder queue holds, shared by the sender and the persistence package (no database here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """A pending reminder whose time has come."""

    id: int
    msisdn: str
    kind: str
    trigger: str
