"""MO → command: pick the service number's catalog, find the entry for the code, build the context."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from commands.normalize import normalize
from gateway.catalog import Catalog, CodeEntry
from gateway.clock import Clock
from gateway.context import Command, CommandContext
from gateway.credit.control import CreditControl
from gateway.dialog.machines import YES
from gateway.errors import LedgerError, SubscriberTerminated, UnknownSubscriber
from gateway.ledger.reads import Ledger
from gateway.templates import Templates
from gateway.types import InboundMessage, Reply

log = logging.getLogger("gateway.router")

# A command that stops on one of these ledger facts is answered with the fact's own template.
REFUSALS: dict[type[LedgerError], str] = {
    UnknownSubscriber: "not_a_subscriber",
    SubscriberTerminated: "subscriber_terminated",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where an MO goes: its catalog, the entry its code names (None: not a code), and its context."""

    catalog: Catalog
    entry: CodeEntry | None
    ctx: CommandContext


class Router:
    def __init__(
        self,
        *,
        catalogs: dict[str, Catalog],
        commands: dict[str, Command],
        templates: Templates,
        clock: Clock,
        ledger: Ledger,
        credit: CreditControl | None = None,
        business: frozenset[str] = frozenset(),
    ) -> None:
        self.catalogs = catalogs
        self.commands = commands
        self.business = business  # the commands that are a 业务, not a 查询
        self.templates = templates
        self.clock = clock
        self.ledger = ledger
        self.credit = credit

    def route(self, mo: InboundMessage) -> Route | None:
        """None for a service number we do not serve (logged: such an MO gets no answer)."""
        catalog = self.catalogs.get(mo.destination_addr)
        if catalog is None:
            log.warning(
                "mo for a service number we do not serve",
                extra={"mo_id": mo.id, "service_number": mo.destination_addr},
            )
            return None
        code = normalize(mo.text)
        ctx = self.context(mo.source_addr, catalog, code)
        return Route(catalog=catalog, entry=catalog.lookup(code), ctx=ctx)

    def context(self, msisdn: str, catalog: Catalog, text: str) -> CommandContext:
        """What a command gets for ``msisdn`` asking on ``catalog``'s number (SMS, or a USSD menu item)."""
        return CommandContext(
            msisdn=msisdn,
            catalog=catalog,
            text=text,
            templates=self.templates,
            clock=self.clock,
            ledger=self.ledger,
            credit=self.credit,
        )

    def reply(self, mo: InboundMessage, text: str) -> Reply:
        return Reply(text=text, destination_addr=mo.source_addr, source_addr=mo.destination_addr)

    async def answer(self, ctx: CommandContext, entry: CodeEntry | None) -> str:
        """The one plain-command path (SMS, in a unit of work; USSD menus): the entry's query command, or the
        help; refusals become their own answers."""
        if entry is None and ctx.text in YES:
            return self.templates.render("nothing_to_confirm")  # a late or stray 是/Y: say so, not the help
        command = self.commands[entry.command if entry is not None and entry.command in self.commands else "help"]
        try:
            return await command(ctx)
        except LedgerError as refusal:
            return self.refusal(refusal)

    def is_business(self, entry: CodeEntry | None) -> bool:
        """Whether the entry's command is a 业务 (an order, a cancellation, a password…), not a 查询."""
        return entry is not None and entry.command in self.business

    def refusal(self, refusal: LedgerError, *, business: bool = False) -> str:
        """The answer to a number that may not ask: worded for a 业务 or for a 查询."""
        template = REFUSALS.get(type(refusal))
        if template is None:
            raise refusal
        return self.templates.render(template + ("_business" if business else ""))
