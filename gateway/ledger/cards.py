"""Recharge cards (充值卡) from the operator's CSV file: ``serial,value,expires[,state]``, all or nothing.

A serial is 10 to 20 digits, the value in yuan (50, 100.00), ``expires`` the last day it may be used, the state
``unused`` (the default), ``used`` or ``void``. Problems are listed by line; a serial is never quoted whole in
one (it is as good as money): its last four digits only.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from gateway.db import cards as cards_repo
from gateway.db.unit import Database, Tx
from gateway.errors import ImportRejected
from gateway.ledger.importer import parse_yuan
from gateway.model.ledger import Card

_SERIAL = re.compile(r"[0-9]{10,20}")
STATES = ("unused", "used", "void")


def shown_serial(serial: str) -> str:
    """A serial as answers and problems show it: its last four digits (``****5678``)."""
    return "****" + serial[-4:]


def parse_cards(text: str) -> list[Card]:
    """The cards of a CSV file, or ImportRejected listing every problem by line."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = [c for c in ("serial", "value", "expires") if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportRejected([f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"])
    problems: list[str] = []
    found: list[Card] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        serial = (row.get("serial") or "").strip()
        if not _SERIAL.fullmatch(serial):
            problems.append(f"line {line}: serial must be 10 to 20 digits")
            continue
        if serial in seen:
            problems.append(f"line {line}: serial {shown_serial(serial)} is also on line {seen[serial]}")
            continue
        seen[serial] = line
        try:
            value = parse_yuan((row.get("value") or "").strip())
            expires = date.fromisoformat((row.get("expires") or "").strip())
        except ValueError as exc:
            problems.append(f"line {line}: value or expires: {exc}")
            continue
        state = (row.get("state") or "unused").strip() or "unused"
        if value <= 0 or state not in STATES:
            problems.append(f"line {line}: value must be above 0 and state one of {', '.join(STATES)}")
            continue
        found.append(Card(serial=serial, value=value, state=state, expires=expires))
    if problems:
        raise ImportRejected(problems)
    return found


async def import_cards(db: Database, cards: list[Card]) -> int:
    """Insert the cards in one transaction; a serial already in the ledger rejects them all."""
    async with db.transaction():
        there = await cards_repo.existing(db, [c.serial for c in cards])
        if there:
            raise ImportRejected([f"serial {shown_serial(s)} is already in the ledger" for s in sorted(there)])
        await cards_repo.add_cards(Tx(db), cards)
    return len(cards)
