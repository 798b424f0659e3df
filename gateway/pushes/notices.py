"""The notice of a credit-control transition (suspension, restore, …), raised as a reminder."""

from __future__ import annotations

from gateway.credit.control import Transition
from gateway.db.unit import Tx
from gateway.pushes.policy import NOTICE_OF_STATE, PushPolicy
from gateway.pushes.queue import raise_push


class StateNotices:
    """:class:`gateway.credit.control.Notices` as reminders: one per status change, by its id."""

    def __init__(self, policy: PushPolicy) -> None:
        self.policy = policy

    async def transition(self, tx: Tx, transition: Transition, *, now: float) -> None:
        kind = NOTICE_OF_STATE[transition.target]
        await raise_push(tx, self.policy, transition.msisdn, kind, f"change:{transition.change_id}", now=now)
