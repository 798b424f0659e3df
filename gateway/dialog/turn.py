"""What a dialog step gets (a Turn) and gives back (a Step)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from commands.context import CommandContext
from gateway.dialog.machines import MACHINES
from gateway.dialog.records import DialogRecord
from gateway.store import Tx


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One subscriber message inside a dialog's transaction."""

    ctx: CommandContext
    tx: Tx
    now: float
    window: float  # seconds a dialog waits for the next reply

    def start(self, kind: str, **data: Any) -> DialogRecord:
        """A new dialog for this subscriber and service number, in its machine's first state, expiring
        after the window."""
        record = DialogRecord(
            msisdn=self.ctx.msisdn,
            service_number=self.ctx.catalog.service_number,
            kind=kind,
            data=data,
            expires_at=self.now + self.window,
        )
        MACHINES[kind](model=record)  # sets record.state to the machine's initial state
        return record


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """The answer, and the dialog as it stands after it (None: the dialog is over)."""

    text: str
    dialog: DialogRecord | None = None
    secret: bool = False  # the reply carried a password or an ID number: do not keep its text


Starter = Callable[[Turn, str], Awaitable[Step]]  # (turn, the catalog entry's argument)
Continuation = Callable[[Turn, DialogRecord], Awaitable[Step]]
