"""The demo ledger holds the promised people and figures; the bulk seed is plain and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.config import PROJECT_ROOT
from gateway.db.database import open_database
from gateway.db.unit import Database
from gateway.errors import ImportRejected
from gateway.ledger import seed
from gateway.ledger.calendar import Calendar
from gateway.ledger.products import Products
from gateway.ledger.reads import Ledger
from gateway.ledger.secrets import verify_secret
from gateway.ledger.seed import seed_bulk, seed_demo
from gateway.model.ledger import Account, Payment, Usage
from gateway.types import Fen

CALENDAR = Calendar.named("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CALENDAR.zone).timestamp()
DEMO = "13800138000"


@pytest.fixture(scope="module")
def products() -> Products:
    return Products.load(PROJECT_ROOT / "config" / "products.toml")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_database(str(tmp_path / "ledger.db"))
    yield connection
    await connection.close()


@pytest.fixture
async def ledger(db: Database, products: Products) -> Ledger:
    await seed_demo(db, now=NOW, products=products, calendar=CALENDAR)
    return Ledger(db, products=products, calendar=CALENDAR)


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await db.fetch(sql)]


def local(instant: float) -> str:
    return CALENDAR.local(instant).strftime("%Y-%m-%d %H:%M")


async def test_the_demo_subscriber_has_the_documented_account(ledger: Ledger, db: Database) -> None:
    subscriber, account = await ledger.subscriber(DEMO)

    assert (subscriber.name, subscriber.brand, subscriber.plan, subscriber.vip, subscriber.status) == (
        "李明",
        "动感地带",
        "DGDD28",
        "silver",
        "active",
    )
    assert subscriber.created_on == date(2023, 7, 12)
    assert account == Account(
        cash=Fen(5890),
        gift=Fen(2000),
        gift_expires=date(2026, 12, 31),  # the end of next month
        credit_limit=Fen(0),
        valid_until=date(2027, 11, 30),
        points=1286,
    )
    ((password_hash, id_hash),) = await rows(
        db, f"SELECT password_hash, id_hash FROM subscriber WHERE msisdn = '{DEMO}'"
    )
    assert verify_secret("582947", str(password_hash))
    assert verify_secret("110105198805161231", str(id_hash))


async def test_the_demo_subscriber_this_cycle(ledger: Ledger) -> None:
    held = await ledger.subscriptions(DEMO, "2026-11")
    assert [(s.product, local(s.started_at), s.ends_at) for s in held] == [
        ("GPRS10", "2026-06-03 09:30", None),
        ("LDTX", "2026-09-20 14:08", None),
    ]
    assert await ledger.usage(DEMO, "2026-11") == {
        "voice": Usage(category="voice", quantity=1860, charged=Fen(465)),
        "sms": Usage(category="sms", quantity=42, charged=Fen(420)),
        "data": Usage(category="data", quantity=24064, charged=Fen(0)),
    }
    assert await ledger.charges(DEMO, "2026-11") == {
        "plan": 2800,
        "data_package": 1000,
        "vas": 300,
        "voice": 465,
        "sms": 420,
    }


async def test_the_demo_subscriber_has_six_bills_that_add_up(ledger: Ledger) -> None:
    cycles = ["2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"]
    bills = [await ledger.bill(DEMO, cycle) for cycle in cycles]

    assert [(b.cycle, b.total) for b in bills if b] == list(
        zip(cycles, [5100, 4725, 5520, 4445, 4730, 5461], strict=True)
    )
    for bill in bills:
        assert bill is not None
        assert bill.total == sum(amount for _, amount in bill.lines)
    assert dict(bills[1].lines if bills[1] else ()) == {
        "plan": 2800,
        "vas": 150,
        "voice": 455,
        "sms": 290,
        "mms": 30,
        "data": 1000,
    }
    assert await ledger.bill(DEMO, "2026-04") is None


async def test_the_demo_subscriber_has_paid_six_times(ledger: Ledger) -> None:
    payments = await ledger.payments(DEMO, 10)
    assert [(p.amount, p.channel, local(p.paid_at)) for p in payments] == [
        (5000, "支付宝", "2026-10-03 21:30"),
        (10000, "营业厅", "2026-09-01 09:05"),
        (3000, "网上营业厅", "2026-08-15 16:20"),
        (5000, "支付宝", "2026-07-28 12:03"),
        (10000, "微信", "2026-06-02 20:41"),
        (5000, "充值卡", "2026-05-05 10:12"),
    ]
    assert all(isinstance(p, Payment) for p in payments)


async def test_the_cast_is_there(ledger: Ledger) -> None:
    wang, wang_account = await ledger.subscriber("13900139000")
    assert (wang.brand, wang.plan, wang.vip, wang_account.credit_limit) == ("全球通", "QQT138", "gold", 50000)
    chen, chen_account = await ledger.subscriber("13600136000")
    assert (chen.status, chen_account.cash, chen_account.available_on(date(2026, 11, 18))) == ("active", -4580, 5420)
    assert (await ledger.subscriber("13700137000"))[0].status == "suspended"
    assert (await ledger.subscriber("13500135000"))[0].status == "terminated"
    _, sun = await ledger.subscriber("15800158000")
    assert (sun.gift, sun.gift_on(date(2026, 11, 18))) == (500, 0)  # expired at the end of last month


async def test_the_crowd_mixes_brands_plans_vip_levels_and_statuses(db: Database, ledger: Ledger) -> None:
    people = await rows(
        db, "SELECT s.brand, s.plan, s.vip, s.status, a.cash FROM subscriber s JOIN account a USING (msisdn)"
    )
    assert 30 <= len(people) <= 50
    assert {p[0] for p in people} == {"全球通", "动感地带", "神州行"}
    assert {p[1] for p in people} == {"SZX", "SJK", "DGDD28", "QQT88", "QQT138"}
    assert {p[2] for p in people} == {"none", "silver", "gold", "diamond"}
    assert {p[3] for p in people} == {"active", "suspended", "terminated"}
    assert sum(1 for p in people if isinstance(p[4], int) and p[4] < 0) >= 1
    assert await rows(db, "SELECT COUNT(*) FROM subscriber WHERE status = 'terminated'") == [(1,)]
    channels = {c for (c,) in await rows(db, "SELECT DISTINCT channel FROM payment")}
    assert channels == {"营业厅", "充值卡", "网上营业厅", "微信", "支付宝", "银行代扣"}


async def test_every_bill_adds_up_and_every_fee_has_its_package_kind(
    db: Database, ledger: Ledger, products: Products
) -> None:
    assert (
        await rows(
            db,
            "SELECT b.msisdn, b.cycle FROM bill b JOIN bill_line l USING (msisdn, cycle)"
            " GROUP BY b.msisdn, b.cycle HAVING b.total != SUM(l.amount)",
        )
        == []
    )
    for category, product in await rows(db, "SELECT DISTINCT category, product FROM fee"):
        expected = "plan" if product in products.plans else products.package(str(product)).kind
        assert category == expected
    lines = {c for (c,) in await rows(db, "SELECT DISTINCT category FROM bill_line")}
    assert lines == {"plan", "vas", "voice", "sms", "mms", "data"}


async def test_the_terminated_and_suspended_have_nothing_this_cycle(db: Database, ledger: Ledger) -> None:
    for msisdn in ("13500135000", "13700137000"):
        assert await ledger.usage(msisdn, "2026-11") == {}
        assert await ledger.charges(msisdn, "2026-11") == {}


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 12, 1, 0, 0, 30), datetime(2026, 2, 28, 23, 59), datetime(2027, 1, 16, 12, 0)],
)
async def test_nothing_is_seeded_in_the_future(db: Database, products: Products, moment: datetime) -> None:
    now = moment.replace(tzinfo=CALENDAR.zone).timestamp()
    await seed_demo(db, now=now, products=products, calendar=CALENDAR)
    instants = await rows(
        db,
        "SELECT started_at FROM subscription UNION ALL SELECT charged_at FROM fee"
        " UNION ALL SELECT paid_at FROM payment",
    )
    assert max(float(str(i)) for (i,) in instants) <= now
    days = await rows(db, "SELECT created_on FROM subscriber")
    assert max(str(d) for (d,) in days) <= CALENDAR.today(now).isoformat()


async def test_the_demo_is_the_same_every_time(tmp_path: Path, products: Products) -> None:
    dumps = []
    for name in ("a.db", "b.db"):
        db = await open_database(str(tmp_path / name))
        numbers = await seed_demo(db, now=NOW, products=products, calendar=CALENDAR)
        dumps.append(
            (
                numbers,
                await rows(db, "SELECT msisdn, name, brand, vip, plan, status, created_on FROM subscriber"),
                await rows(db, "SELECT * FROM account"),
                await rows(db, "SELECT * FROM bill_line"),
                await rows(db, "SELECT * FROM payment"),
                await rows(db, "SELECT * FROM usage"),
            )
        )
        await db.close()
    assert dumps[0] == dumps[1]
    assert dumps[0][0][:2] == [DEMO, "13900139000"]
    assert len(set(dumps[0][0])) == len(dumps[0][0])


async def test_seeding_the_demo_twice_is_rejected_and_changes_nothing(db: Database, ledger: Ledger) -> None:
    before = await rows(db, "SELECT (SELECT COUNT(*) FROM subscriber), (SELECT COUNT(*) FROM fee)")
    with pytest.raises(ImportRejected) as caught:
        await seed_demo(db, now=NOW, products=ledger.products, calendar=CALENDAR)
    assert caught.value.problems[0].startswith(f"{before[0][0]} of the demo numbers are already in the ledger: ")
    assert await rows(db, "SELECT (SELECT COUNT(*) FROM subscriber), (SELECT COUNT(*) FROM fee)") == before


async def test_bulk_seeds_plain_subscribers_in_chunks(
    db: Database, products: Products, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed, "BULK_CHUNK", 700)
    assert await seed_bulk(db, count=2005, now=NOW, products=products, calendar=CALENDAR) == 2005

    counts = await rows(
        db,
        "SELECT (SELECT COUNT(*) FROM subscriber), (SELECT COUNT(*) FROM account),"
        " (SELECT COUNT(*) FROM subscription), (SELECT COUNT(*) FROM usage), (SELECT COUNT(*) FROM fee),"
        " (SELECT MIN(msisdn) || '-' || MAX(msisdn) FROM subscriber)",
    )
    assert counts == [(2005, 2005, 201, 201, 201, "13000000000-13000002004")]
    ledger = Ledger(db, products=products, calendar=CALENDAR)
    subscriber, account = await ledger.subscriber("13000000010")
    assert (subscriber.vip, subscriber.status, subscriber.created_on) == ("none", "active", date(2026, 11, 18))
    assert account.cash == 13000000010 * 7919 % 50_000
    assert [s.product for s in await ledger.subscriptions("13000000010", "2026-11")] == ["GPRS10"]
    (data,) = (await ledger.usage("13000000010", "2026-11")).values()
    assert (data.category, data.charged) == ("data", 0)
    assert 0 < data.quantity < products.package("GPRS10").quota_kb
    assert await ledger.subscriptions("13000000011", "2026-11") == []
    assert await rows(db, "SELECT COUNT(*) FROM subscriber WHERE password_hash IS NOT NULL") == [(0,)]


async def test_bulk_refuses_a_range_already_taken(db: Database, products: Products) -> None:
    await seed_bulk(db, count=10, now=NOW, products=products, calendar=CALENDAR, start_msisdn=13000000100)
    with pytest.raises(ImportRejected) as caught:
        await seed_bulk(db, count=200, now=NOW, products=products, calendar=CALENDAR, start_msisdn=13000000000)
    assert caught.value.problems == ["10 of the numbers 13000000000 to 13000000199 are already in the ledger"]
    assert await rows(db, "SELECT COUNT(*) FROM subscriber") == [(10,)]


async def test_bulk_numbers_must_stay_eleven_digits(db: Database, products: Products) -> None:
    with pytest.raises(ValueError, match="must be 11 digits starting with 1"):
        await seed_bulk(db, count=2, now=NOW, products=products, calendar=CALENDAR, start_msisdn=19999999999)
