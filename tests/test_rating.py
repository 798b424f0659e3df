"""Usage rating to the fen: the pure rater (tariffs, quotas, caps, the balance limit) table by table and
as properties, then the usage feed of the admin API over a real gateway (duplicates, the error list, the
seed-000 overrun that rating now prevents, and what 101 / 108 answer afterwards).

The tariffs and caps are the shipped ones (config/products.toml). The gateway's clock stands at
2026-11-23 10:13:20 in Shanghai."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import SUBSCRIBER, StartGateway, ask
from hypothesis import given, settings
from hypothesis import strategies as st
from support.admin import NOW, TOKEN, TOKENS, call

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.products import Products
from gateway.ledger.rating import Books, Position, Rater, Rating
from gateway.ledger.writes import add_subscribers, add_subscription
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator

PRODUCTS = Products.load(Path(__file__).parents[1] / "config" / "products.toml")
RATER = Rater(PRODUCTS.tariffs, PRODUCTS.data_caps)

GPRS10_KB = 71680
MB = 1024
CHARGE_CAP = 50000
VOLUME_CAP = 15728640


def test_the_shipped_tariffs_and_caps() -> None:
    t = PRODUCTS.tariffs
    assert (t.voice_fen_per_minute, t.sms_fen, t.mms_fen, t.data_fen_per_kb, t.data_over_package_fen_per_mb) == (
        15,
        10,
        30,
        1,
        100,
    )
    assert (PRODUCTS.data_caps.charge_fen, PRODUCTS.data_caps.volume_kb) == (CHARGE_CAP, VOLUME_CAP)
    assert PRODUCTS.packages["GPRS10"].quota_kb == GPRS10_KB


# --- the rater, table-driven -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """Records rated in order on one position; each expected as (granted, charge, from_gift, from_cash,
    refused, reason); ``books`` is (cash, gift) afterwards."""

    name: str
    records: list[tuple[str, int]]
    expected: list[tuple[int, int, int, int, int, str | None]]
    books: tuple[int, int]
    prepaid: bool = False
    cash: int = 0
    gift: int = 0
    credit_limit: int = 0
    floor: int = 0
    used: dict[str, int] = field(default_factory=dict)
    charged: dict[str, int] = field(default_factory=dict)
    quota_kb: int | None = None  # a data package with this quota
    sms_quota: int = 0

    def position(self) -> Position:
        books = Books(
            prepaid=self.prepaid, cash=self.cash, gift=self.gift, credit_limit=self.credit_limit, floor=self.floor
        )
        return Position(
            books=books,
            used=dict(self.used),
            charged=dict(self.charged),
            data_quota_kb=self.quota_kb or 0,
            has_data_package=self.quota_kb is not None,
            sms_quota=self.sms_quota,
        )


INSUFFICIENT = "insufficient_balance"

CASES = [
    # Data inside and beyond a package: 1元 per whole MB beyond the quota, a started MB free.
    Case(
        name="package: the quota is free",
        quota_kb=GPRS10_KB,
        records=[("data", GPRS10_KB)],
        expected=[(GPRS10_KB, 0, 0, 0, 0, None)],
        books=(0, 0),
    ),
    Case(
        name="package: 2047 KB beyond is one whole MB",
        quota_kb=GPRS10_KB,
        cash=1000,
        records=[("data", GPRS10_KB + 2047)],
        expected=[(GPRS10_KB + 2047, 100, 0, 100, 0, None)],
        books=(900, 0),
    ),
    Case(
        name="package: 2048 KB beyond is two",
        quota_kb=GPRS10_KB,
        cash=1000,
        records=[("data", GPRS10_KB + 2048)],
        expected=[(GPRS10_KB + 2048, 200, 0, 200, 0, None)],
        books=(800, 0),
    ),
    Case(
        name="package: the started MB is counted over the month, not per record",
        quota_kb=GPRS10_KB,
        cash=1000,
        records=[("data", GPRS10_KB), ("data", 700), ("data", 700), ("data", 700)],
        expected=[
            (GPRS10_KB, 0, 0, 0, 0, None),
            (700, 0, 0, 0, 0, None),
            (700, 100, 0, 100, 0, None),  # 1400 KB beyond: the first whole MB
            (700, 100, 0, 100, 0, None),  # 2100 KB beyond: the second
        ],
        books=(800, 0),
    ),
    Case(
        name="package: usage earlier in the month counts",
        quota_kb=GPRS10_KB,
        cash=1000,
        used={"data": GPRS10_KB + 1023},
        records=[("data", 1), ("data", 1023), ("data", 1)],
        expected=[(1, 100, 0, 100, 0, None), (1023, 0, 0, 0, 0, None), (1, 100, 0, 100, 0, None)],
        books=(800, 0),
    ),
    Case(
        name="no package: 1 fen per KB",
        cash=5000,
        used={"data": 300},
        charged={"data": 300},
        records=[("data", 1500), ("data", 1)],
        expected=[(1500, 1500, 0, 1500, 0, None), (1, 1, 0, 1, 0, None)],
        books=(3499, 0),
    ),
    Case(
        name="package: the month's data charges stop at 500元",
        quota_kb=GPRS10_KB,
        records=[("data", GPRS10_KB + 600 * MB), ("data", 10 * MB)],
        expected=[(GPRS10_KB + 600 * MB, CHARGE_CAP, 0, CHARGE_CAP, 0, None), (10 * MB, 0, 0, 0, 0, None)],
        books=(-CHARGE_CAP, 0),
    ),
    Case(
        name="no package: the charge cap, reached in the middle of a record",
        used={"data": 49900},
        charged={"data": 49900},
        records=[("data", 300), ("data", 5000)],
        expected=[(300, 100, 0, 100, 0, None), (5000, 0, 0, 0, 0, None)],
        books=(-100, 0),
    ),
    Case(
        name="the charge cap counts data only",
        used={"data": CHARGE_CAP},
        charged={"data": CHARGE_CAP},
        records=[("voice", 60), ("sms", 1), ("mms", 1)],
        expected=[(60, 15, 0, 15, 0, None), (1, 10, 0, 10, 0, None), (1, 30, 0, 30, 0, None)],
        books=(-55, 0),
    ),
    Case(
        name="volume cap: granted up to 15GB, the rest refused",
        used={"data": VOLUME_CAP - 100},
        charged={"data": CHARGE_CAP},
        records=[("data", 1000), ("data", 10)],
        expected=[(100, 0, 0, 0, 900, "volume_cap"), (0, 0, 0, 0, 10, "volume_cap")],
        books=(0, 0),
    ),
    Case(
        name="volume cap: a record ending exactly on it is granted whole",
        quota_kb=GPRS10_KB,
        used={"data": VOLUME_CAP - 5},
        charged={"data": CHARGE_CAP},
        records=[("data", 5), ("data", 1)],
        expected=[(5, 0, 0, 0, 0, None), (0, 0, 0, 0, 1, "volume_cap")],
        books=(0, 0),
    ),
    Case(
        name="volume cap: a prepaid record beyond it, charged for what is granted",
        prepaid=True,
        cash=1000,
        used={"data": VOLUME_CAP - 300},
        charged={"data": 49000},
        records=[("data", 800)],
        expected=[(300, 300, 0, 300, 500, "volume_cap")],
        books=(700, 0),
    ),
    # SMS, voice, MMS.
    Case(
        name="SMS: the packs' quota, then 10 fen each",
        cash=1000,
        sms_quota=50,
        used={"sms": 40},
        records=[("sms", 9), ("sms", 3), ("sms", 1)],
        expected=[(9, 0, 0, 0, 0, None), (3, 20, 0, 20, 0, None), (1, 10, 0, 10, 0, None)],
        books=(970, 0),
    ),
    Case(
        name="SMS: no pack",
        cash=1000,
        records=[("sms", 7)],
        expected=[(7, 70, 0, 70, 0, None)],
        books=(930, 0),
    ),
    Case(
        name="voice: per started minute of each call",
        cash=1000,
        records=[("voice", 61), ("voice", 60), ("voice", 1), ("voice", 0), ("voice", 3600)],
        expected=[
            (61, 30, 0, 30, 0, None),
            (60, 15, 0, 15, 0, None),
            (1, 15, 0, 15, 0, None),
            (0, 0, 0, 0, 0, None),
            (3600, 900, 0, 900, 0, None),
        ],
        books=(40, 0),
    ),
    Case(
        name="voice: calls are not added up into minutes",
        cash=1000,
        used={"voice": 30},
        records=[("voice", 30)],
        expected=[(30, 15, 0, 15, 0, None)],
        books=(985, 0),
    ),
    Case(
        name="MMS: 30 fen each",
        cash=1000,
        records=[("mms", 2)],
        expected=[(2, 60, 0, 60, 0, None)],
        books=(940, 0),
    ),
    # The books: the gift book first, then cash.
    Case(
        name="gift book first, the rest from cash",
        prepaid=True,
        cash=1000,
        gift=50,
        records=[("voice", 240), ("voice", 60)],
        expected=[(240, 60, 50, 10, 0, None), (60, 15, 0, 15, 0, None)],
        books=(975, 0),
    ),
    Case(
        name="gift book pays whole",
        prepaid=True,
        cash=1000,
        gift=100,
        records=[("mms", 1)],
        expected=[(1, 30, 30, 0, 0, None)],
        books=(1000, 70),
    ),
    Case(
        name="prepaid: gift and cash together pay",
        prepaid=True,
        cash=20,
        gift=25,
        records=[("sms", 5)],
        expected=[(4, 40, 25, 15, 1, INSUFFICIENT)],
        books=(5, 0),
    ),
    # Prepaid: granted only what the balance pays for.
    Case(
        name="prepaid: seed 000, 39元 and a huge data record",
        prepaid=True,
        cash=3900,
        records=[("data", 500000), ("data", 10)],
        expected=[(3900, 3900, 0, 3900, 496100, INSUFFICIENT), (0, 0, 0, 0, 10, INSUFFICIENT)],
        books=(0, 0),
    ),
    Case(
        name="prepaid: voice granted in whole minutes",
        prepaid=True,
        cash=40,
        records=[("voice", 300)],
        expected=[(120, 30, 0, 30, 180, INSUFFICIENT)],
        books=(10, 0),
    ),
    Case(
        name="prepaid: voice, less than a minute's price left",
        prepaid=True,
        cash=14,
        records=[("voice", 30)],
        expected=[(0, 0, 0, 0, 30, INSUFFICIENT)],
        books=(14, 0),
    ),
    Case(
        name="prepaid: beyond a package up to the last whole MB paid for",
        prepaid=True,
        cash=150,
        quota_kb=GPRS10_KB,
        records=[("data", GPRS10_KB + 3 * MB)],
        expected=[(GPRS10_KB + 2047, 100, 0, 100, 1025, INSUFFICIENT)],
        books=(50, 0),
    ),
    Case(
        name="prepaid: nothing left, the package quota still free",
        prepaid=True,
        quota_kb=GPRS10_KB,
        records=[("data", 1000), ("sms", 1)],
        expected=[(1000, 0, 0, 0, 0, None), (0, 0, 0, 0, 1, INSUFFICIENT)],
        books=(0, 0),
    ),
    Case(
        name="prepaid: the SMS quota still free with nothing left",
        prepaid=True,
        sms_quota=50,
        records=[("sms", 52)],
        expected=[(50, 0, 0, 0, 2, INSUFFICIENT)],
        books=(0, 0),
    ),
    # Postpaid: everything granted; credit control looks at the balance afterwards.
    Case(
        name="postpaid: granted whole, the balance goes negative",
        cash=100,
        records=[("data", 20000), ("voice", 61)],
        expected=[(20000, 20000, 0, 20000, 0, None), (61, 30, 0, 30, 0, None)],
        books=(-19930, 0),
    ),
    Case(
        name="postpaid: the gift book first there too",
        cash=0,
        gift=10,
        credit_limit=10000,
        records=[("mms", 1)],
        expected=[(1, 30, 10, 20, 0, None)],
        books=(-20, 0),
    ),
    # A protective restore's floor: spending below zero, down to it.
    Case(
        name="floor: spending below zero down to the floor",
        prepaid=True,
        cash=-300,
        floor=-5300,
        records=[("data", 6000), ("sms", 1)],
        expected=[(5000, 5000, 0, 5000, 1000, INSUFFICIENT), (0, 0, 0, 0, 1, INSUFFICIENT)],
        books=(-5300, 0),
    ),
    Case(
        name="floor: a VIP's 100元 below zero",
        prepaid=True,
        cash=0,
        floor=-10000,
        records=[("voice", 600), ("voice", 60000)],
        expected=[(600, 150, 0, 150, 0, None), (39360, 9840, 0, 9840, 20640, INSUFFICIENT)],
        books=(-9990, 0),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rating_to_the_fen(case: Case) -> None:
    position = case.position()
    got = []
    for category, quantity in case.records:
        r = RATER.rate(category, quantity, position)
        got.append((r.granted, r.charge, r.from_gift, r.from_cash, r.refused, r.reason))
    assert got == case.expected
    assert (position.books.cash, position.books.gift) == case.books


def test_the_position_keeps_the_months_usage_and_charges() -> None:
    position = Position(books=Books(prepaid=True, cash=3000, gift=0, credit_limit=0), sms_quota=2)
    for category, quantity in [("voice", 61), ("sms", 3), ("data", 500), ("voice", 10), ("mms", 1), ("data", 5000)]:
        RATER.rate(category, quantity, position)
    # 30 + 10 + 500 + 15 + 30 fen, then the last record granted the 2415 KB the rest pays for
    assert position.used == {"voice": 71, "sms": 3, "data": 500 + 2415, "mms": 1}
    assert position.charged == {"voice": 45, "sms": 10, "data": 500 + 2415, "mms": 30}
    assert position.books.cash == 0


def test_voice_and_mms_packs_count_against_their_quota_and_charge_only_what_is_beyond() -> None:
    books = Books(prepaid=True, cash=3000, gift=0, credit_limit=0)
    position = Position(books=books, voice_quota_s=6000, mms_quota=30)  # 100 minutes, 30 MMS
    ratings = [RATER.rate(c, q, position) for c, q in [("voice", 5990), ("voice", 20), ("voice", 61), ("mms", 31)]]
    # 5990 s within; of 20 s, 10 beyond: one started minute; 61 s beyond: two; one MMS beyond the 30
    assert [r.charge for r in ratings] == [0, 15, 30, 30]
    assert position.used == {"voice": 6071, "mms": 31}
    assert position.books.cash == 3000 - 75


# --- the rater, as properties ----------------------------------------------------------------------

QUANTITY = {"voice": 7200, "sms": 120, "mms": 10, "data": 300_000}

records_strategy = st.lists(
    st.sampled_from(sorted(QUANTITY)).flatmap(lambda c: st.tuples(st.just(c), st.integers(0, QUANTITY[c]))),
    max_size=25,
)


@st.composite
def prepaid_positions(draw: st.DrawFn) -> Position:
    floor = draw(st.sampled_from([0, 0, -5000, -10000]))
    cash = draw(st.integers(floor, 30000))  # under a protective restore's floor the cash may be negative
    gift = draw(st.integers(0, 3000))
    quota = draw(st.sampled_from([None, 20480, GPRS10_KB]))
    used_data = draw(st.sampled_from([0, 0, 70000, VOLUME_CAP - 200_000]))
    charged_data = draw(st.sampled_from([0, 0, 49_000, CHARGE_CAP]))
    return Position(
        books=Books(prepaid=True, cash=cash, gift=gift, credit_limit=0, floor=floor),
        used={"data": used_data} if used_data else {},
        charged={"data": charged_data} if charged_data else {},
        data_quota_kb=quota or 0,
        has_data_package=quota is not None,
        sms_quota=draw(st.sampled_from([0, 50, 100])),
    )


def _check_one(category: str, quantity: int, before: Position, r: Rating, after: Position) -> None:
    assert r.charge == r.from_gift + r.from_cash
    assert min(r.granted, r.charge, r.from_gift, r.from_cash, r.refused) >= 0
    assert r.granted + r.refused == quantity
    assert (r.reason is None) == (r.refused == 0)
    assert r.charge == RATER.cost(category, before, r.granted)
    assert after.books.gift >= 0
    assert after.books.cash + after.books.gift + after.books.credit_limit >= after.books.floor
    assert after.used.get(category, 0) == before.used.get(category, 0) + r.granted
    if r.reason == INSUFFICIENT:  # nothing more was affordable
        assert RATER.cost(category, before, r.granted + 1) > before.books.spendable


@settings(max_examples=200, deadline=None)
@given(position=prepaid_positions(), records=records_strategy)
def test_prepaid_never_overruns_and_every_fen_is_accounted_for(
    position: Position, records: list[tuple[str, int]]
) -> None:
    opening = position.books.cash + position.books.gift
    total = 0
    for category, quantity in records:
        before = copy.deepcopy(position)
        r = RATER.rate(category, quantity, position)
        _check_one(category, quantity, before, r, position)
        total += r.charge
    assert total == opening - (position.books.cash + position.books.gift)
    assert position.charged.get("data", 0) <= CHARGE_CAP
    assert position.used.get("data", 0) <= VOLUME_CAP


@settings(max_examples=100, deadline=None)
@given(cash=st.integers(-20000, 20000), records=records_strategy)
def test_postpaid_is_granted_everything_below_the_volume_cap(cash: int, records: list[tuple[str, int]]) -> None:
    position = Position(books=Books(prepaid=False, cash=cash, gift=0, credit_limit=5000))
    total = 0
    for category, quantity in records:
        r = RATER.rate(category, quantity, position)
        assert (r.granted, r.refused, r.reason) == (quantity, 0, None)
        total += r.charge
    assert position.books.cash == cash - total


# --- the usage feed over a real gateway -------------------------------------------------------------

LI = "13800000039"  # seed 000: prepaid, 39元, no data package
POSTPAID = "13800000088"  # 全球通88, 10元
STRANGER = "13999999999"
FEED = [f"1390000{n:04d}" for n in range(10)]  # postpaid, 0元: a full batch spread over them


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    people = [
        NewSubscriber(
            msisdn=SUBSCRIBER, name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=10000
        ),
        NewSubscriber(msisdn=LI, name="李女士", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=3900),
        NewSubscriber(
            msisdn=POSTPAID, name="周强", brand="全球通", plan="QQT88", created_on=date(2024, 1, 1), cash=1000
        ),
        *[
            NewSubscriber(msisdn=m, name="用户", brand="全球通", plan="QQT88", created_on=date(2024, 1, 1))
            for m in FEED
        ],
    ]
    await add_subscribers(db, people)
    await add_subscription(db, SUBSCRIBER, "GPRS10", NOW - 40 * 86400)
    await db.close()


@pytest.fixture
async def gateway(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    await seed(tmp_path / "gateway.db")
    return await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW))


def record(
    id: str, msisdn: str, category: str, quantity: int, start: str = "2026-11-23T09:00:00+08:00", duration: int = 60
) -> dict[str, Any]:
    return {
        "id": id,
        "msisdn": msisdn,
        "category": category,
        "quantity": quantity,
        "start": start,
        "duration": duration,
    }


async def post_usage(gateway: Gateway, body: object) -> tuple[int, Any]:
    """POST /api/v1/usage; the body streamed (a full batch is over a megabyte)."""
    raw = io.BytesIO(json.dumps(body).encode())
    url = f"http://127.0.0.1:{gateway.http.port}/api/v1/usage"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(url, data=raw, headers=headers) as response:
        return response.status, await response.json()


async def rate(gateway: Gateway, *records: dict[str, Any]) -> dict[str, Any]:
    status, answer = await post_usage(gateway, {"records": list(records)})
    assert status == 200, answer
    return dict(answer)


async def account(gateway: Gateway, msisdn: str) -> tuple[str, int, int]:
    """(status, cash_fen, available_fen) as the admin API shows them."""
    status, body = await call(gateway.http.port, "GET", f"/api/v1/subscribers/{msisdn}")
    assert status == 200
    return body["status"], body["account"]["cash_fen"], body["account"]["available_fen"]


def rated(id: str, msisdn: str, granted: int, charged: int, refused: int = 0, reason: str | None = None) -> Any:
    return {
        "id": id,
        "msisdn": msisdn,
        "granted": granted,
        "charged_fen": charged,
        "refused": refused,
        "reason": reason,
    }


async def test_a_record_id_is_charged_once(gateway: Gateway) -> None:
    voice = record("cdr-1", SUBSCRIBER, "voice", 61)
    first = await rate(gateway, voice, voice | {"quantity": 600})  # the same id twice in one batch
    assert first == {
        "rated": [rated("cdr-1", SUBSCRIBER, 61, 30)],
        "charged_fen": 30,
        "duplicates": ["cdr-1"],
        "rejected": [],
        "suspended": [],
    }
    sms = record("cdr-2", SUBSCRIBER, "sms", 2, start="2026-11-23T09:30:00+08:00", duration=0)
    second = await rate(gateway, voice, sms, voice)  # a later batch: sent again
    assert second == {
        "rated": [rated("cdr-2", SUBSCRIBER, 2, 20)],
        "charged_fen": 20,
        "duplicates": ["cdr-1", "cdr-1"],
        "rejected": [],
        "suspended": [],
    }
    assert await rate(gateway, sms) == {
        "rated": [],
        "charged_fen": 0,
        "duplicates": ["cdr-2"],
        "rejected": [],
        "suspended": [],
    }
    assert await account(gateway, SUBSCRIBER) == ("active", 10000 - 30 - 20, 9950)
    rows = await gateway.store.fetch("SELECT id, quantity, granted, charged FROM usage_record ORDER BY id")
    assert rows == [("cdr-1", 61, 61, 30), ("cdr-2", 2, 2, 20)]
    assert await gateway.store.fetch("SELECT cycle, category, quantity, charged FROM usage ORDER BY category") == [
        ("2026-11", "sms", 2, 20),
        ("2026-11", "voice", 61, 30),
    ]
    assert await gateway.store.fetch("SELECT day, amount FROM daily_charge") == [("2026-11-23", 50)]


async def test_rejects_go_to_the_error_list_with_their_reason(gateway: Gateway) -> None:
    port = gateway.http.port
    await rate(gateway, record("v-1", SUBSCRIBER, "voice", 300, start="2026-11-23T08:00:00+08:00", duration=300))
    answer = await rate(
        gateway,
        record("v-2", SUBSCRIBER, "voice", 60, start="2026-11-23T08:04:00+08:00", duration=60),  # within v-1
        record("v-3", SUBSCRIBER, "voice", 60, start="2026-11-23T08:05:00+08:00", duration=60),  # just after it
        record("v-4", SUBSCRIBER, "voice", 30, start="2026-11-23T08:05:30+08:00", duration=30),  # within v-3
        record("d-1", SUBSCRIBER, "data", 10, start="2026-11-23T08:04:00+08:00", duration=60),  # another category
        record("long", SUBSCRIBER, "data", 100, start="2026-11-19T08:00:00+08:00", duration=3 * 86400 + 1),
        record("3days", SUBSCRIBER, "data", 100, start="2026-11-15T08:00:00+08:00", duration=3 * 86400),
        record("who", STRANGER, "sms", 1),
    )
    assert answer["rated"] == [
        rated("v-3", SUBSCRIBER, 60, 15),
        rated("d-1", SUBSCRIBER, 10, 0),
        rated("3days", SUBSCRIBER, 100, 0),
    ]
    assert answer["rejected"] == [
        {"id": "v-2", "msisdn": SUBSCRIBER, "reason": "overlap", "detail": "overlaps record v-1"},
        {"id": "v-4", "msisdn": SUBSCRIBER, "reason": "overlap", "detail": "overlaps another record of this batch"},
        {
            "id": "long",
            "msisdn": SUBSCRIBER,
            "reason": "too_long",
            "detail": "lasts 259201 s, more than 259200 s (3 days)",
        },
        {"id": "who", "msisdn": STRANGER, "reason": "unknown_subscriber", "detail": "13999999999 is not a subscriber"},
    ]
    assert answer["charged_fen"] == 15
    assert await account(gateway, SUBSCRIBER) == ("active", 10000 - 75 - 15, 9910)

    status, listed = await call(port, "GET", "/api/v1/usage/rejects")
    assert status == 200
    assert [(r["seq"], r["id"], r["msisdn"], r["category"], r["quantity"], r["reason"]) for r in listed["rejects"]] == [
        (1, "v-2", SUBSCRIBER, "voice", 60, "overlap"),
        (2, "v-4", SUBSCRIBER, "voice", 30, "overlap"),
        (3, "long", SUBSCRIBER, "data", 100, "too_long"),
        (4, "who", STRANGER, "sms", 1, "unknown_subscriber"),
    ]
    assert listed["rejects"][0]["detail"] == "overlaps record v-1"
    assert {r["rejected_at"] for r in listed["rejects"]} == {"2026-11-23T10:13:20+08:00"}
    assert listed["next_after"] == 4
    status, page = await call(port, "GET", f"/api/v1/usage/rejects?msisdn={STRANGER}")
    assert [(r["seq"], r["id"]) for r in page["rejects"]] == [(4, "who")]
    status, page = await call(port, "GET", "/api/v1/usage/rejects?after=2")
    assert ([r["id"] for r in page["rejects"]], page["next_after"]) == (["long", "who"], 4)
    assert await call(port, "GET", "/api/v1/usage/rejects?after=4") == (200, {"rejects": [], "next_after": 4})
    status, refused = await call(port, "GET", "/api/v1/usage/rejects?after=x")
    assert (status, refused["field"]) == (400, "after")
    status, refused = await call(port, "GET", "/api/v1/usage/rejects?msisdn=123")
    assert (status, refused["field"]) == (400, "msisdn")


async def test_a_record_overlapping_the_end_of_a_three_day_record_is_found(gateway: Gateway) -> None:
    three_days = record("long-ok", SUBSCRIBER, "data", 1000, start="2026-11-20T08:00:00+08:00", duration=3 * 86400)
    assert (await rate(gateway, three_days))["rated"] == [rated("long-ok", SUBSCRIBER, 1000, 0)]
    answer = await rate(
        gateway,
        record("just-before", SUBSCRIBER, "data", 1, start="2026-11-20T07:59:59+08:00", duration=1),
        record("last-second", SUBSCRIBER, "data", 1, start="2026-11-23T07:59:59+08:00", duration=1),
        record("first-second", SUBSCRIBER, "data", 1, start="2026-11-20T08:00:00+08:00", duration=1),
        record("just-after", SUBSCRIBER, "data", 1, start="2026-11-23T08:00:00+08:00", duration=1),
    )
    assert [r["id"] for r in answer["rated"]] == ["just-before", "just-after"]
    assert [(r["id"], r["reason"], r["detail"]) for r in answer["rejected"]] == [
        ("last-second", "overlap", "overlaps record long-ok"),
        ("first-second", "overlap", "overlaps record long-ok"),
    ]


async def test_seed_000_the_balance_stops_at_zero_and_the_rest_is_refused(gateway: Gateway, sim: SmscSimulator) -> None:
    # 39元 left, no data package, then a long browsing session: rated at once, granted what 39元 pays for.
    answer = await rate(gateway, record("gprs-1", LI, "data", 37400, start="2026-11-23T08:00:00+08:00", duration=7200))
    assert answer == {
        "rated": [rated("gprs-1", LI, 3900, 3900, 33500, "insufficient_balance")],
        "charged_fen": 3900,
        "duplicates": [],
        "rejected": [],
        "suspended": [LI],
    }
    assert await account(gateway, LI) == ("suspended", 0, 0)  # not -335元
    _, listed = await call(gateway.http.port, "GET", f"/api/v1/usage/rejects?msisdn={LI}")
    [reject] = listed["rejects"]
    assert (reject["id"], reject["category"], reject["quantity"], reject["reason"], reject["detail"]) == (
        "gprs-1",
        "data",
        33500,
        "insufficient_balance",
        "33500 of 37400 not granted",
    )
    [suspension] = await sim.wait_for_mts(1, destination_addr=LI)
    assert (suspension.source_addr, suspension.text) == (
        "10086",
        "尊敬的客户，您的号码因余额不足已停机，可用余额0.00元。缴费后将实时开机；如需临时使用可发送JJKJ办理紧急开机。",
    )
    # Usage arriving while suspended is refused whole.
    later = await rate(gateway, record("gprs-2", LI, "data", 10, start="2026-11-23T10:05:00+08:00"))
    assert later["rejected"] == [
        {"id": "gprs-2", "msisdn": LI, "reason": "suspended", "detail": "the number is suspended: no usage is granted"}
    ]
    assert await account(gateway, LI) == ("suspended", 0, 0)


async def test_postpaid_usage_is_granted_and_suspends_below_zero(gateway: Gateway) -> None:
    answer = await rate(gateway, record("pp-1", POSTPAID, "data", 1500), record("pp-2", POSTPAID, "sms", 1))
    assert answer["rated"] == [rated("pp-1", POSTPAID, 1500, 1500), rated("pp-2", POSTPAID, 1, 10)]
    assert answer["suspended"] == [POSTPAID]
    assert await account(gateway, POSTPAID) == ("suspended", -510, -510)
    # Usage from before the suspension (10:13:20), reported afterwards, is still rated...
    answer = await rate(gateway, record("pp-3", POSTPAID, "mms", 1, start="2026-11-23T10:00:00+08:00"))
    assert (answer["rated"], answer["suspended"]) == ([rated("pp-3", POSTPAID, 1, 30)], [])
    assert await account(gateway, POSTPAID) == ("suspended", -540, -540)
    # ...usage from after it is not: 暂停服务后不再计列收入 (seed 001), postpaid as prepaid
    answer = await rate(gateway, record("pp-4", POSTPAID, "voice", 600, start="2026-11-23T10:20:00+08:00"))
    assert answer["rated"] == []
    assert [(r["id"], r["reason"]) for r in answer["rejected"]] == [("pp-4", "suspended")]
    assert await account(gateway, POSTPAID) == ("suspended", -540, -540)


async def test_101_and_108_show_the_new_charges(gateway: Gateway, sim: SmscSimulator) -> None:
    answer = await rate(
        gateway,
        record("d-1", SUBSCRIBER, "data", GPRS10_KB + 2047, start="2026-11-23T08:00:00+08:00", duration=3600),
        record("v-1", SUBSCRIBER, "voice", 61, start="2026-11-23T09:00:00+08:00", duration=61),
        record("s-1", SUBSCRIBER, "sms", 3, start="2026-11-23T09:10:00+08:00", duration=0),
    )
    assert [r["charged_fen"] for r in answer["rated"]] == [100, 30, 30]
    # The package is used up: the reminder comes first (10086, not quiet hours).
    [used_up] = await sim.wait_for_mts(1, destination_addr=SUBSCRIBER)
    assert (used_up.source_addr, used_up.text) == (
        "10086",
        "尊敬的客户，截至11月23日10时，您本月套餐内流量已用完，超出部分按1元/MB收费（不足1MB不收费），每月最多收取500元。"
        "回复TDTX退订提醒。",
    )
    assert await ask(sim, SUBSCRIBER, "10001", "101") == (
        "您好，截至11月23日10时，您本月已产生费用1.60元，其中语音通话费0.30元、短信费0.30元、上网流量费1.00元。"
        "当前账户余额98.40元，可用余额98.40元。"
    )
    assert await ask(sim, SUBSCRIBER, "10001", "108") == (
        "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用70.00MB，剩余0MB；合计剩余0MB。"
        "套餐外流量1.99MB，流量费1.00元。"  # 2047KB: one whole MB charged, and shown as it is charged
    )
    await rate(gateway, record("d-2", SUBSCRIBER, "data", 1, start="2026-11-23T10:00:00+08:00"))
    assert await ask(sim, SUBSCRIBER, "10001", "108") == (
        "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用70.00MB，剩余0MB；合计剩余0MB。"
        "套餐外流量2.00MB，流量费2.00元。"
    )
    assert await ask(sim, SUBSCRIBER, "10001", "102") == (
        "您好，您的账户余额为97.40元，其中现金余额97.40元，赠送余额0.00元；可用余额97.40元。"
    )


# --- validation --------------------------------------------------------------------------------------

GOOD = record("ok-1", SUBSCRIBER, "sms", 1)


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


BAD_RECORDS: list[tuple[str, object, str]] = [
    *[(f"no {name}", without(name), f"[0] {name}: is required") for name in GOOD],
    ("float quantity", GOOD | {"quantity": 1.0}, "[0] quantity: must be a whole number (a JSON integer), got 1.0"),
    ("bool quantity", GOOD | {"quantity": True}, "[0] quantity: must be a whole number (a JSON integer), got true"),
    ("negative quantity", GOOD | {"quantity": -1}, "[0] quantity: must be between 0 and 1099511627776, got -1"),
    ("string duration", GOOD | {"duration": "60"}, '[0] duration: must be a whole number (a JSON integer), got "60"'),
    (
        "start without offset",
        GOOD | {"start": "2026-11-23T09:00:00"},
        '[0] start: must carry its offset (+08:00), got "2026-11-23T09:00:00"',
    ),
    ("start a day", GOOD | {"start": "2026-11-23"}, '[0] start: must carry its offset (+08:00), got "2026-11-23"'),
    ("start not a time", GOOD | {"start": "yesterday"}, "[0] start: must be an ISO 8601 time with its offset, such"),
    ("start epoch", GOOD | {"start": 1795400000}, "[0] start: must be an ISO 8601 time with its offset, got 17954"),
    ("category", GOOD | {"category": "fax"}, '[0] category: must be one of voice, sms, mms, data, got "fax"'),
    ("msisdn", GOOD | {"msisdn": "1380013800"}, "[0] msisdn: must be a string of 11 digits starting with 1"),
    ("id", GOOD | {"id": "a b"}, "[0] id: must be a string of 1 to 64 characters"),
    ("unknown field", GOOD | {"cost": 1}, "[0] cost: unknown field"),
    ("not an object", [GOOD], "[0] the body must be a JSON object"),
]


@pytest.mark.parametrize(("bad", "message"), [b[1:] for b in BAD_RECORDS], ids=[b[0] for b in BAD_RECORDS])
async def test_a_bad_record_refuses_the_whole_batch(gateway: Gateway, bad: object, message: str) -> None:
    status, answer = await post_usage(gateway, {"records": [GOOD | {"id": "ok-0"}, bad]})
    assert (status, answer["code"], answer["field"]) == (400, "bad_field", "records")
    assert answer["message"].startswith("records: " + message.replace("[0]", "[1]"))
    assert await gateway.store.fetch("SELECT * FROM usage_record") == []
    assert await account(gateway, SUBSCRIBER) == ("active", 10000, 10000)


BAD_BATCHES: list[tuple[str, object, str, str, str]] = [
    ("not a list", {"records": GOOD}, "bad_field", "records", "records: must be a list of 1 to 10000 usage records"),
    ("empty", {"records": []}, "bad_field", "records", "records: must be a list of 1 to 10000 usage records, got []"),
    ("no records", {}, "bad_field", "records", "records: is required"),
    ("unknown field", {"records": [GOOD], "x": 1}, "unknown_field", "x", "x: unknown field (known: records)"),
]


@pytest.mark.parametrize(
    ("body", "code", "name", "message"), [b[1:] for b in BAD_BATCHES], ids=[b[0] for b in BAD_BATCHES]
)
async def test_a_bad_batch_is_refused_naming_the_field(
    gateway: Gateway, body: object, code: str, name: str, message: str
) -> None:
    status, answer = await post_usage(gateway, body)
    assert (status, answer["code"], answer["field"]) == (400, code, name)
    assert answer["message"].startswith(message)
    assert await gateway.store.fetch("SELECT * FROM usage_record") == []


def many(count: int, msisdns: list[str]) -> list[dict[str, Any]]:
    """``count`` single SMS dealt out over ``msisdns``, each number's an hour apart from 12 October, with ids as
    a feed gives them."""
    first = datetime(2026, 10, 12, tzinfo=timezone(timedelta(hours=8)))
    return [
        record(
            f"cdr-{n:06d}",
            msisdns[n % len(msisdns)],
            "sms",
            1,
            (first + timedelta(hours=n // len(msisdns))).isoformat(),
            0,
        )
        for n in range(count)
    ]


async def test_more_than_10000_records_are_refused(gateway: Gateway) -> None:
    status, answer = await post_usage(gateway, {"records": many(10001, FEED)})
    assert (status, answer["code"], answer["field"]) == (400, "bad_field", "records")
    assert answer["message"] == "records: must hold at most 10000 records, got 10001"
    assert await gateway.store.fetch("SELECT count(*) FROM usage_record") == [(0,)]


async def test_a_full_batch_of_10000_records_is_taken(gateway: Gateway) -> None:
    # 100 records, then the same ids again and again up to 10,000: over a megabyte of JSON, rated once each.
    first = many(100, FEED)
    body = {"records": [first[n % 100] for n in range(10000)]}
    assert len(json.dumps(body)) > 1024 * 1024
    status, answer = await post_usage(gateway, body)
    assert status == 200, answer
    assert (len(answer["rated"]), answer["charged_fen"], answer["rejected"]) == (100, 1000, [])
    assert answer["duplicates"] == [r["id"] for r in first] * 99
    assert answer["suspended"] == FEED  # postpaid at 0元: granted, then suspended below zero
    assert await account(gateway, FEED[0]) == ("suspended", -100, -100)


async def test_a_batch_is_rated_in_order_across_its_chunks(gateway: Gateway) -> None:
    # 600 SMS for 39元 (250 records a transaction): 390 granted, the others refused, each one listed.
    answer = await rate(gateway, *many(600, [LI]))
    granted = [r for r in answer["rated"] if r["granted"]]
    assert [r["id"] for r in granted] == [f"cdr-{n:06d}" for n in range(390)]
    assert (answer["charged_fen"], answer["suspended"]) == (3900, [LI])
    refused = {r["id"]: r["reason"] for r in answer["rated"] if not r["granted"]}
    refused |= {r["id"]: r["reason"] for r in answer["rejected"]}
    assert sorted(refused) == [f"cdr-{n:06d}" for n in range(390, 600)]
    assert set(refused.values()) <= {"insufficient_balance", "suspended"}
    assert await account(gateway, LI) == ("suspended", 0, 0)
    [(listed,)] = await gateway.store.fetch("SELECT count(*) FROM usage_reject WHERE msisdn = ?", (LI,))
    assert listed == 210
