"""What a dialog step gets (a Turn) and gives back (a Step)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.context import CommandContext
from gateway.db.unit import Tx
from gateway.dialog.machines import TRANSITIONS
from gateway.dialog.records import DialogRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class Hashed:
    """The slow hashing of the reply's text (PBKDF2, about 50 ms each), done before its transaction so the
    writer's batch never waits for it. Each result is keyed by what it was worked out from: a step uses one
    only if that is still what it finds in the transaction, and works out anything else there."""

    matches: Mapping[str, bool] = field(default_factory=dict)  # stored hash → whether the text matches it
    fresh: str | None = None  # a new salted hash of the text


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One subscriber message inside a dialog's transaction."""

    ctx: CommandContext
    tx: Tx
    now: float
    window: float  # seconds a dialog waits for the next reply
    hashed: Hashed = field(default_factory=Hashed)  # worked out before the transaction (see Preparation)

    @property
    def minutes(self) -> int:
        """The window in whole minutes, as prompts say it ("请在30分钟内回复"): 1 at least."""
        return max(1, round(self.window / 60))

    def start(self, kind: str, **data: Any) -> DialogRecord:
        """A new dialog for this subscriber and service number, in its machine's first state, expiring
        after the window."""
        record = DialogRecord(
            msisdn=self.ctx.msisdn,
            service_number=self.ctx.catalog.service_number,
            kind=kind,
            data=data,
            expires_at=self.now + self.window,
            state=TRANSITIONS[kind].initial,
        )
        return record


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """The answer, and the dialog as it stands after it (None: the dialog is over)."""

    text: str
    dialog: DialogRecord | None = None
    secret: bool = False  # the reply carried a password or an ID number: do not keep its text


Starter = Callable[[Turn, str], Awaitable[Step]]  # (turn, the catalog entry's argument)
Continuation = Callable[[Turn, DialogRecord], Awaitable[Step]]
Preparation = Callable[[CommandContext, DialogRecord, float], Awaitable[Hashed]]
"""(context, the dialog as committed, now): the hashing the reply's continuation will need, worked out
outside the writer, before the transaction; the continuation gets it as ``turn.hashed``."""
