"""Usage records from a CSV file (``gateway ledger usage FILE.csv``), checked by the admin API's rules.

Header: ``id,msisdn,category,quantity,start,duration`` (any order). A file with any malformed row is
refused whole, every problem named with its line (the header is line 1); rows that are well formed are
rated as the API rates them, duplicates and rejects included.
"""

from __future__ import annotations

import csv
import io

from gateway.admin.billing import USAGE_RECORD, usage_records
from gateway.errors import ImportRejected, RequestRefused
from gateway.usecases.rate_usage import UsageRecord

COLUMNS = ("id", "msisdn", "category", "quantity", "start", "duration")
_NUMBERS = ("quantity", "duration")


def parse_usage(text: str) -> list[UsageRecord]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ImportRejected([f"line 1: the header lacks {', '.join(missing)} (it must name {','.join(COLUMNS)})"])
    problems: list[str] = []
    rows: list[dict[str, object]] = []
    for row in reader:
        line = reader.line_num
        values: dict[str, object] = {c: (row.get(c) or "").strip() for c in COLUMNS}
        for name in _NUMBERS:
            raw = str(values[name])
            values[name] = int(raw) if raw.isdigit() else raw
        try:
            USAGE_RECORD.parse(values)
        except RequestRefused as refused:
            problems.append(f"line {line}: {refused}")
            continue
        rows.append(values)
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected(["line 2: the file has no records"])
    return usage_records({"records": rows})
