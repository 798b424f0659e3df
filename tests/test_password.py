"""The password rules (commands/password.py) and the lock-out arithmetic (gateway/ledger/passwords.py), as tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from commands.password import password_problem
from gateway.db.database import open_database
from gateway.ledger.passwords import Attempts, attempts_from
from gateway.ledger.secrets import verify_secret
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber

MSISDN = "13912846305"
DAY = 86_400.0
T = 1_795_400_000.0


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        # 1. exactly 6 digits
        ("73051", "password_not_six_digits"),
        ("7305189", "password_not_six_digits"),
        ("", "password_not_six_digits"),
        ("73O518", "password_not_six_digits"),
        ("73 518", "password_not_six_digits"),
        ("７３０５１８", "password_not_six_digits"),  # the normaliser makes these ASCII before they get here
        ("73²518", "password_not_six_digits"),  # str.isdigit() would say yes
        # 2. no 3 identical digits in a row
        ("111582", "password_repeated_digits"),
        ("582111", "password_repeated_digits"),
        ("000000", "password_repeated_digits"),
        ("584449", "password_repeated_digits"),
        ("114422", None),  # pairs are fine
        # 3. no 3 consecutive digits in a row, up or down, by value, without wrap-around
        ("123582", "password_sequential_digits"),
        ("582321", "password_sequential_digits"),
        ("570123", "password_sequential_digits"),  # 012
        ("598765", "password_sequential_digits"),
        ("268904", None),  # 890: 9 is not followed by 0
        ("590174", None),  # 901
        ("135797", None),  # steps of 2
        ("121212", None),  # up then down
        ("124578", None),  # 12, 45, 78: pairs only
        ("112233", None),
        ("111123", "password_repeated_digits"),  # the first rule broken is the one named
        # 4. not the phone number's last 6 digits
        ("846305", "password_phone_tail"),
        ("846306", None),
        # everything kept
        ("730518", None),
        ("582947", None),
    ],
)
def test_password_rules(candidate: str, problem: str | None) -> None:
    assert password_problem(candidate, MSISDN) == problem


@pytest.mark.parametrize(
    ("failed_at", "now", "expected"),
    [
        ([], T, Attempts(failures=0, locked_until=None)),
        ([T], T, Attempts(failures=1, locked_until=None)),
        ([T - 60 * i for i in range(4)], T, Attempts(failures=4, locked_until=None)),
        # the 5th within 24 h locks for 24 h from that 5th failure
        ([T - 60 * i for i in range(5)], T, Attempts(failures=5, locked_until=T + DAY)),
        ([T - 60 * i for i in range(5)], T + DAY - 1, Attempts(failures=1, locked_until=T + DAY)),
        ([T - 60 * i for i in range(5)], T + DAY, Attempts(failures=0, locked_until=None)),
        # five failures spread over more than 24 h do not lock
        ([T - DAY, T - 3600, T - 120, T - 60, T], T, Attempts(failures=4, locked_until=None)),
        ([T - DAY + 1, T - 3600, T - 120, T - 60, T], T, Attempts(failures=5, locked_until=T + DAY)),
        # order of the rows does not matter; failures after now are not seen
        ([T, T - 180, T - 60, T - 240, T - 120], T, Attempts(failures=5, locked_until=T + DAY)),
        ([T - 60 * i for i in range(4)] + [T + 60], T, Attempts(failures=4, locked_until=None)),
    ],
)
def test_attempts_and_lock(failed_at: list[float], now: float, expected: Attempts) -> None:
    assert attempts_from(failed_at, now) == expected


def test_tries_left() -> None:
    assert [Attempts(failures=n, locked_until=None).left for n in range(7)] == [5, 4, 3, 2, 1, 0, 0]


async def test_the_id_numbers_last_6_characters_get_a_hash_of_their_own(tmp_path: Path) -> None:
    db = await open_database(str(tmp_path / "ledger.db"))
    people = [
        NewSubscriber(msisdn=m, name="测试用户", brand="神州行", plan="SZX", created_on=date(2026, 1, 1), id_number=n)
        for m, n in [("13800000001", "110105198805164927"), ("13800000002", None)]
    ]
    await add_subscribers(db, people)
    rows = list(await db.fetch("SELECT id_hash, id_tail_hash FROM subscriber ORDER BY msisdn"))
    await db.close()
    [(id_hash, tail_hash), no_id] = rows
    assert verify_secret("164927", tail_hash)
    assert not verify_secret("110105198805164927", tail_hash)
    assert verify_secret("110105198805164927", id_hash)
    assert no_id == (None, None)
