"""Every command by the name catalogs use for it. Add a command here and name it in a catalog.

``COMMANDS`` answer from the ledger and change nothing. ``DIALOG_STARTERS`` run in the MO's transaction:
they begin a dialog (which may change the ledger later, in its own transaction) or make one change at once
(JJKJ, TDTX, KTTX); ``CONTINUATIONS`` take a dialog's next reply, by
dialog kind, and ``PREPARATIONS`` do the slow work (hashing) that a kind's reply needs, before its
transaction.
"""

from __future__ import annotations

from commands import credit, lookup, menus, orders, password, points, queries
from commands.help import help_answer
from gateway.context import Command
from gateway.dialog.turn import Continuation, Preparation, Starter

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
    "number_location": lookup.number_location,
    "points_rules": points.points_rules,
    "information": menus.information,
    "area_code": lookup.area_code_lookup,
    "roaming_rates": lookup.roaming_rates,
    "service_records": queries.service_records,
    "puk_code": queries.puk_code,
    "card_state": lookup.card_state,
}

DIALOG_STARTERS: dict[str, Starter] = {
    "order": orders.order,
    "cancel": orders.cancel,
    "pick": orders.pick,
    "change_password": password.change_password,
    "reset_password": password.reset_password,
    "protective_restore": credit.protective_restore,
    "reminders_off": credit.reminders_off,
    "reminders_on": credit.reminders_on,
    "points_exchange": points.points_exchange,
    "package_menu": menus.package_menu,
    "voluntary_suspension": credit.voluntary_suspension,
    "bill_choice": credit.bill_choice,
}

CONTINUATIONS: dict[str, Continuation] = {
    "order": orders.confirmation,
    "cancel": orders.confirmation,
    "pick": orders.pick_reply,
    "password_change": password.password_change_reply,
    "password_reset": password.password_reset_reply,
    "exchange_pick": points.exchange_pick_reply,
    "exchange": points.exchange_confirmation,
    "menu_pick": menus.menu_pick_reply,
    "voluntary_suspend": credit.voluntary_confirmation,
    "voluntary_restore": credit.voluntary_confirmation,
    "bill_choice": credit.bill_choice_confirmation,
}

PREPARATIONS: dict[str, Preparation] = {
    "password_change": password.prepare_change_reply,
    "password_reset": password.prepare_reset_reply,
}

BUSINESS = frozenset(DIALOG_STARTERS) - {"pick", "package_menu"}
"""The commands that are a 业务 (an order, a cancellation, a password, 紧急开机, reminders), not a 查询: a number
that may not ask is told so in those words. 0000 lists what is ordered (a 查询) before it offers to cancel."""

KNOWN = set(COMMANDS) | set(DIALOG_STARTERS)
"""Every name a catalog may use."""
