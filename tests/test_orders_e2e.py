"""Orders, cancellations and the 0000 list end to end: a seeded ledger, the gateway bound to the simulator,
MOs in, the exact answers out, and the ledger rows they leave (account books, fee lines, subscriptions).

The clock starts at 2026-11-23 10:13:20 in Shanghai (on or after the 16th: half the monthly fee); a test
that wants the full fee sets it to the 15th before its first MO.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import StartGateway, ask

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db import dialogs
from gateway.db.database import open_database
from gateway.db.unit import Tx
from gateway.ledger.writes import add_fee, add_subscribers, add_subscription
from gateway.model.ledger import NewSubscriber
from gateway.smsc import SmscSimulator

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """The epoch instant of a Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


LAST_FULL_FEE = at(2026, 11, 15, 23, 59, 59)  # the last instant a package costs the whole month
FIRST_HALF_FEE = at(2026, 11, 16)  # the first instant it costs half
FIFTEENTH = at(2026, 11, 15, 10)
END_OF_NOVEMBER = at(2026, 12, 1)  # where a package cancelled in November stops

CASH = "13800000101"  # 50.00元 cash, nothing ordered
GIFT = "13800000102"  # 10.00元 cash and a 3.00元 gift valid to the end of the year
GIFT_EXPIRED = "13800000103"  # 10.00元 cash and a 5.00元 gift that expired yesterday
POOR = "13800000104"  # 2.00元 cash
POSTPAID = "13800000105"  # 全球通, 3.00元 cash, 100.00元 credit limit
SUSPENDED = "13800000106"  # suspended, below zero
SUBSCRIBED = "13800000107"  # 30.00元 cash; 来电提醒 since September, GPRS10元包 since October
STRANGER = "13999999999"  # not in the ledger

SUBSCRIBED_SINCE = {"LDTX": at(2026, 9, 1, 8), "GPRS10": at(2026, 10, 5, 9)}


def person(msisdn: str, plan: str = "SZX", brand: str = "神州行", **account: Any) -> NewSubscriber:
    return NewSubscriber(msisdn=msisdn, name="测试用户", brand=brand, plan=plan, created_on=date(2026, 1, 1), **account)


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            person(CASH, cash=5000),
            person(GIFT, cash=1000, gift=300, gift_expires=date(2026, 12, 31)),
            person(GIFT_EXPIRED, cash=1000, gift=500, gift_expires=date(2026, 11, 22)),
            person(POOR, cash=200),
            person(POSTPAID, "QQT88", "全球通", cash=300, credit_limit=10000),
            person(SUSPENDED, status="suspended", cash=-320),
            person(SUBSCRIBED, cash=3000),
        ],
    )
    for product, started_at in SUBSCRIBED_SINCE.items():
        await add_subscription(db, SUBSCRIBED, product, started_at)
    await add_fee(db, SUBSCRIBED, "2026-11", "vas", "LDTX", 300, at(2026, 11, 1, 0, 5))
    await add_fee(db, SUBSCRIBED, "2026-11", "data", "GPRS10", 1000, at(2026, 11, 1, 0, 5))
    await db.close()


# --- the answers, written out ----------------------------------------------------------------------

ORDER_GPRS10_FULL = (
    "您好，您将订购GPRS10元包，月费10.00元，含国内流量70.00MB。本月收取10.00元，含国内流量70.00MB。"
    "请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
ORDER_GPRS10_HALF = (
    "您好，您将订购GPRS10元包，月费10.00元，含国内流量70.00MB。本月16日（含）后订购，本月按半月收取5.00元，"
    "含国内流量35.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
ORDER_GPRS5_FULL = (
    "您好，您将订购GPRS5元包，月费5.00元，含国内流量30.00MB。本月收取5.00元，含国内流量30.00MB。"
    "请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
ORDER_LDTX_HALF = (
    "您好，您将订购来电提醒，月费3.00元。本月16日（含）后订购，本月按半月收取1.50元。"
    "请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
ORDER_DX3_HALF = (
    "您好，您将订购3元短信包，月费3.00元，含短信50条。本月16日（含）后订购，本月按半月收取1.50元，含短信25条。"
    "请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
)
CANCEL_GPRS10 = (
    "您好，您将退订GPRS10元包，退订后本月底失效、下月起不再收费。请在30分钟内回复“是”或“Y”确认退订，回复其他内容取消。"
)
CANCEL_LDTX = (
    "您好，您将退订来电提醒，退订后本月底失效、下月起不再收费。请在30分钟内回复“是”或“Y”确认退订，回复其他内容取消。"
)
CANCELLED_GPRS10 = "您好，您已成功退订GPRS10元包，本业务可使用至2026年11月30日，下月起不再收费。"
CANCELLED_LDTX = "您好，您已成功退订来电提醒，本业务可使用至2026年11月30日，下月起不再收费。"
NOTHING_TO_CONFIRM = "您好，您当前没有待确认的业务。如需订购请发送业务代码，如KTGPRS10。"
NOT_A_SUBSCRIBER = "您好，您的号码不是本网用户，无法办理此项查询。"
NOT_A_SUBSCRIBER_BUSINESS = "您好，您的号码不是本网用户，无法办理此项业务。"  # an order or a cancellation
SUBSCRIBED_0000 = (
    "您好，您已订购以下业务：1：来电提醒（3.00元/月）；2：GPRS10元包（10.00元/月）。回复序号可退订相应业务。"
)


# --- the running gateway and its ledger --------------------------------------------------------------


@dataclass(slots=True)
class Env:
    """The simulator, the gateway over the seeded ledger, and its clock."""

    sim: SmscSimulator
    gateway: Gateway
    clock: ManualClock
    start_gateway: StartGateway

    async def ask(self, msisdn: str, text: str, service_number: str = "10086") -> str:
        """Send one MO and return the text of the answer it gets."""
        return await ask(self.sim, msisdn, service_number, text)

    async def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return await self.gateway.store.fetch(sql, params)

    async def books(self, msisdn: str) -> tuple[int, int]:
        """(cash, gift) in fen."""
        [row] = await self.rows("SELECT cash, gift FROM account WHERE msisdn = ?", msisdn)
        return row[0], row[1]

    async def fees(self, msisdn: str) -> list[tuple[Any, ...]]:
        """(cycle, category, product, amount, charged_at), oldest first."""
        return await self.rows(
            "SELECT cycle, category, product, amount, charged_at FROM fee WHERE msisdn = ? ORDER BY id", msisdn
        )

    async def subscriptions(self, msisdn: str) -> list[tuple[Any, ...]]:
        """(product, started_at, ends_at), oldest first."""
        return await self.rows(
            "SELECT product, started_at, ends_at FROM subscription WHERE msisdn = ? ORDER BY id", msisdn
        )

    async def dialogs(self, msisdn: str) -> list[tuple[Any, ...]]:
        """(service_number, kind, state) of the dialogs pending for the number."""
        return await self.rows("SELECT service_number, kind, state FROM dialog WHERE msisdn = ?", msisdn)


@pytest.fixture
async def env(sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path) -> Env:
    await seed(tmp_path / "gateway.db")
    clock = ManualClock(NOW)
    gateway = await start_gateway(clock=clock)
    return Env(sim=sim, gateway=gateway, clock=clock, start_gateway=start_gateway)


SUBSCRIBED_FEES = [
    ("2026-11", "vas", "LDTX", 300, at(2026, 11, 1, 0, 5)),
    ("2026-11", "data", "GPRS10", 1000, at(2026, 11, 1, 0, 5)),
]


# --- ordering ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "prompt", "fee", "done"),
    [
        pytest.param(
            LAST_FULL_FEE,
            ORDER_GPRS10_FULL,
            1000,
            "您好，您已成功订购GPRS10元包，本次扣费10.00元，当前余额40.00元。",
            id="15th-23:59:59-full-month",
        ),
        pytest.param(
            FIRST_HALF_FEE,
            ORDER_GPRS10_HALF,
            500,
            "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额45.00元。",
            id="16th-00:00:00-half-month",
        ),
        pytest.param(
            NOW,
            ORDER_GPRS10_HALF,
            500,
            "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额45.00元。",
            id="23rd-half-month",
        ),
    ],
)
async def test_order_prompt_and_charge_full_before_the_16th_half_from_it(
    env: Env, instant: float, prompt: str, fee: int, done: str
) -> None:
    env.clock.set(instant)
    assert await env.ask(CASH, "KTGPRS10") == prompt
    assert await env.dialogs(CASH) == [("10086", "order", "pending")]
    assert await env.books(CASH) == (5000, 0)  # the prompt charges nothing
    assert await env.fees(CASH) == []

    assert await env.ask(CASH, "是") == done
    assert await env.books(CASH) == (5000 - fee, 0)
    assert await env.fees(CASH) == [("2026-11", "data", "GPRS10", fee, instant)]
    assert await env.subscriptions(CASH) == [("GPRS10", instant, None)]
    assert await env.dialogs(CASH) == []


@pytest.mark.parametrize(
    "yes",
    ["是", "是的", "Y", "y", "确认", "确定", "Ｙ", " y ", "yes"],
    ids=["是", "是的", "Y", "y", "确认", "确定", "full-width-Y", "spaced-y", "yes"],
)
async def test_every_form_of_yes_confirms(env: Env, yes: str) -> None:
    env.clock.set(FIFTEENTH)
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_FULL
    assert await env.ask(CASH, yes) == "您好，您已成功订购GPRS10元包，本次扣费10.00元，当前余额40.00元。"
    assert await env.books(CASH) == (4000, 0)
    assert await env.fees(CASH) == [("2026-11", "data", "GPRS10", 1000, FIFTEENTH)]


@pytest.mark.parametrize("reply", ["N", "否", "不要", "不是", "YY", "KT"], ids=["N", "否", "不要", "不是", "YY", "KT"])
async def test_anything_else_declines_without_a_charge(env: Env, reply: str) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    assert await env.ask(CASH, reply) == "您好，您已取消订购GPRS10元包，未扣费。"
    assert await env.dialogs(CASH) == []
    assert await env.books(CASH) == (5000, 0)
    assert await env.fees(CASH) == []
    assert await env.subscriptions(CASH) == []
    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM  # the dialog is gone
    assert await env.fees(CASH) == []


async def test_a_yes_that_loses_the_race_with_the_expiry_sweep_is_told_nothing_waits(env: Env) -> None:
    """The sweep ends a dialog in its own transaction and updates the in-memory index of pending dialogs only
    after that commits; an MO routed by the index meanwhile finds no dialog row. A 是 then still gets
    nothing_to_confirm, not the help answer. (Deleting the row by hand makes that moment last.)"""
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF

    async def swept(tx: Tx) -> None:
        await dialogs.delete(tx, CASH, "10086")

    await env.gateway.store.transact(swept)
    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM
    assert await env.fees(CASH) == []
    assert await env.ask(CASH, "Y") == NOTHING_TO_CONFIRM  # the index is settled now: the plain path says the same


async def test_an_unanswered_order_expires_once_and_a_late_yes_finds_nothing(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    env.clock.advance(29 * 60 + 59)
    await asyncio.sleep(1.3)  # at least one sweep: not yet due
    assert len(env.sim.mts) == 1
    assert await env.dialogs(CASH) == [("10086", "order", "pending")]

    env.clock.advance(2)
    [_, notice] = await env.sim.wait_for_mts(2, timeout=3.0)
    assert (notice.source_addr, notice.destination_addr, notice.text) == (
        "10086",
        CASH,
        "您好，您订购GPRS10元包的确认已超时，业务未办理，未扣费。",
    )
    await asyncio.sleep(1.3)  # another sweep: nothing more
    assert len(env.sim.mts) == 2
    assert await env.dialogs(CASH) == []
    assert await env.rows("SELECT mo_id, text FROM mt WHERE destination_addr = ? AND mo_id IS NULL", CASH) == [
        (None, "您好，您订购GPRS10元包的确认已超时，业务未办理，未扣费。")
    ]

    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM
    assert len(env.sim.mts) == 3
    assert await env.books(CASH) == (5000, 0)
    assert await env.fees(CASH) == []
    assert await env.subscriptions(CASH) == []


async def test_insufficient_balance_names_the_shortfall_and_charges_nothing(env: Env) -> None:
    env.clock.set(FIFTEENTH)
    assert await env.ask(POOR, "KTGPRS10") == ORDER_GPRS10_FULL
    assert await env.ask(POOR, "Y") == (
        "您好，您的可用余额2.00元，不足以支付GPRS10元包本月费用10.00元，还差8.00元，请充值后再订购。"
    )
    assert await env.books(POOR) == (200, 0)
    assert await env.fees(POOR) == []
    assert await env.subscriptions(POOR) == []
    assert await env.dialogs(POOR) == []


async def test_the_gift_book_is_spent_first_then_cash(env: Env) -> None:
    env.clock.set(FIFTEENTH)
    assert await env.ask(GIFT, "KTGPRS5") == ORDER_GPRS5_FULL
    assert await env.ask(GIFT, "是") == "您好，您已成功订购GPRS5元包，本次扣费5.00元，当前余额8.00元。"
    assert await env.books(GIFT) == (800, 0)  # 3.00元 from the gift book, 2.00元 from cash
    assert await env.fees(GIFT) == [("2026-11", "data", "GPRS5", 500, FIFTEENTH)]


async def test_an_expired_gift_is_not_spent(env: Env) -> None:
    env.clock.set(FIFTEENTH + 8 * 86400)  # the 23rd: the gift expired on the 22nd
    assert await env.ask(GIFT_EXPIRED, "KTGPRS10") == ORDER_GPRS10_HALF
    assert await env.ask(GIFT_EXPIRED, "是") == "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额5.00元。"
    assert await env.books(GIFT_EXPIRED) == (500, 500)  # all from cash; the forfeited gift is left alone
    assert await env.fees(GIFT_EXPIRED) == [("2026-11", "data", "GPRS10", 500, FIFTEENTH + 8 * 86400)]


async def test_an_expired_gift_does_not_count_towards_the_available_balance(env: Env) -> None:
    env.clock.set(FIFTEENTH + 8 * 86400)
    assert await env.ask(GIFT_EXPIRED, "KTGPRS50") == (
        "您好，您将订购GPRS50元包，月费50.00元，含国内流量500.00MB。本月16日（含）后订购，本月按半月收取25.00元，"
        "含国内流量250.00MB。请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
    )
    assert await env.ask(GIFT_EXPIRED, "是") == (
        "您好，您的可用余额10.00元，不足以支付GPRS50元包本月费用25.00元，还差15.00元，请充值后再订购。"
    )
    assert await env.books(GIFT_EXPIRED) == (1000, 500)
    assert await env.fees(GIFT_EXPIRED) == []


async def test_a_postpaid_credit_limit_lets_cash_go_below_zero(env: Env) -> None:
    env.clock.set(FIFTEENTH)
    assert await env.ask(POSTPAID, "KTGPRS10") == ORDER_GPRS10_FULL
    assert await env.ask(POSTPAID, "是") == "您好，您已成功订购GPRS10元包，本次扣费10.00元，当前余额-7.00元。"
    assert await env.books(POSTPAID) == (-700, 0)
    assert await env.fees(POSTPAID) == [("2026-11", "data", "GPRS10", 1000, FIFTEENTH)]
    # but not beyond it: 93.00元 available, GPRS200 costs 200.00元 this month
    assert await env.ask(POSTPAID, "KTGPRS200") == (
        "您好，您将订购GPRS200元包，月费200.00元，含国内流量5.00GB。本月收取200.00元，含国内流量5.00GB。"
        "请在30分钟内回复“是”或“Y”确认订购，回复其他内容取消。"
    )
    assert await env.ask(POSTPAID, "是") == (
        "您好，您的可用余额93.00元，不足以支付GPRS200元包本月费用200.00元，还差107.00元，请充值后再订购。"
    )
    assert await env.books(POSTPAID) == (-700, 0)
    assert len(await env.fees(POSTPAID)) == 1


async def test_an_ordered_package_is_not_ordered_again(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "KTGPRS10") == "您好，您已订购GPRS10元包，无需重复订购。"
    assert await env.dialogs(SUBSCRIBED) == []
    assert await env.ask(SUBSCRIBED, "是") == NOTHING_TO_CONFIRM
    assert await env.books(SUBSCRIBED) == (3000, 0)
    assert await env.fees(SUBSCRIBED) == SUBSCRIBED_FEES


async def test_a_suspended_subscriber_may_not_order(env: Env) -> None:
    assert await env.ask(SUSPENDED, "KTGPRS10") == "您好，您的号码已停机，暂不能订购业务，请缴费开机后再试。"
    assert await env.dialogs(SUSPENDED) == []
    assert await env.ask(SUSPENDED, "是") == NOTHING_TO_CONFIRM
    assert await env.books(SUSPENDED) == (-320, 0)
    assert await env.fees(SUSPENDED) == []
    assert await env.subscriptions(SUSPENDED) == []


@pytest.mark.parametrize("service_number", ["10086", "10001"])
async def test_ldtx_numeric_aliases_3041_and_3042(env: Env, service_number: str) -> None:
    assert await env.ask(CASH, "3041", service_number) == ORDER_LDTX_HALF
    assert await env.ask(CASH, "是", service_number) == (
        "您好，您已成功订购来电提醒，本次扣费1.50元，当前余额48.50元。"
    )
    assert await env.fees(CASH) == [("2026-11", "vas", "LDTX", 150, NOW)]
    assert await env.ask(CASH, "3042", service_number) == CANCEL_LDTX
    assert await env.ask(CASH, "Y", service_number) == CANCELLED_LDTX
    assert await env.subscriptions(CASH) == [("LDTX", NOW, END_OF_NOVEMBER)]
    assert await env.books(CASH) == (4850, 0)


async def test_kt_and_qx_ldtx(env: Env) -> None:
    assert await env.ask(CASH, "ktldtx") == ORDER_LDTX_HALF
    assert await env.ask(CASH, "是") == "您好，您已成功订购来电提醒，本次扣费1.50元，当前余额48.50元。"
    assert await env.ask(CASH, "QXLDTX") == CANCEL_LDTX
    assert await env.ask(CASH, "是") == CANCELLED_LDTX
    assert await env.subscriptions(CASH) == [("LDTX", NOW, END_OF_NOVEMBER)]


async def test_sms_pack_452_on_10001(env: Env) -> None:
    assert await env.ask(CASH, "452", "10001") == ORDER_DX3_HALF
    assert await env.dialogs(CASH) == [("10001", "order", "pending")]
    assert await env.ask(CASH, "是", "10001") == "您好，您已成功订购3元短信包，本次扣费1.50元，当前余额48.50元。"
    assert await env.books(CASH) == (4850, 0)
    assert await env.fees(CASH) == [("2026-11", "sms", "DX3", 150, NOW)]
    assert await env.subscriptions(CASH) == [("DX3", NOW, None)]


async def test_a_dialog_is_kept_per_service_number(env: Env) -> None:
    assert await env.ask(CASH, "452", "10001") == ORDER_DX3_HALF
    assert await env.ask(CASH, "是", "10086") == NOTHING_TO_CONFIRM  # the order waits on 10001
    assert await env.dialogs(CASH) == [("10001", "order", "pending")]
    assert await env.fees(CASH) == []


async def test_a_non_subscriber_is_told_so(env: Env) -> None:
    assert await env.ask(STRANGER, "KTGPRS10") == NOT_A_SUBSCRIBER_BUSINESS
    assert await env.ask(STRANGER, "QXGPRS10") == NOT_A_SUBSCRIBER_BUSINESS
    assert await env.ask(STRANGER, "0000") == NOT_A_SUBSCRIBER  # 0000 lists what is ordered: a 查询
    assert await env.ask(STRANGER, "是") == NOTHING_TO_CONFIRM
    assert await env.dialogs(STRANGER) == []
    assert await env.rows("SELECT COUNT(*) FROM fee WHERE msisdn = ?", STRANGER) == [(0,)]


# --- cancelling ---------------------------------------------------------------------------------------


async def test_cancel_runs_to_the_end_of_the_month(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "QXGPRS10") == CANCEL_GPRS10
    assert await env.dialogs(SUBSCRIBED) == [("10086", "cancel", "pending")]
    assert await env.ask(SUBSCRIBED, "是") == CANCELLED_GPRS10
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], None),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], END_OF_NOVEMBER),
    ]
    assert await env.books(SUBSCRIBED) == (3000, 0)  # nothing is refunded
    assert await env.fees(SUBSCRIBED) == SUBSCRIBED_FEES
    # still running this month (108), no longer ordered (0000)
    assert await env.ask(SUBSCRIBED, "108") == (
        "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用0MB，剩余70.00MB；合计剩余70.00MB。"
        "套餐外流量0MB，流量费0.00元。"
    )
    assert await env.ask(SUBSCRIBED, "0000") == (
        "您好，您已订购以下业务：1：来电提醒（3.00元/月）。回复序号可退订相应业务。"
    )
    # already cancelled; the new command also ends the list 0000 left waiting
    assert await env.ask(SUBSCRIBED, "QXGPRS10") == "您好，您未订购GPRS10元包，无需退订。"
    assert await env.dialogs(SUBSCRIBED) == []


async def test_declining_a_cancel_keeps_the_package(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "QXGPRS10") == CANCEL_GPRS10
    assert await env.ask(SUBSCRIBED, "N") == "您好，您已放弃退订GPRS10元包，业务继续有效。"
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], None),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], None),
    ]
    assert await env.dialogs(SUBSCRIBED) == []


async def test_cancelling_a_package_not_ordered(env: Env) -> None:
    assert await env.ask(CASH, "QXLDTX") == "您好，您未订购来电提醒，无需退订。"
    assert await env.dialogs(CASH) == []
    assert await env.ask(CASH, "Y") == NOTHING_TO_CONFIRM


REINSTATE_GPRS10 = (
    "您好，您本月已退订的GPRS10元包仍可使用至月底，恢复订购本月不再收费。"
    "请在30分钟内回复“是”或“Y”确认恢复，回复其他内容取消。"
)


async def test_reordering_a_package_cancelled_this_month_reinstates_it_free(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "QXGPRS10") == CANCEL_GPRS10
    assert await env.ask(SUBSCRIBED, "是") == CANCELLED_GPRS10
    assert await env.ask(SUBSCRIBED, "KTGPRS10") == REINSTATE_GPRS10
    assert await env.ask(SUBSCRIBED, "是") == (
        "您好，您本月已退订的GPRS10元包已恢复，本月不再重复收费，当前余额30.00元。"
    )
    assert await env.books(SUBSCRIBED) == (3000, 0)
    assert await env.fees(SUBSCRIBED) == SUBSCRIBED_FEES
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], None),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], None),
    ]
    assert await env.ask(SUBSCRIBED, "0000") == SUBSCRIBED_0000


async def test_order_cancel_reorder_in_one_month_charges_once(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    assert await env.ask(CASH, "是") == "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额45.00元。"
    assert await env.ask(CASH, "QXGPRS10") == CANCEL_GPRS10
    assert await env.ask(CASH, "是") == CANCELLED_GPRS10
    assert await env.ask(CASH, "KTGPRS10") == REINSTATE_GPRS10
    assert await env.ask(CASH, "是") == "您好，您本月已退订的GPRS10元包已恢复，本月不再重复收费，当前余额45.00元。"
    assert await env.books(CASH) == (4500, 0)
    assert await env.fees(CASH) == [("2026-11", "data", "GPRS10", 500, NOW)]
    assert await env.subscriptions(CASH) == [("GPRS10", NOW, None)]


# --- 0000 / 0: cancel from the list --------------------------------------------------------------------


@pytest.mark.parametrize("service_number", ["10086", "10001"])
async def test_0000_then_a_number_then_yes_cancels_it(env: Env, service_number: str) -> None:
    assert await env.ask(SUBSCRIBED, "0000", service_number) == SUBSCRIBED_0000
    assert await env.dialogs(SUBSCRIBED) == [(service_number, "pick", "listing")]
    assert await env.ask(SUBSCRIBED, "2", service_number) == CANCEL_GPRS10
    assert await env.dialogs(SUBSCRIBED) == [(service_number, "cancel", "pending")]
    assert await env.ask(SUBSCRIBED, "Y", service_number) == CANCELLED_GPRS10
    assert await env.dialogs(SUBSCRIBED) == []
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], None),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], END_OF_NOVEMBER),
    ]
    assert await env.fees(SUBSCRIBED) == SUBSCRIBED_FEES


async def test_0_on_10001_starts_the_list_too(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "0", "10001") == SUBSCRIBED_0000
    assert await env.ask(SUBSCRIBED, "1", "10001") == CANCEL_LDTX
    assert await env.ask(SUBSCRIBED, "是", "10001") == CANCELLED_LDTX
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], END_OF_NOVEMBER),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], None),
    ]


async def test_0_after_the_list_asks_for_the_number(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "0000", "10001") == SUBSCRIBED_0000
    assert await env.ask(SUBSCRIBED, "0", "10001") == "您好，请回复要退订业务的序号（1至2）。"
    assert await env.dialogs(SUBSCRIBED) == [("10001", "pick", "listing")]
    assert await env.ask(SUBSCRIBED, "1", "10001") == CANCEL_LDTX


async def test_a_wrong_number_is_asked_again_once_then_given_up(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "0000") == SUBSCRIBED_0000
    assert await env.ask(SUBSCRIBED, "3") == "您好，您回复的序号不在列表中，请回复1至2之间的序号。"
    assert await env.dialogs(SUBSCRIBED) == [("10086", "pick", "reasking")]
    assert await env.ask(SUBSCRIBED, "9") == "您好，您回复的序号有误，退订未办理。如需退订请重新发送0000。"
    assert await env.dialogs(SUBSCRIBED) == []
    # no list any more: a bare number is not a code, it gets the help answer
    help_answer = await env.ask(SUBSCRIBED, "HELLO")
    assert help_answer.startswith("您好，欢迎使用中国移动10086短信营业厅。请回复以下代码：")
    assert await env.ask(SUBSCRIBED, "1") == help_answer
    assert await env.subscriptions(SUBSCRIBED) == [
        ("LDTX", SUBSCRIBED_SINCE["LDTX"], None),
        ("GPRS10", SUBSCRIBED_SINCE["GPRS10"], None),
    ]


async def test_a_wrong_number_then_a_right_one_still_cancels(env: Env) -> None:
    assert await env.ask(SUBSCRIBED, "0000") == SUBSCRIBED_0000
    assert await env.ask(SUBSCRIBED, "0") == "您好，请回复要退订业务的序号（1至2）。"
    assert await env.ask(SUBSCRIBED, "3") == "您好，您回复的序号不在列表中，请回复1至2之间的序号。"
    assert await env.ask(SUBSCRIBED, "2") == CANCEL_GPRS10
    assert await env.ask(SUBSCRIBED, "是") == CANCELLED_GPRS10


async def test_0000_with_nothing_ordered_starts_no_dialog(env: Env) -> None:
    assert await env.ask(CASH, "0000") == "您好，您当前没有订购任何业务。"
    assert await env.dialogs(CASH) == []
    help_answer = await env.ask(CASH, "HELLO")
    assert help_answer.startswith("您好，欢迎使用中国移动10086短信营业厅。请回复以下代码：")
    assert await env.ask(CASH, "1") == help_answer


# --- interruption and restart ----------------------------------------------------------------------------


async def test_a_new_command_ends_a_waiting_order_and_says_so(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    assert await env.ask(CASH, "102") == (
        "您好，您的账户余额为50.00元，其中现金余额50.00元，赠送余额0.00元；可用余额50.00元。"
        "（您未完成的订购GPRS10元包已取消。）"
    )
    assert await env.dialogs(CASH) == []
    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM
    assert await env.books(CASH) == (5000, 0)
    assert await env.fees(CASH) == []


async def test_a_new_order_ends_a_waiting_one(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    assert await env.ask(CASH, "KTLDTX") == ORDER_LDTX_HALF + "（您未完成的订购GPRS10元包已取消。）"
    assert await env.ask(CASH, "是") == "您好，您已成功订购来电提醒，本次扣费1.50元，当前余额48.50元。"
    assert await env.fees(CASH) == [("2026-11", "vas", "LDTX", 150, NOW)]


async def test_a_pending_order_survives_a_restart(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    await env.gateway.stop()
    env.gateway = await env.start_gateway(clock=env.clock)
    assert await env.dialogs(CASH) == [("10086", "order", "pending")]
    assert await env.ask(CASH, "是") == "您好，您已成功订购GPRS10元包，本次扣费5.00元，当前余额45.00元。"
    assert await env.fees(CASH) == [("2026-11", "data", "GPRS10", 500, NOW)]
    assert await env.subscriptions(CASH) == [("GPRS10", NOW, None)]
    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM
    assert await env.fees(CASH) == [("2026-11", "data", "GPRS10", 500, NOW)]
    assert len(env.sim.mts) == 3


async def test_a_pending_order_expires_after_a_restart(env: Env) -> None:
    assert await env.ask(CASH, "KTGPRS10") == ORDER_GPRS10_HALF
    await env.gateway.stop()
    env.clock.advance(1800)
    env.gateway = await env.start_gateway(clock=env.clock)
    [_, notice] = await env.sim.wait_for_mts(2, timeout=3.0)
    assert notice.text == "您好，您订购GPRS10元包的确认已超时，业务未办理，未扣费。"
    assert await env.ask(CASH, "是") == NOTHING_TO_CONFIRM
    assert await env.fees(CASH) == []
