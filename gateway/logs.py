"""Structured logs (JSON lines, or text with ``--log-format text``) that never show a full phone number.

The formatter itself masks every run of digits in a message or a field (and in a traceback) that holds
one of these, so a careless log call cannot leak it:

- a mainland mobile number (``1[3-9]`` and 9 more digits) anywhere in a run of 11 or more digits, such as
  one behind a prefix (``0``, ``86``, ``+86``, ``0086``, ``17951``, ``12593``) or run into other digits:
  its 4 middle digits become ``****`` (``013800138000`` → ``0138****8000``). When a run holds more than
  one such window, each is masked, which may hide some prefix digits too (``1795113800138000`` →
  ``179****8****8000``): a digit too many masked rather than a number shown. A run of exactly 11
  digits starting with 1, or ending a longer run, is masked the same way whatever its second digit;
- a Chinese ID number (居民身份证号: a run of exactly 18, 17 digits and a final digit or ``X``): only its
  first 3 and last 2 characters are kept, the 13 between become ``*`` (``110101199003077777`` →
  ``110*************77``), so neither the birth date nor the 6-digit tail (which a password may not be)
  is shown.

Digits of any script count (``１３８…`` as well as ``138…``). Runs of fewer than 11 digits (ids, counts,
service numbers, amounts, epoch seconds) and longer runs other than 18 without such a number are left as
they are; any run of exactly 18 is taken for an ID number.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import unicodedata
from typing import Any

from gateway.db import quiet_driver_logs

_DIGIT_RUN = re.compile(r"(\d+)([Xx]?)")  # \d: digits of any script; an ID number may end in X
_MSISDN_LENGTH = 11
_MSISDN_HIDDEN = range(3, 7)  # of a number's 11 digits: 138****8000
_ID_LENGTH = 18
_ID_KEPT = (3, 2)  # first and last characters of an ID number left in clear
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask(text: str) -> str:
    """``'13800138000'`` → ``'138****8000'``, ``'wx-110101199003077777'`` → ``'wx-110*************77'``,
    wherever a mainland mobile number or an ID number appears in ``text`` (see the module's rules)."""
    return _DIGIT_RUN.sub(_masked_run, text)


def _masked_run(match: re.Match[str]) -> str:
    digits, x = match.group(1), match.group(2)
    if len(digits) + len(x) == _ID_LENGTH:
        whole = digits + x
        first, last = _ID_KEPT
        return whole[:first] + "*" * (_ID_LENGTH - first - last) + whole[-last:]
    if len(digits) < _MSISDN_LENGTH:
        return digits + x
    plain = digits if digits.isascii() else "".join(str(unicodedata.digit(c)) for c in digits)
    hidden: set[int] = set()
    for start in range(len(plain) - _MSISDN_LENGTH + 1):
        if _is_msisdn(plain[start : start + _MSISDN_LENGTH], at_end=start + _MSISDN_LENGTH == len(plain)):
            hidden.update(start + n for n in _MSISDN_HIDDEN)
    return "".join("*" if n in hidden else c for n, c in enumerate(digits)) + x


def _is_msisdn(window: str, *, at_end: bool) -> bool:
    """Whether 11 digits are a mainland mobile number: ``1[3-9]…`` anywhere, any ``1…`` ending the run."""
    return window[0] == "1" and (at_end or window[1] in "3456789")


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
    quiet_driver_logs()
