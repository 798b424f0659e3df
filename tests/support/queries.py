"""The ledger of the query tests, at 2026-11-23 10:13:20 in Shanghai (NOW; this cycle is 2026-11, the last
2026-10): MAIN with packages, fees, usage, bills and payments, and a subscriber for each other case."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest import SUBSCRIBER

from gateway.db.database import open_database
from gateway.ledger.writes import (
    add_bill,
    add_fee,
    add_payment,
    add_subscribers,
    add_subscription,
    add_usage,
)
from gateway.model.ledger import NewSubscriber

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """The epoch instant of a Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


END_OF_NOVEMBER = at(2026, 12, 1)  # where a package cancelled this month stops

MAIN = SUBSCRIBER  # 动感地带, cash and gift, packages (one cancelled), fees, usage, bills, payments
EMPTY = "13800000001"  # nothing at all
GIFT_ONLY = "13800000002"  # gift balance only, last day today
GIFT_EXPIRED = "13800000003"  # gift balance that expired yesterday
ARREARS = "13800000004"  # suspended, below zero
POSTPAID = "13800000005"  # 全球通 with a credit limit, bills with a gap
POSTPAID_OVER = "13800000006"  # 全球通 beyond its credit limit
DATA_15GB = "13800000007"  # GPRS200 and 15GB: both caps
NO_DATA_PACKAGE = "13800000008"  # missed-call alerts and an SMS pack, data without a package
DATA_CHARGE_CAP = "13800000009"  # no package, data charges at the 500元 cap
TERMINATED = "13800000010"  # closed, with figures that must not leak


def person(msisdn: str, plan: str = "SZX", brand: str = "神州行", **account: Any) -> NewSubscriber:
    return NewSubscriber(msisdn=msisdn, name="测试用户", brand=brand, plan=plan, created_on=date(2026, 1, 1), **account)


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            person(MAIN, "DGDD28", "动感地带", cash=5630, gift=1000, gift_expires=date(2026, 12, 31), points=1288),
            person(EMPTY),
            person(GIFT_ONLY, gift=2000, gift_expires=date(2026, 11, 23)),
            person(GIFT_EXPIRED, cash=1500, gift=800, gift_expires=date(2026, 11, 22)),
            person(ARREARS, status="suspended", cash=-320, points=12),
            person(POSTPAID, "QQT88", "全球通", vip="gold", cash=-4500, credit_limit=10000),
            person(POSTPAID_OVER, "QQT138", "全球通", cash=-12000, credit_limit=10000),
            person(DATA_15GB, "QQT138", "全球通", credit_limit=100000),
            person(NO_DATA_PACKAGE, cash=3000),
            person(DATA_CHARGE_CAP, cash=1000),
            person(TERMINATED, "DGDD28", "动感地带", status="terminated", cash=5000, gift=700, points=300),
        ],
    )

    # MAIN: subscriptions, oldest first: LDTX; CL ended before this month; GPRS3 cancelled this month;
    # GPRS10 on the 15th at 23:59:59 (whole quota); GPRS5 on the 16th at 00:00:00 (half quota).
    await add_subscription(db, MAIN, "GPRS5", at(2026, 11, 16))
    await add_subscription(db, MAIN, "LDTX", at(2026, 5, 3, 9))
    await add_subscription(db, MAIN, "CL", at(2026, 3, 1, 10), ends_at=at(2026, 9, 1))
    await add_subscription(db, MAIN, "GPRS10", at(2026, 11, 15, 23, 59, 59))
    await add_subscription(db, MAIN, "GPRS3", at(2026, 8, 10, 12), ends_at=END_OF_NOVEMBER)
    for category, product, amount in [
        ("data", "GPRS10", 1000),
        ("data", "GPRS5", 250),
        ("vas", "LDTX", 300),
        ("plan", "DGDD28", 2800),
        ("data", "GPRS3", 300),
    ]:
        await add_fee(db, MAIN, "2026-11", category, product, amount, at(2026, 11, 1, 0, 5))
    await add_fee(db, MAIN, "2026-10", "plan", "DGDD28", 2800, at(2026, 10, 1, 0, 5))
    await add_usage(db, MAIN, "2026-11", "data", 30000)
    await add_usage(db, MAIN, "2026-11", "voice", 3000, 1200)
    await add_usage(db, MAIN, "2026-11", "voice", 600, 320)  # adds up: 3600 s, 15.20元
    await add_usage(db, MAIN, "2026-11", "sms", 40)  # within the SMS allowance: no line
    await add_usage(db, MAIN, "2026-11", "mms", 3, 90)
    await add_usage(db, MAIN, "2026-10", "data", 999999, 12345)
    for cycle, lines in [
        ("2026-07", {"plan": 2800, "mms": 30}),
        ("2026-03", {"plan": 2800}),
        ("2026-10", {"data": 1000, "voice": 0, "sms": 120, "plan": 2800, "vas": 300}),
        ("2026-05", {"plan": 2800, "data": 1000}),
        ("2026-09", {"plan": 2800, "vas": 300, "data": 5000}),
        ("2026-04", {"plan": 2800, "sms": 50}),
        ("2026-08", {"plan": 2800, "vas": 300}),
        ("2026-06", {"plan": 2800, "voice": 1234}),
    ]:
        await add_bill(db, MAIN, cycle, lines)
    for amount, channel, paid_at in [
        (10000, "营业厅", at(2026, 11, 1, 0, 30)),  # 2026-10-31 16:30 UTC: the 1st in Shanghai
        (3000, "网上营业厅", at(2026, 6, 2, 10)),
        (3000, "微信", at(2026, 11, 20, 14)),
        (5000, "营业厅", at(2026, 5, 2, 9)),
        (2000, "充值卡", at(2026, 8, 20, 18)),
        (10000, "银行代扣", at(2026, 7, 15, 12)),
        (5000, "支付宝", at(2026, 10, 1, 7)),  # 2026-09-30 23:00 UTC
    ]:
        await add_payment(db, MAIN, amount, channel, paid_at)

    await add_usage(db, ARREARS, "2026-11", "voice", 600, 320)

    await add_fee(db, POSTPAID, "2026-11", "plan", "QQT88", 8800, at(2026, 11, 1, 0, 5))
    await add_bill(db, POSTPAID, "2026-10", {"plan": 8800})
    await add_bill(db, POSTPAID, "2026-08", {"plan": 8800, "voice": 550})
    await add_bill(db, POSTPAID, "2026-02", {"plan": 8800})  # older than six months

    await add_subscription(db, DATA_15GB, "GPRS200", at(2026, 9, 1, 9))
    await add_usage(db, DATA_15GB, "2026-11", "data", 15728640, 50000)

    await add_subscription(db, NO_DATA_PACKAGE, "LDTX", at(2026, 9, 1, 8))
    await add_subscription(db, NO_DATA_PACKAGE, "DX3", at(2026, 10, 5, 8))
    await add_usage(db, NO_DATA_PACKAGE, "2026-11", "data", 2048, 2048)

    await add_usage(db, DATA_CHARGE_CAP, "2026-11", "data", 10485760, 50000)

    await add_subscription(db, TERMINATED, "LDTX", at(2026, 9, 1, 8))
    await add_fee(db, TERMINATED, "2026-11", "plan", "DGDD28", 2800, at(2026, 11, 1, 0, 5))
    await add_usage(db, TERMINATED, "2026-11", "data", 4096, 0)
    await add_bill(db, TERMINATED, "2026-10", {"plan": 2800})
    await add_payment(db, TERMINATED, 5000, "营业厅", at(2026, 10, 3, 9))
    await db.close()
