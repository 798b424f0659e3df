"""The conversation format: a plain-text script a tester writes without Python (see docs/testing.md).

    # Ordering a data package after the 16th: half the fee
    subscriber 13800138000
    service 10086
    clock 2026-11-20 10:00

    ledger
      balance 58.90
      subscription LDTX since 2026-09-20

    > KTGPRS10
    < 您好，您将订购GPRS10元包*本月按半月收取5.00元*
    > 是
    < 您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额53.90元。
    advance 31m
    no answer within 1s

Steps that feed the gateway through its admin API, each followed (like ``advance``) by the pushes it
causes, for the current ``subscriber``:

    usage data 69MB                      # also 512KB, 2GB; voice 61s / 2m; sms 3; mms 1
    usage voice 5m at 2026-11-20 09:00 for 5m id cdr-1
    < 尊敬的客户，您的可用余额为9.25元，已低于10.00元*
    pay 50.00 微信                        # channel optional (营业厅)
    restore                              # protective restore (紧急开机)

A usage record starts by default at the clock's time minus its duration, which is by default 60 s for
data, the call's length for voice and 0 for sms / mms; its id is by default ``line<N>`` (N: its line).

USSD: ``dial`` opens a session; while it is open, ``>`` answers its screen instead of sending an SMS, and
each screen is expected with ``< CON`` (it goes on) or ``< END`` (it closes the session), its further
lines indented below it. ``hang up`` aborts. ``ussd http`` in the header takes the HTTP callback instead
of SMPP:

    dial *100#
    < CON 中国移动自助服务
          1 话费查询
          ...
    > 1
    < END 您好，您的账户余额为58.90元*

Parsing turns the text into a :class:`Conversation`; every mistake is a :class:`ScriptError` naming the
file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from gateway.errors import GatewayError


class ScriptError(GatewayError):
    """A conversation file says something the format does not allow."""


Closing = Literal["CON", "END"]
"""How a USSD screen says what comes next: ``CON`` the session goes on, ``END`` it closes with it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """An expected answer: literal text, ``*`` wildcards, or a regular expression (``re:`` prefix). An SMS,
    or with ``screen`` a USSD screen that goes on (``CON``) or closes the session (``END``)."""

    line: int
    pattern: str
    regex: bool = False
    screen: Closing | None = None

    def matches(self, text: str) -> bool:
        if self.regex:
            return re.fullmatch(self.pattern, text, re.DOTALL) is not None
        return re.fullmatch(".*".join(re.escape(part) for part in self.pattern.split("*")), text, re.DOTALL) is not None

    @property
    def shown(self) -> str:
        text = f"re: {self.pattern}" if self.regex else self.pattern
        return f"{self.screen} {text}" if self.screen else text


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    line: int
    text: str
    subscriber: str
    service: str
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveClock:
    """``advance 31m`` (by) or ``at 2026-12-11 09:00`` (to); answers pushed after it are its expects."""

    line: int
    by: float | None = None
    to: datetime | None = None
    subscriber: str = ""
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    line: int
    seconds: float
    subscriber: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscFault:
    """``smsc throttle every 3`` / ``smsc drop`` / ``smsc normal``."""

    line: int
    action: str
    value: int = 0
    expects: tuple[Expect, ...] = ()  # answers that arrive once the fault changes (e.g. held ones, at normal)


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """``usage data 69MB [at 2026-11-20 09:00] [for 2h] [id cdr-1]``: one usage record for the admin API.

    ``start`` is local time; None means the clock's time minus the duration when the step runs."""

    line: int
    subscriber: str
    category: str  # voice | sms | mms | data
    quantity: int  # seconds, messages or KB
    duration: int  # seconds
    id: str
    start: datetime | None = None
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pay:
    """``pay 50.00 [微信]``: a payment through the admin API."""

    line: int
    subscriber: str
    amount: int  # fen
    channel: str
    id: str
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Restore:
    """``restore``: a protective restore (紧急开机) through the admin API."""

    line: int
    subscriber: str
    expects: tuple[Expect, ...] = ()


Feed = Usage | Pay | Restore
"""The steps that feed the gateway through its admin API; the answers after one are the pushes it causes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    """``dial *100#``: the subscriber opens a USSD session; its first screen is the one ``CON``/``END`` expect."""

    line: int
    subscriber: str
    code: str
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UssdInput:
    """``>`` while the subscriber's USSD session is open: their answer to the screen shown."""

    line: int
    subscriber: str
    text: str
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HangUp:
    """``hang up``: the subscriber aborts the open USSD session (nothing is answered)."""

    line: int
    subscriber: str


Ussd = Dial | UssdInput
"""The USSD steps that get a screen."""

Step = Send | MoveClock | Silence | SmscFault | Feed | Ussd | HangUp

USSD_TRANSPORTS = ("smpp", "http")


@dataclass(slots=True, kw_only=True)
class Fixture:
    """One subscriber's ledger entry. Money in fen, data in KB, days as dates."""

    msisdn: str
    line: int
    name: str = "测试用户"
    brand: str = "神州行"
    vip: str = "none"
    plan: str = ""
    status: str = "active"
    cash: int = 0
    gift: int = 0
    gift_expires: date | None = None
    credit: int = 0
    points: int = 0
    password: str | None = None
    id_number: str | None = None
    puk: str | None = None
    cards: list[tuple[str, int, date, str]] = field(default_factory=list)  # serial, value fen, expires, state
    subscriptions: list[tuple[str, datetime]] = field(default_factory=list)
    usage: list[tuple[str, int, int]] = field(default_factory=list)  # category, quantity, charged fen
    bills: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    payments: list[tuple[datetime, int, str]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Conversation:
    path: Path
    title: str
    clock: datetime | None
    fixtures: list[Fixture]
    steps: list[Step]
    ussd: str = "smpp"  # how dial, > in a session and hang up reach the gateway: smpp or http

    @property
    def name(self) -> str:
        return self.path.stem


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def duration(text: str) -> float:
    """``'1h30m'`` → 5400.0; ``'31m'``, ``'2d'``, ``'0.5s'``."""
    compact = text.replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as 31m, 1h30m, 2d or 5s")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def moment(text: str) -> datetime:
    """``'2026-11-20 10:00'`` or ``'2026-11-20 10:00:30'`` or ``'2026-11-20'`` (local time of the zone)."""
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time such as 2026-11-20 10:00")


def yuan(text: str) -> int:
    """``'58.90'`` → 5890 fen, without floats."""
    match = re.fullmatch(r"(-?)(\d+)(?:\.(\d{1,2}))?(?:元)?", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an amount in yuan such as 58.90")
    sign, whole, cents = match.groups()
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    return -fen if sign else fen


def kb(text: str) -> int:
    """``'24064KB'``, ``'23.5MB'``, ``'15GB'`` → KB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB)", text.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} is not a data amount such as 512KB, 23.5MB or 15GB")
    number, unit = match.groups()
    factor = {"KB": 1, "MB": 1024, "GB": 1024 * 1024}[unit.upper()]
    whole, _, frac = number.partition(".")
    return int(whole) * factor + (int(frac) * factor) // (10 ** len(frac)) if frac else int(whole) * factor
