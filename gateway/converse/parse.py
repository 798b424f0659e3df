"""Text → :class:`Conversation`. One line at a time; the first word says what the line is.

The parser knows which subscribers have a USSD session open (from ``dial`` until a ``< END`` screen or
``hang up``): their ``>`` lines answer the session's screen instead of sending an SMS. A USSD screen's
further lines are the indented lines right below its ``< CON`` / ``< END`` line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from gateway.admin.routes import PAYMENT_CHANNELS
from gateway.converse.script import (
    USSD_TRANSPORTS,
    Closing,
    Conversation,
    Dial,
    Expect,
    Fixture,
    HangUp,
    MoveClock,
    Pay,
    Restore,
    ScriptError,
    Send,
    Silence,
    SmscFault,
    Step,
    Usage,
    UssdInput,
    duration,
    kb,
    moment,
    yuan,
)

_SILENCE = re.compile(r"no answer (?:within|for) (.+)")
_SCREEN = re.compile(r"(CON|END)(?:\s+(.*))?", re.DOTALL)
_USAGE_QUANTITY: dict[str, Callable[[str], int]] = {
    "data": kb,
    "voice": lambda t: int(duration(t)),
    "sms": int,
    "mms": int,
}
_USAGE_FORM = "usage data 69MB (or voice 61s, sms 3, mms 1), then optionally: at 2026-11-20 09:00, for 2h, id cdr-1"
_DEFAULT_DURATION = {"data": 60, "sms": 0, "mms": 0}  # voice: the call's own length
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_RECORD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # as the admin API takes it
DEFAULT_CHANNEL = PAYMENT_CHANNELS[0]
_WORDS = (
    "subscriber, service, clock, ussd, ledger, advance, at, no answer within, smsc, usage, pay, restore, dial, hang up"
)


def parse_file(path: Path) -> Conversation:
    return parse(path.read_text(encoding="utf-8"), path)


def parse(text: str, path: Path) -> Conversation:
    parser = _Parser(path)
    lines = text.splitlines()
    for number, raw in enumerate(lines, 1):
        try:
            parser.line(number, raw)
        except ValueError as exc:
            raise ScriptError(f"{path}:{number}: {exc}") from None
    try:
        return parser.finish()
    except ValueError as exc:  # the last step is missing its answers: said at the end of the file
        raise ScriptError(f"{path}:{len(lines)}: {exc}") from None


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.title = ""
        self.subscriber = ""
        self.service = ""
        self.clock: datetime | None = None
        self.fixtures: dict[str, Fixture] = {}
        self.steps: list[Step] = []
        self.fixture: Fixture | None = None  # inside a ledger block
        self.open = False  # the last step may still take < lines
        self.ussd = "smpp"
        self.sessions: set[str] = set()  # the subscribers with a USSD session open
        self.screen: Expect | None = None  # the last screen expected: indented lines below it continue it

    def line(self, number: int, raw: str) -> None:
        stripped = raw.strip()
        if self.screen is not None:
            if stripped and raw[:1] in (" ", "\t"):
                self._continue_screen(stripped)
                return
            self._end_screen()
        if not stripped or stripped.startswith("#"):
            if stripped.startswith("#") and not self.title and not self.steps:
                self.title = stripped.lstrip("# ").strip()
            return
        if self.fixture is not None and raw[:1] in (" ", "\t"):
            _fixture_line(self.fixture, stripped)
            return
        self.fixture = None
        word, _, rest = stripped.partition(" ")
        rest = rest.strip()
        if stripped.startswith(">"):
            self._step(self._sent(number, stripped[1:].strip()))
        elif stripped.startswith("<"):
            self._expect(number, stripped[1:].strip())
        elif word == "subscriber":
            self.subscriber = _msisdn(rest)
        elif word == "service":
            self.service = rest
        elif word == "clock":
            if self.steps:
                raise ValueError(
                    "clock sets where the conversation starts: put it before the first >, "
                    "and use 'at' or 'advance' to move the clock later"
                )
            self.clock = moment(rest)
        elif word == "ussd":
            self._transport(rest)
        elif word == "ledger":
            msisdn = _msisdn(rest) if rest else self._who()
            self.fixture = self.fixtures.setdefault(msisdn, Fixture(msisdn=msisdn, line=number))
        elif word == "advance":
            self._step(MoveClock(line=number, by=duration(rest), subscriber=self._who()))
        elif word == "at":
            self._step(MoveClock(line=number, to=moment(rest), subscriber=self._who()))
        elif (match := _SILENCE.fullmatch(stripped)) is not None:
            self._check_screen()
            self.steps.append(Silence(line=number, seconds=duration(match.group(1)), subscriber=self._who()))
            self.open = False
        elif word == "smsc":
            self._step(_fault(number, rest))
        elif word == "usage":
            self._step(_usage_step(number, rest, self._who()))
        elif word == "pay":
            self._step(_pay_step(number, rest, self._who()))
        elif word == "restore":
            if rest:
                raise ValueError("restore takes nothing more: it restores the current subscriber")
            self._step(Restore(line=number, subscriber=self._who()))
        elif word == "dial":
            self._dial(number, rest)
        elif stripped.split() == ["hang", "up"]:
            self._hang_up(number)
        else:
            raise ValueError(f"cannot read {stripped!r}: a line starts with >, <, #, or one of {_WORDS}")

    def _step(self, step: Step) -> None:
        self._check_answered()
        self.steps.append(step)
        self.open = True

    def _sent(self, number: int, text: str) -> Send | UssdInput:
        """``>``: an answer to the screen of the subscriber's open USSD session, else an SMS."""
        who = self._who()
        if who in self.sessions:
            return UssdInput(line=number, subscriber=who, text=text)
        return Send(line=number, text=text, subscriber=who, service=self._to())

    def _transport(self, rest: str) -> None:
        if rest not in USSD_TRANSPORTS:
            raise ValueError(f"ussd takes how sessions reach the gateway: {' or '.join(USSD_TRANSPORTS)}")
        if self.steps:
            raise ValueError("ussd sets the transport of the whole conversation: put it before the first step")
        self.ussd = rest

    def _dial(self, number: int, code: str) -> None:
        """A new session; one still open for this subscriber is left as it is (as when the phone loses it)."""
        if not code or " " in code:
            raise ValueError("dial takes the code the subscriber dials, such as: dial *100#")
        who = self._who()
        self._step(Dial(line=number, subscriber=who, code=code))
        self.sessions.add(who)

    def _hang_up(self, number: int) -> None:
        who = self._who()
        if who not in self.sessions:
            raise ValueError(f"hang up: {who} has no USSD session open (dial opens one; < END closes it)")
        self.sessions.discard(who)
        self._step(HangUp(line=number, subscriber=who))
        self.open = False

    def _check_screen(self) -> None:
        """dial and > in a session get exactly one screen: without it a late screen would be the next step's."""
        last = self.steps[-1] if self.steps else None
        if isinstance(last, Dial | UssdInput) and not any(e.screen for e in last.expects):
            did = f"dials {last.code!r}" if isinstance(last, Dial) else f"answers {last.text!r} in a USSD session"
            raise ValueError(
                f"line {last.line} {did} but expects no screen: add it (< CON … if the session goes on, "
                "< END … if it closes)"
            )

    def _check_answered(self) -> None:
        """A sent line needs its answers (<) or 'no answer within': otherwise its answer would be taken
        for the next line's."""
        self._check_screen()
        last = self.steps[-1] if self.steps else None
        if isinstance(last, Send) and not last.expects:
            raise ValueError(
                f"line {last.line} sends {last.text!r} but expects nothing: add its answers (<) "
                "or 'no answer within 2s'"
            )

    def _expect(self, number: int, text: str) -> None:
        last = self.steps[-1] if self.steps else None
        if not self.open or not isinstance(
            last, Send | MoveClock | SmscFault | Usage | Pay | Restore | Dial | UssdInput
        ):
            raise ValueError(
                "an expected answer (<) must follow a sent line (>), dial, advance, at, smsc, usage, pay or restore"
            )
        screen = _SCREEN.fullmatch(text)
        if isinstance(last, Dial | UssdInput):
            if screen is None and not last.expects:
                raise ValueError(
                    f"the screen of a USSD session starts with CON (the session goes on) or END (it closes): "
                    f"< CON {text}"
                )
            if screen is not None and last.expects:
                raise ValueError(f"line {last.line} already has its screen (line {last.expects[0].line}): one each")
        elif screen is not None:
            raise ValueError("a USSD screen (< CON, < END) must follow dial or > in an open USSD session")
        if screen is None:
            expect = _expectation(number, text)
            _check_regex(expect)
        else:
            closing: Closing = "CON" if screen.group(1) == "CON" else "END"
            expect = replace(_expectation(number, screen.group(2) or ""), screen=closing)
            self.screen = expect  # checked once its indented lines are read
            if closing == "END" and isinstance(last, Dial | UssdInput):
                self.sessions.discard(last.subscriber)
        self.steps[-1] = replace(last, expects=(*last.expects, expect))

    def _continue_screen(self, text: str) -> None:
        """An indented line below a screen: its next line."""
        assert self.screen is not None
        last = self.steps[-1]
        assert isinstance(last, Dial | UssdInput)
        joined = f"{self.screen.pattern}\n{text}" if self.screen.pattern else text
        self.screen = replace(self.screen, pattern=joined)
        self.steps[-1] = replace(last, expects=(*last.expects[:-1], self.screen))

    def _end_screen(self) -> None:
        screen, self.screen = self.screen, None
        if screen is not None:
            try:
                _check_regex(screen)
            except ValueError as exc:
                raise ScriptError(f"{self.path}:{screen.line}: {exc}") from None

    def _who(self) -> str:
        if not self.subscriber:
            raise ValueError("say who sends first: subscriber 13800138000")
        return self.subscriber

    def _to(self) -> str:
        if not self.service:
            raise ValueError("say which service number first: service 10086")
        return self.service

    def finish(self) -> Conversation:
        self._end_screen()
        self._check_answered()
        if not self.steps:
            raise ScriptError(f"{self.path}: no exchange: add lines such as '> 102' and '< 您好*'")
        return Conversation(
            path=self.path,
            title=self.title or self.path.stem,
            clock=self.clock,
            fixtures=list(self.fixtures.values()),
            steps=self.steps,
            ussd=self.ussd,
        )


def _expectation(number: int, text: str) -> Expect:
    regex = text.startswith("re:")
    return Expect(line=number, pattern=text[3:].strip() if regex else text, regex=regex)


def _check_regex(expect: Expect) -> None:
    if expect.regex:
        try:
            re.compile(expect.pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None


def _msisdn(text: str) -> str:
    if not re.fullmatch(r"\d{5,15}", text):
        raise ValueError(f"{text!r} is not a phone number")
    return text


def _fault(number: int, rest: str) -> SmscFault:
    words = rest.split()
    if words[:2] == ["throttle", "every"] and len(words) == 3 and words[2].isdigit():
        return SmscFault(line=number, action="throttle", value=int(words[2]))
    if words in (["drop"], ["normal"], ["hold"]):
        return SmscFault(line=number, action=words[0])
    raise ValueError("smsc takes: throttle every N, hold, drop, normal")


def _usage_step(number: int, rest: str, subscriber: str) -> Usage:
    """``data 69MB at 2026-11-20 09:00 for 2h id cdr-1`` (the options in any order, each at most once)."""
    words = rest.split()
    if len(words) < 2 or words[0] not in _USAGE_QUANTITY:
        raise ValueError(_USAGE_FORM)
    category, quantity = words[0], _USAGE_QUANTITY[words[0]](words[1])
    options: dict[str, str] = {}
    index = 2
    while index < len(words):
        option = words[index]
        if option not in ("at", "for", "id"):
            raise ValueError(f"usage: {option!r} is not one of at, for, id ({_USAGE_FORM})")
        if option in options:
            raise ValueError(f"usage: {option} given twice")
        if index + 1 == len(words):
            raise ValueError(f"usage: {option} needs a value ({_USAGE_FORM})")
        value = words[index + 1]
        index += 2
        if option == "at" and index < len(words) and _TIME_OF_DAY.fullmatch(words[index]):
            value, index = f"{value} {words[index]}", index + 1
        options[option] = value
    seconds = duration(options["for"]) if "for" in options else _DEFAULT_DURATION.get(category, quantity)
    if seconds != int(seconds):
        raise ValueError(f"usage: for takes whole seconds, not {options['for']!r}")
    record = options.get("id", f"line{number}")
    if not _RECORD_ID.fullmatch(record):
        raise ValueError(f"usage: id {record!r} must be 1 to 64 letters, digits or . _ : -")
    start = moment(options["at"]) if "at" in options else None
    return Usage(
        line=number,
        subscriber=subscriber,
        category=category,
        quantity=quantity,
        duration=int(seconds),
        id=record,
        start=start,
    )


def _pay_step(number: int, rest: str, subscriber: str) -> Pay:
    """``50.00`` or ``50.00 微信``."""
    words = rest.split()
    if not 1 <= len(words) <= 2:
        raise ValueError(f"pay 50.00 (or with a channel: pay 50.00 微信; one of {', '.join(PAYMENT_CHANNELS)})")
    amount = yuan(words[0])
    if amount <= 0:
        raise ValueError(f"pay takes a positive amount, not {words[0]!r}")
    channel = words[1] if len(words) == 2 else DEFAULT_CHANNEL
    if channel not in PAYMENT_CHANNELS:
        raise ValueError(f"{channel!r} is not a payment channel ({', '.join(PAYMENT_CHANNELS)})")
    return Pay(line=number, subscriber=subscriber, amount=amount, channel=channel, id=f"line{number}")


def _fixture_line(fixture: Fixture, line: str) -> None:
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    setter = _FIXTURE_WORDS.get(word)
    if setter is None:
        raise ValueError(f"unknown ledger entry {word!r} (known: {', '.join(_FIXTURE_WORDS)})")
    setter(fixture, rest)


def _gift(f: Fixture, rest: str) -> None:
    amount, _, until = rest.partition(" until ")
    f.gift = yuan(amount)
    f.gift_expires = moment(until).date() if until else None


def _subscription(f: Fixture, rest: str) -> None:
    product, _, since = rest.partition(" since ")
    if not since:
        raise ValueError("subscription PRODUCT since 2026-09-03")
    f.subscriptions.append((product.strip(), moment(since)))


def _usage(f: Fixture, rest: str) -> None:
    match = re.fullmatch(r"(data|voice|sms|mms)\s+(\S+)(?:\s+charged\s+(\S+))?", rest)
    if match is None:
        raise ValueError("usage data 23.5MB charged 0.00 (or voice 1860s, sms 42, mms 3)")
    category, quantity, charged = match.groups()
    f.usage.append((category, _USAGE_QUANTITY[category](quantity), yuan(charged or "0")))


def _bill(f: Fixture, rest: str) -> None:
    cycle, *pairs = rest.split()
    if not re.fullmatch(r"\d{4}-\d{2}", cycle) or len(pairs) % 2:
        raise ValueError("bill 2026-10 plan 28.00 data 10.00 (category and amount pairs)")
    f.bills.append((cycle, {pairs[i]: yuan(pairs[i + 1]) for i in range(0, len(pairs), 2)}))


def _card(f: Fixture, rest: str) -> None:
    parts = rest.split()
    if len(parts) not in (3, 4) or (parts[3:] and parts[3] not in ("unused", "used", "void")):
        raise ValueError("card SERIAL VALUE EXPIRES [unused|used|void]: card 1234567890123456 50.00 2027-06-30")
    f.cards.append((parts[0], yuan(parts[1]), moment(parts[2]).date(), parts[3] if parts[3:] else "unused"))


def _payment(f: Fixture, rest: str) -> None:
    parts = rest.split()
    if len(parts) < 3:
        raise ValueError("payment 2026-11-03 50.00 微信 (or with a time: 2026-11-03 09:30 50.00 微信)")
    when = moment(" ".join(parts[:-2]))
    f.payments.append((when, yuan(parts[-2]), parts[-1]))


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _set(attribute: str, convert: Callable[[str], object]) -> Callable[[Fixture, str], None]:
    return lambda f, rest: setattr(f, attribute, convert(rest))


_FIXTURE_WORDS: dict[str, Callable[[Fixture, str], None]] = {
    "name": _set("name", str),
    "brand": _set("brand", str),
    "vip": _set("vip", lambda v: _one_of(v, ("none", "silver", "gold", "diamond", "supreme"))),
    "plan": _set("plan", str),
    "status": _set("status", lambda v: _one_of(v, ("active", "suspended", "terminated"))),
    "balance": _set("cash", yuan),
    "gift": _gift,
    "credit": _set("credit", yuan),
    "points": _set("points", int),
    "password": _set("password", str),
    "id": _set("id_number", str.upper),
    "puk": _set("puk", str),
    "card": _card,
    "subscription": _subscription,
    "usage": _usage,
    "bill": _bill,
    "payment": _payment,
}
