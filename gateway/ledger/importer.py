"""Loading subscribers from an operator's CSV file into the ledger: every row checked, all or nothing.

``parse_subscribers`` checks every row and names every problem with its line (the header is line 1); it
never quotes a password or an ID number. ``import_subscribers`` writes the rows in one transaction, after
making sure none of the numbers is already in the ledger. The columns are described in docs/ledger.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from gateway.db.bulk import existing_msisdns
from gateway.db.unit import Database
from gateway.errors import ImportRejected
from gateway.ledger.products import Products
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber

REQUIRED = ("msisdn", "name", "brand", "vip", "plan", "balance")
OPTIONAL = (
    "gift",
    "gift_expires",
    "credit_limit",
    "valid_until",
    "points",
    "status",
    "password",
    "id_number",
    "created_on",
    "puk",
)
BRANDS = ("全球通", "动感地带", "神州行")
VIPS = ("none", "silver", "gold", "diamond", "supreme")  # supreme: 至尊
STATUSES = ("active", "suspended", "terminated")

_MSISDN = re.compile(r"1[0-9]{10}")
_YUAN = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]{1,12}")
_PASSWORD = re.compile(r"[0-9]{6}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_PUK = re.compile(r"[0-9]{8}")
_MAX_YUAN_DIGITS = 9


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvSubscriber(NewSubscriber):
    """A subscriber read from a file, with the line it came from (so later problems can name it)."""

    line: int


def parse_subscribers(text: str, *, products: Products, today: date) -> list[NewSubscriber]:
    """The subscribers of a CSV file, or ImportRejected listing every problem by line."""
    problems: list[str] = []
    rows = _rows(text.removeprefix("\ufeff"), problems)
    header = next(rows, None)
    if header is None:
        raise ImportRejected(problems or [f"line 1: the file is empty; the header must be {','.join(REQUIRED)}"])
    columns = _columns(header[1], problems)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.append(f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        raise ImportRejected(problems)
    subscribers: list[NewSubscriber] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        if len(cells) > len(columns) and not any(c.strip() for c in cells[len(columns) :]):
            cells = cells[: len(columns)]  # trailing empty cells, as spreadsheets write them
        if len(cells) != len(columns):
            problems.append(f"line {line}: {len(cells)} fields, the header has {len(columns)}")
            continue
        row = _Row(line, dict(zip(columns, (c.strip() for c in cells), strict=True)), problems)
        subscriber = _subscriber(row, products, today)
        if subscriber.msisdn in seen:
            row.problem(f"msisdn {subscriber.msisdn} is also on line {seen[subscriber.msisdn]}")
        elif _MSISDN.fullmatch(subscriber.msisdn):
            seen[subscriber.msisdn] = line
        if row.ok:
            subscribers.append(subscriber)
    if problems:
        raise ImportRejected(problems)
    return subscribers


async def import_subscribers(db: Database, subscribers: Sequence[NewSubscriber]) -> int:
    """Insert the subscribers in one transaction and commit; on any problem nothing is written.

    A number given twice or already in the ledger is an ImportRejected, found before anything is inserted.
    """
    async with db.transaction():  # no other writer can add one of these numbers meanwhile
        problems = _doubles(subscribers)
        existing = await existing_msisdns(db, [s.msisdn for s in subscribers])
        problems += [
            f"{_where(s)}msisdn {s.msisdn} is already in the ledger" for s in subscribers if s.msisdn in existing
        ]
        if problems:
            raise ImportRejected(problems)
        return await add_subscribers(db, subscribers)


def parse_yuan(text: str) -> int:
    """``'12.5'`` → 1250, ``'-3.20'`` → -320: yuan with at most 2 decimals, in fen, without floats.

    ValueError says what is wrong, to follow the quoted value.
    """
    match = _YUAN.fullmatch(text)
    if match is None:
        raise ValueError("is not an amount in yuan (like 12.50 or -3.20)")
    sign, whole, decimals = match.groups()
    if decimals is not None and len(decimals) > 2:
        raise ValueError("has more than 2 decimals")
    if len(whole.lstrip("0")) > _MAX_YUAN_DIGITS:
        raise ValueError("is too large")
    fen = int(whole) * 100 + int((decimals or "").ljust(2, "0"))
    return -fen if sign == "-" else fen


def _rows(text: str, problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each record that is not blank; a CSV syntax error ends the file."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not valid CSV ({exc}); the rows after it were not read")


def _columns(header: list[str], problems: list[str]) -> list[str]:
    columns = [c.strip().lower() for c in header]
    for index, name in enumerate(columns, start=1):
        if not name:
            problems.append(f"line 1: column {index} has no name")
        elif name not in REQUIRED and name not in OPTIONAL:
            problems.append(f"line 1: unknown column '{_shown(name)}'")
        elif columns.index(name) != index - 1:
            problems.append(f"line 1: column '{name}' appears twice")
    return columns


class _Row:
    """One record's cells, read column by column; each bad value adds a problem and gives a stand-in."""

    def __init__(self, line: int, cells: dict[str, str], problems: list[str]) -> None:
        self.line = line
        self._cells = cells
        self._problems = problems
        self._before = len(problems)

    @property
    def ok(self) -> bool:
        return len(self._problems) == self._before

    def problem(self, text: str) -> None:
        self._problems.append(f"line {self.line}: {text}")

    def text(self, column: str) -> str:
        return self._cells.get(column, "")

    def choice(self, column: str, choices: Sequence[str], default: str) -> str:
        value = self.text(column)
        if not value:
            return default
        if value.lower() in choices:
            return value.lower()
        if value in choices:
            return value
        self.problem(f"{column} '{_shown(value)}' must be one of {', '.join(choices)}")
        return default

    def yuan(self, column: str, *, negative: bool = False) -> int:
        value = self.text(column)
        if not value:
            return 0
        try:
            fen = parse_yuan(value)
        except ValueError as exc:
            self.problem(f"{column} '{_shown(value)}' {exc}")
            return 0
        if fen < 0 and not negative:
            self.problem(f"{column} '{_shown(value)}' must not be negative")
        return fen

    def day(self, column: str) -> date | None:
        value = self.text(column)
        if not value:
            return None
        try:
            if _DAY.fullmatch(value):
                return date.fromisoformat(value)
        except ValueError:
            pass
        self.problem(f"{column} '{_shown(value)}' is not a date (YYYY-MM-DD)")
        return None

    def count(self, column: str) -> int:
        value = self.text(column)
        if not value:
            return 0
        if _COUNT.fullmatch(value):
            return int(value)
        self.problem(f"{column} '{_shown(value)}' must be a whole number, 0 or more")
        return 0

    def secret(self, column: str, pattern: re.Pattern[str], rule: str) -> str | None:
        """A password, an ID number or a PUK code: the problem states the rule and never the value."""
        value = self.text(column).upper()
        if not value:
            return None
        if pattern.fullmatch(value):
            return value
        self.problem(f"{column} must be {rule}")
        return None


def _subscriber(row: _Row, products: Products, today: date) -> CsvSubscriber:
    """The row as a subscriber; its problems are noted in column order (the stand-ins are then discarded)."""
    msisdn = row.text("msisdn")
    if not _MSISDN.fullmatch(msisdn):
        row.problem(f"msisdn '{_shown(msisdn)}' must be 11 digits starting with 1")
    if not row.text("name"):
        row.problem("name is empty")
    elif not row.text("name").isprintable():
        row.problem("name must be one line of printable characters")
    if not row.text("brand"):
        row.problem(f"brand is empty (one of {', '.join(BRANDS)})")
    brand = row.choice("brand", BRANDS, "")
    vip = row.choice("vip", VIPS, "none")
    plan = row.text("plan") or products.default_plan
    if plan not in products.plans:
        row.problem(f"plan '{_shown(plan)}' is not one of the plans ({', '.join(products.plans)})")
    if not row.text("balance"):
        row.problem("balance is empty (write 0 for none)")
    cash = row.yuan("balance", negative=True)
    gift, gift_expires = row.yuan("gift"), row.day("gift_expires")
    credit_limit = row.yuan("credit_limit")
    if credit_limit > 0 and plan in products.plans and products.plans[plan].payment == "prepaid":
        row.problem(f"credit_limit must be 0 on the prepaid plan {plan}")
    valid_until, points, status = row.day("valid_until"), row.count("points"), row.choice("status", STATUSES, "active")
    password = row.secret("password", _PASSWORD, "6 digits")
    id_number = row.secret("id_number", _ID_NUMBER, "18 characters: 17 digits, then a digit or X")
    puk = row.secret("puk", _PUK, "8 digits")
    created_on = row.day("created_on") or today
    if created_on > today:
        row.problem(f"created_on {created_on.isoformat()} is after today")
    return CsvSubscriber(
        line=row.line,
        msisdn=msisdn,
        name=row.text("name"),
        brand=brand,
        vip=vip,
        plan=plan,
        status=status,
        cash=cash,
        gift=gift,
        gift_expires=gift_expires,
        credit_limit=credit_limit,
        valid_until=valid_until,
        points=points,
        password=password,
        id_number=id_number,
        created_on=created_on,
        puk=puk,
    )


def _doubles(subscribers: Sequence[NewSubscriber]) -> list[str]:
    first: dict[str, NewSubscriber] = {}
    problems = []
    for s in subscribers:
        if s.msisdn in first:
            problems.append(f"{_where(s)}msisdn {s.msisdn} is given twice")
        first.setdefault(s.msisdn, s)
    return problems


def _where(subscriber: NewSubscriber) -> str:
    return f"line {subscriber.line}: " if isinstance(subscriber, CsvSubscriber) else ""


def _shown(value: str, limit: int = 40) -> str:
    """A cell as quoted in a problem: printable, and cut short if long."""
    printable = "".join(c if c.isprintable() else "?" for c in value)
    return printable if len(printable) <= limit else printable[:limit] + "…"
