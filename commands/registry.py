"""Every command by the name catalogs use for it. Add a command here and name it in a catalog."""

from __future__ import annotations

from commands import queries
from commands.context import Command
from commands.help import help_answer

COMMANDS: dict[str, Command] = {
    "help": help_answer,
    "balance": queries.balance,
    "charges_this_month": queries.charges_this_month,
    "last_bill": queries.last_bill,
    "bill_history": queries.bill_history,
    "points": queries.points,
    "data_usage": queries.data_usage,
    "payment_history": queries.payment_history,
    "current_plan": queries.current_plan,
    "ordered_services": queries.ordered_services,
}
