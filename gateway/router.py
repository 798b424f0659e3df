"""MO → reply: pick the service number's catalog, find the command for the code, run it."""

from __future__ import annotations

import logging

from commands.context import Command, CommandContext
from commands.normalize import normalize
from gateway.catalog import Catalog
from gateway.clock import Clock
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


class Router:
    def __init__(
        self,
        *,
        catalogs: dict[str, Catalog],
        commands: dict[str, Command],
        templates: Templates,
        clock: Clock,
        ledger: Ledger,
    ) -> None:
        self.catalogs = catalogs
        self.commands = commands
        self.templates = templates
        self.clock = clock
        self.ledger = ledger

    async def handle(self, mo: InboundMessage) -> list[Reply]:
        """The replies to one MO; none for a service number we do not serve."""
        catalog = self.catalogs.get(mo.destination_addr)
        if catalog is None:
            log.warning(
                "mo for a service number we do not serve",
                extra={"mo_id": mo.id, "service_number": mo.destination_addr},
            )
            return []
        if not mo.complete:
            text = self.templates.render("incomplete_message")
        else:
            text = await self._run(mo, catalog)
        return [Reply(text=text, destination_addr=mo.source_addr, source_addr=mo.destination_addr)]

    async def _run(self, mo: InboundMessage, catalog: Catalog) -> str:
        code = normalize(mo.text)
        entry = catalog.lookup(code)
        command = self.commands[entry.command if entry else "help"]
        ctx = CommandContext(
            msisdn=mo.source_addr,
            catalog=catalog,
            text=code,
            templates=self.templates,
            clock=self.clock,
            ledger=self.ledger,
        )
        try:
            return await command(ctx)
        except LedgerError as refusal:
            template = REFUSALS.get(type(refusal))
            if template is None:
                raise
            return self.templates.render(template)
