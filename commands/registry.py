"""Every command by the name catalogs use for it. Add a command here and name it in a catalog."""

from __future__ import annotations

from commands.context import Command
from commands.help import help_answer

COMMANDS: dict[str, Command] = {
    "help": help_answer,
}
