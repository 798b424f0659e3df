"""The fixed cast of the demo ledger: 13800138000 (the number the demo types as) and the people the docs
name (13900139000, a 全球通 postpaid with a credit limit; arrears; suspended; terminated; an expired gift;
a data-heavy diamond VIP). Their history is placed relative to the cycle of ``now``.
"""

from __future__ import annotations

from gateway.ledger.calendar import add_months
from gateway.ledger.demo_people import Held, Moments, Person
from gateway.model.ledger import NewSubscriber


def demo_subscriber(at: Moments) -> Person:
    """13800138000, the number the demo types as; its figures are listed in docs/ledger.md."""
    subscriber = NewSubscriber(
        msisdn="13800138000",
        name="李明",
        brand="动感地带",
        vip="silver",
        plan="DGDD28",
        cash=5890,
        gift=2000,
        gift_expires=at.month_end(1),
        valid_until=at.month_end(12),
        points=1286,
        password="582947",
        id_number="110105198805161231",
        created_on=at.day(40, 12),
    )
    bills = {
        1: {"plan": 2800, "vas": 300, "voice": 620, "sms": 380, "data": 1000},
        2: {"plan": 2800, "vas": 150, "voice": 455, "sms": 290, "mms": 30, "data": 1000},
        3: {"plan": 2800, "voice": 910, "sms": 510, "data": 1300},
        4: {"plan": 2800, "voice": 385, "sms": 260, "data": 1000},
        5: {"plan": 2800, "voice": 540, "sms": 330, "mms": 60, "data": 1000},
        6: {"plan": 2800, "voice": 705, "sms": 420, "data": 1536},
    }
    payments = (
        (5000, "充值卡", at.at(6, 5, 10, 12)),
        (10000, "微信", at.at(5, 2, 20, 41)),
        (5000, "支付宝", at.at(4, 28, 12, 3)),
        (3000, "网上营业厅", at.at(3, 15, 16, 20)),
        (10000, "营业厅", at.at(2, 1, 9, 5)),
        (5000, "支付宝", at.at(1, 3, 21, 30)),
    )
    return Person(
        subscriber=subscriber,
        subscriptions=(
            Held(product="GPRS10", started_at=at.at(5, 3, 9, 30)),
            Held(product="LDTX", started_at=at.at(2, 20, 14, 8)),
        ),
        usage={"voice": 1860, "sms": 42, "data": 24064},
        bills={add_months(at.cycle, -n): lines for n, lines in bills.items()},
        payments=payments,
    )


def others(at: Moments) -> list[Person]:
    """The rest of the cast, in the order docs/ledger.md lists them."""
    return [_postpaid(at), _arrears(at), _suspended(at), _terminated(at), _expired_gift(at), _data_heavy(at)]


def _postpaid(at: Moments) -> Person:
    """13900139000: 全球通 postpaid with a credit limit, VIP gold, a news paper ordered late last month."""
    subscriber = NewSubscriber(
        msisdn="13900139000", name="王芳", brand="全球通", vip="gold", plan="QQT138", cash=32650,
        credit_limit=50000, points=8640, password="730518", id_number="310104199208142150",
        created_on=at.day(86, 6),
    )  # fmt: skip
    held = (
        Held(product="GPRS100", started_at=at.at(14, 2)),
        Held(product="CL", started_at=at.at(9, 11)),
        Held(product="XWZWB", started_at=at.at(1, 18, 19, 45)),
    )
    return Person(
        subscriber=subscriber, subscriptions=held, usage={"voice": 14220, "sms": 96, "mms": 3, "data": 1258291}
    )


def _arrears(at: Moments) -> Person:
    """13600136000: in arrears (negative cash) but within the credit limit, so still active."""
    subscriber = NewSubscriber(
        msisdn="13600136000", name="陈静", brand="全球通", plan="QQT88", cash=-4580, credit_limit=10000,
        points=2210, created_on=at.day(51, 23),
    )  # fmt: skip
    held = (Held(product="GPRS20", started_at=at.at(7, 9)),)
    return Person(subscriber=subscriber, subscriptions=held, usage={"voice": 6300, "sms": 18, "data": 98304})


def _suspended(at: Moments) -> Person:
    """13700137000: prepaid, ran below zero, suspended."""
    subscriber = NewSubscriber(
        msisdn="13700137000", name="刘洋", brand="神州行", plan="SZX", status="suspended", cash=-230,
        valid_until=at.month_end(3), points=175, created_on=at.day(27, 4),
    )  # fmt: skip
    return Person(subscriber=subscriber, subscriptions=(Held(product="GPRS3", started_at=at.at(4, 2)),))


def _terminated(at: Moments) -> Person:
    """13500135000: suspended five months ago without paying, terminated since."""
    subscriber = NewSubscriber(
        msisdn="13500135000", name="周杰", brand="神州行", plan="SZX", status="terminated", cash=-860,
        created_on=at.day(60, 17),
    )  # fmt: skip
    return Person(
        subscriber=subscriber, subscriptions=(Held(product="LDTX", started_at=at.at(30, 5), ends_at=at.at(2, 8)),)
    )


def _expired_gift(at: Moments) -> Person:
    """15800158000: a gift book that expired at the end of last month (forfeited), an SMS pack."""
    subscriber = NewSubscriber(
        msisdn="15800158000", name="孙丽", brand="动感地带", plan="DGDD28", cash=1230, gift=500,
        gift_expires=at.month_end(-1), valid_until=at.month_end(6), points=420, created_on=at.day(15, 9),
    )  # fmt: skip
    held = (Held(product="GPRS5", started_at=at.at(3, 6)), Held(product="DX6", started_at=at.at(3, 6)))
    return Person(subscriber=subscriber, subscriptions=held, usage={"voice": 2400, "sms": 77, "data": 20480})


def _data_heavy(at: Moments) -> Person:
    """18800188000: VIP diamond far beyond a GPRS20 package this cycle."""
    subscriber = NewSubscriber(
        msisdn="18800188000", name="吴磊", brand="全球通", vip="diamond", plan="QQT138", cash=120000,
        credit_limit=100000, points=15320, created_on=at.day(98, 1),
    )  # fmt: skip
    held = (Held(product="GPRS20", started_at=at.at(11, 3)), Held(product="CL", started_at=at.at(11, 3)))
    return Person(subscriber=subscriber, subscriptions=held, usage={"voice": 25380, "sms": 20, "data": 400000})
