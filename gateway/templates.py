"""Reply texts from ``config/templates/*.toml``. Code names a template; the file says the words."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

# Every template the code renders: a file that lacks one stops start-up instead of failing a reply.
REQUIRED = (
    "help",
    "help_code",
    "help_code_separator",
    "incomplete_message",
    "system_error",
    "not_a_subscriber",
    "not_a_subscriber_business",
    "subscriber_terminated",
    "subscriber_terminated_business",
    "as_of",
    "list_separator",
    "item_separator",
    "category_plan",
    "category_vas",
    "category_voice",
    "category_sms",
    "category_mms",
    "category_data",
    "category_voice_package",
    "category_sms_package",
    "category_mms_package",
    "category_data_package",
    "charge_line",
    "charge_lines",
    "arrears_note",
    "balance",
    "balance_owed",
    "standing_balance",
    "standing_owed",
    "gift_expiry",
    "credit_limit",
    "charges_this_month",
    "last_bill",
    "last_bill_none",
    "bill_history",
    "bill_history_month",
    "bill_history_none",
    "points",
    "data_usage",
    "data_package",
    "data_usage_no_package",
    "data_charge_cap",
    "data_volume_cap",
    "payments",
    "payment_item",
    "payments_none",
    "current_plan",
    "current_plan_services",
    "current_plan_no_services",
    "service_fee",
    "ordered_services",
    "ordered_service",
    "ordered_services_none",
    "package_data_quota",
    "package_sms_quota",
    "order_confirm",
    "order_full_month",
    "order_prorated",
    "order_done",
    "order_reinstate_confirm",
    "order_reinstated",
    "order_declined",
    "order_expired",
    "order_insufficient",
    "order_already",
    "order_suspended",
    "cancel_confirm",
    "cancel_done",
    "cancel_declined",
    "cancel_expired",
    "cancel_not_subscribed",
    "number_location",
    "number_location_unknown",
    "package_family",
    "pick_hint",
    "pick_ask",
    "pick_ask_one",
    "pick_out_of_range",
    "pick_out_of_range_one",
    "pick_gave_up",
    "pick_expired",
    "rate_limited",
    "nothing_to_confirm",
    "password_not_set",
    "password_ask_old",
    "password_wrong_old",
    "reset_no_id",
    "reset_ask_id",
    "reset_wrong_id",
    "password_locked",
    "password_unlock_time",
    "password_ask_new",
    "password_not_six_digits",
    "password_repeated_digits",
    "password_sequential_digits",
    "password_phone_tail",
    "password_id_tail",
    "password_ask_repeat",
    "password_repeat_mismatch",
    "password_changed",
    "reset_done",
    "password_change_expired",
    "password_reset_expired",
    "dialog_interrupted",
    "dialog_kind_order",
    "dialog_kind_cancel",
    "dialog_kind_pick",
    "dialog_kind_password_change",
    "dialog_kind_password_reset",
    "protect_done",
    "protect_refused_not_suspended",
    "protect_refused_already_protected",
    "protect_refused_by_operator",
    "protect_refused_too_soon",
    "protect_refused_terminated",
    "moment",
    "reminders_off",
    "reminders_already_off",
    "reminders_on",
    "reminders_already_on",
    "push_low_balance",
    "push_suspension",
    "push_suspension_reason_arrears",
    "push_suspension_reason_validity_passed",
    "push_suspension_reason_protective_amount_limit",
    "push_suspension_reason_protective_time_limit",
    "push_suspension_reason_operator",
    "push_restore",
    "push_protective_restore",
    "push_termination_warning",
    "push_termination",
    "push_termination_by_operator",
    "push_data_low",
    "push_data_used_up",
    "push_data_periodic",
    "push_abnormal_charges",
    "push_bill_ready",
    "ussd_item",
    "ussd_more",
    "ussd_back_home",
    "ussd_invalid",
    "ussd_confirm",
    "ussd_order_prompt",
    "ussd_unknown_code",
    "ussd_expired",
)


@dataclass(frozen=True, slots=True)
class Templates:
    texts: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Templates:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"gateway.templates: cannot read {path}: {exc}") from None
        missing = [name for name in REQUIRED if name not in raw]
        if missing:
            raise ConfigError(f"gateway.templates: {path} lacks the template(s) {', '.join(missing)}")
        for name, text in raw.items():
            if not isinstance(text, str):
                raise ConfigError(f"gateway.templates: {path}: {name} must be a string")
            list(string.Formatter().parse(text))  # a malformed {placeholder} fails at start-up, not at reply
        return cls(dict(raw))

    def render(self, template: str, /, **values: Any) -> str:
        return self.texts[template].format(**values)
