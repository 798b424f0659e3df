"""What a command gets: who asks, on which service number, what they sent, the ledger and the templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.catalog import Catalog
from gateway.clock import Clock
from gateway.db.unit import Reads
from gateway.errors import SubscriberTerminated
from gateway.ledger.reads import Ledger
from gateway.model.ledger import Account, Subscriber
from gateway.templates import Templates

if TYPE_CHECKING:
    from gateway.credit.control import CreditControl


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandContext:
    msisdn: str
    catalog: Catalog
    text: str  # normalised
    templates: Templates
    clock: Clock
    ledger: Ledger
    credit: CreditControl | None = None  # for the commands that change credit state (JJKJ)

    def within(self, tx: Reads) -> CommandContext:
        """The same context, its ledger reading in ``tx`` (what a step reads, it reads in its own transaction)."""
        return CommandContext(
            msisdn=self.msisdn,
            catalog=self.catalog,
            text=self.text,
            templates=self.templates,
            clock=self.clock,
            ledger=self.ledger.within(tx),
            credit=self.credit,
        )

    def render(self, template: str, /, **values: object) -> str:
        return self.templates.render(template, **values)

    def moment(self, instant: float) -> str:
        """``instant`` as answers say a time to the minute (template ``moment``: 12月1日9时05分)."""
        local = self.ledger.calendar.local(instant)
        return self.render("moment", month=local.month, day=local.day, hour=local.hour, minute=local.minute)

    async def holder(self) -> tuple[Subscriber, Account]:
        """The asking subscriber and their account, if they may be told about it.

        Raises UnknownSubscriber for a number that is not ours and SubscriberTerminated for a closed one;
        the router answers both with their own templates, so no figure leaks.
        """
        subscriber, account = await self.ledger.subscriber(self.msisdn)
        if subscriber.status == "terminated":
            raise SubscriberTerminated(self.msisdn)
        return subscriber, account


Command = Callable[[CommandContext], Awaitable[str]]
