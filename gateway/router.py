"""MO → reply: pick the service number's catalog, find the command for the code, run it."""

from __future__ import annotations

import logging

from commands.context import Command, CommandContext
from commands.normalize import normalize
from gateway.catalog import Catalog
from gateway.clock import Clock
from gateway.templates import Templates
from gateway.types import InboundMessage, Reply

log = logging.getLogger("gateway.router")


class Router:
    def __init__(
        self,
        *,
        catalogs: dict[str, Catalog],
        commands: dict[str, Command],
        templates: Templates,
        clock: Clock,
    ) -> None:
        self.catalogs = catalogs
        self.commands = commands
        self.templates = templates
        self.clock = clock

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
            code = normalize(mo.text)
            entry = catalog.lookup(code)
            command = self.commands[entry.command if entry else "help"]
            ctx = CommandContext(
                msisdn=mo.source_addr, catalog=catalog, text=code, templates=self.templates, clock=self.clock
            )
            text = await command(ctx)
        return [Reply(text=text, destination_addr=mo.source_addr, source_addr=mo.destination_addr)]
