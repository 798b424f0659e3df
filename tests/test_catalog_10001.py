"""Seed 004's list of 10001 codes: every one names a command of the catalog, none falls to the help answer;
and recharge cards from the operator's file (gateway ledger cards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.registry import KNOWN
from gateway.catalog import load_catalogs
from gateway.config import PROJECT_ROOT
from gateway.errors import ImportRejected
from gateway.ledger.cards import parse_cards
from gateway.ledger.products import Products

SEED_004 = (
    "101",
    "102",
    "103",
    "104",
    "105",
    "108",
    "110",
    "113",
    "201",
    "321",
    "322",
    "323",
    "324",
    "325",
    "301",
    "302",
    "303",
    "304",
    "305",
    "306",
    "308",
    "309",
    "310",
    "381",
    "385",
    "342",
    "343",
    "406",
    "408",
    "409",
    "410",
    "421",
    "452",
    "453",
    "504",
    "0000",
    "0",
    "501",
    "502",
    "503",
    "601",
    "602",
    "604",
    "605",
    "701",
    "8",
)
"""The codes seed 004 lists for 10001 (发送对应指令代码到10001), in its order."""


def test_every_code_of_seed_004_has_a_command_of_its_own() -> None:
    products = Products.load(PROJECT_ROOT / "config" / "products.toml")
    catalog = load_catalogs(PROJECT_ROOT / "config" / "catalogs", ["10001"], KNOWN, products)["10001"]
    missing = [code for code in SEED_004 if catalog.lookup(code) is None]
    assert missing == []
    assert [code for code in SEED_004 if catalog.lookup(code).command == "help"] == []  # type: ignore[union-attr]
    # the look-ups that read what follows the code
    assert catalog.lookup("602常州").command == "area_code"  # type: ignore[union-attr]
    assert catalog.lookup("605日本").command == "roaming_rates"  # type: ignore[union-attr]
    assert catalog.lookup("7011234567890123").command == "card_state"  # type: ignore[union-attr]


def test_every_code_of_seed_004_is_answered_by_a_conversation() -> None:
    scripts = "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent / "conversations").glob("*.conv"))
    sent = {line[1:].strip().replace(" ", "") for line in scripts.splitlines() if line.startswith(">")}
    unasked = [code for code in SEED_004 if code not in sent and not any(s.startswith(code) for s in sent)]
    assert unasked == []


def test_cards_are_read_from_the_operators_file() -> None:
    cards = parse_cards(
        "serial,value,expires,state\n1234567890123456,50,2027-06-30,\n1234567890120002,30.00,2027-06-30,used\n"
    )
    assert [(c.serial, c.value, c.expires.isoformat(), c.state) for c in cards] == [
        ("1234567890123456", 5000, "2027-06-30", "unused"),
        ("1234567890120002", 3000, "2027-06-30", "used"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("serial,value\n1234567890,5\n", "line 1: missing column expires"),
        ("serial,value,expires\n12345,5,2027-01-01\n", "line 2: serial must be 10 to 20 digits"),
        (
            "serial,value,expires\n1234567890123,5,2027-01-01\n1234567890123,5,2027-01-01\n",
            "line 3: serial ****0123 is also on line 2",
        ),
        (
            "serial,value,expires,state\n1234567890123,5,2027-01-01,lost\n",
            "line 2: value must be above 0 and state one of unused, used, void",
        ),
    ],
)
def test_a_bad_card_file_is_refused_by_line_and_shows_no_whole_serial(text: str, problem: str) -> None:
    with pytest.raises(ImportRejected) as refused:
        parse_cards(text)
    assert refused.value.problems == [problem]
