"""Structured logs (JSON lines, or text with ``--log-format text``) that never show a full phone number.

Every MSISDN-looking run of digits in a message or a field is masked to ``138****8000`` by the
formatter itself, so a careless log call cannot leak one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_MSISDN = re.compile(r"(?<!\d)((?:(?:\+|00)?86)?1\d{2})\d{4}(\d{4})(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask(text: str) -> str:
    """``'13800138000'`` → ``'138****8000'`` wherever a mainland mobile number appears in ``text``."""
    return _MSISDN.sub(r"\1****\2", text)


def mask_msisdn(msisdn: str) -> str:
    """Mask one number even when it is not a mainland mobile number: keep 3 first and 4 last digits."""
    if len(msisdn) <= 7:
        return "*" * len(msisdn)
    return f"{msisdn[:3]}****{msisdn[-4:]}"


def _json_safe(value: Any) -> Any:
    """A number that looks like an MSISDN becomes its masked text, so the masked line is still JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = json.dumps(value)
        masked = mask(text)
        return masked if masked != text else value
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return mask(json.dumps(_json_safe(entry), ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        when = self.formatTime(record, "%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extra:
            line += f" [{extra}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return mask(line)


def setup_logging(level: str = "info", fmt: str = "json", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
