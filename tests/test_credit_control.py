"""Credit control over a real gateway: every transition of the machine as the admin API, the usage feed,
payments, JJKJ and the clock make it, with the status-history row it leaves, the status the admin API
shows and the notice the subscriber gets (from 10086; urgent notices are not held by quiet hours).

The clock is manual and starts at 2026-11-23 10:13:20 in Shanghai; moving it (``POST /test/clock``) runs
the scheduler at once: protective restores past their time, and the daily jobs of the new day."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import SUBSCRIBER, StartGateway, ask
from support.admin import NOW, TOKENS, call

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers
from gateway.model.ledger import NewSubscriber
from gateway.pushes.compose import Composer
from gateway.pushes.sender import Pusher
from gateway.smsc import SmscSimulator

DAY = 86400

ARREARS = "13800000001"  # prepaid, VIP silver (the ordinary limits), 5元
EXPIRED = "13800000002"  # prepaid, 20元, valid until today
GOLD = "13800000003"  # prepaid, VIP gold, 3元
LEGACY = "13800000106"  # imported suspended, -2.30元 (no credit-control row yet)
TERMINATED = "13800000107"
STRANGER = "13999999999"

PROTECT_DONE = (
    "您好，您的号码已紧急开机，可在原欠费基础上再使用50.00元，有效期至11月24日10时13分。"
    "超出时间或额度将恢复停机，请尽快缴费。"
)
NOT_SUSPENDED = "您好，您的号码目前状态正常，无需办理紧急开机。"
TOO_SOON = "您好，您30天内已办理过紧急开机，暂不能再次办理，请缴费开机。"


def suspension(reason: str, available: str) -> str:
    return (
        f"尊敬的客户，您的号码因{reason}已停机，可用余额{available}。"
        "缴费后将实时开机；如需临时使用可发送JJKJ办理紧急开机。"
    )


def restore(available: str) -> str:
    return f"尊敬的客户，您的号码已恢复正常使用，当前可用余额{available}。感谢您的使用。"


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    people = [
        NewSubscriber(
            msisdn=SUBSCRIBER, name="李明", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), cash=5000
        ),
        NewSubscriber(
            msisdn=ARREARS, name="张伟", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), vip="silver", cash=500
        ),
        NewSubscriber(
            msisdn=EXPIRED,
            name="王静",
            brand="神州行",
            plan="SZX",
            created_on=date(2024, 1, 1),
            cash=2000,
            valid_until=date(2026, 11, 23),
        ),
        NewSubscriber(
            msisdn=GOLD, name="陈刚", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), vip="gold", cash=300
        ),
        NewSubscriber(
            msisdn=LEGACY,
            name="刘洋",
            brand="神州行",
            plan="SZX",
            created_on=date(2024, 1, 1),
            status="suspended",
            cash=-230,
        ),
        NewSubscriber(
            msisdn=TERMINATED, name="王芳", brand="神州行", plan="SZX", created_on=date(2024, 1, 1), status="terminated"
        ),
    ]
    await add_subscribers(db, people)
    await db.close()


@pytest.fixture
async def gateway(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    await seed(tmp_path / "gateway.db")
    return await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW))


# --- helpers -----------------------------------------------------------------------------------------

T = TypeVar("T")
_ids = itertools.count(1)


async def eventually(read: Callable[[], Awaitable[T]], expected: T, *, timeout: float = 5.0) -> None:
    """Poll ``read`` until it gives ``expected`` (the scheduler may still be finishing a day's run)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await read()
        if got == expected or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    assert got == expected


def history(gateway: Gateway, msisdn: str) -> Callable[[], Awaitable[list[tuple[str, str, str]]]]:
    async def read() -> list[tuple[str, str, str]]:
        status, body = await call(gateway.http.port, "GET", f"/api/v1/subscribers/{msisdn}/status-history")
        assert status == 200
        return [(c["from"], c["to"], c["reason"]) for c in body["changes"]]

    return read


async def changes(gateway: Gateway, msisdn: str) -> list[tuple[str, str, str]]:
    return await history(gateway, msisdn)()


async def subscriber(gateway: Gateway, msisdn: str) -> dict[str, Any]:
    status, body = await call(gateway.http.port, "GET", f"/api/v1/subscribers/{msisdn}")
    assert status == 200
    return dict(body)


async def status_of(gateway: Gateway, msisdn: str) -> str:
    return str((await subscriber(gateway, msisdn))["status"])


def status_of_reader(gateway: Gateway, msisdn: str) -> Callable[[], Awaitable[str]]:
    return lambda: status_of(gateway, msisdn)


async def use(gateway: Gateway, msisdn: str, category: str, quantity: int) -> dict[str, Any]:
    """One usage record starting now (no duration: records never overlap); the feed's answer."""
    start = gateway.calendar.local(gateway.clock.now()).isoformat()
    record = {"id": f"u-{next(_ids)}", "msisdn": msisdn, "category": category, "quantity": quantity}
    record |= {"start": start, "duration": 0}
    status, answer = await call(gateway.http.port, "POST", "/api/v1/usage", {"records": [record]})
    assert status == 200, answer
    return dict(answer)


async def pay(gateway: Gateway, msisdn: str, amount: int) -> None:
    payment = {"id": f"p-{next(_ids)}", "msisdn": msisdn, "amount_fen": amount, "channel": "微信"}
    status, answer = await call(gateway.http.port, "POST", "/api/v1/payments", payment)
    assert status == 201, answer


async def protect(gateway: Gateway, msisdn: str) -> tuple[int, Any]:
    return await call(gateway.http.port, "POST", f"/api/v1/subscribers/{msisdn}/protective-restore")


async def advance(gateway: Gateway, seconds: int) -> None:
    status, answer = await call(gateway.http.port, "POST", "/test/clock", {"advance": seconds}, token=None)
    assert status == 200, answer


async def notices(sim: SmscSimulator, msisdn: str, count: int) -> list[str]:
    """The texts of the first ``count`` MTs to ``msisdn``, each checked to come from 10086."""
    mts = await sim.wait_for_mts(count, destination_addr=msisdn)
    assert {mt.source_addr for mt in mts} == {"10086"}
    return [mt.text for mt in mts]


async def suspend_by_usage(gateway: Gateway, sim: SmscSimulator) -> None:
    """ARREARS spends their 5元 on data and is suspended; the notice has arrived."""
    answer = await use(gateway, ARREARS, "data", 600)
    assert answer["rated"][0] | {"id": ""} == {
        "id": "",
        "msisdn": ARREARS,
        "granted": 500,
        "charged_fen": 500,
        "refused": 100,
        "reason": "insufficient_balance",
    }
    assert answer["suspended"] == [ARREARS]
    assert await notices(sim, ARREARS, 1) == [suspension("余额不足", "0.00元")]


# --- active → suspended ---------------------------------------------------------------------------------


async def test_usage_that_uses_up_the_balance_suspends_with_a_notice(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    status, body = await call(gateway.http.port, "GET", f"/api/v1/subscribers/{ARREARS}/status-history")
    assert (status, body["msisdn"]) == (200, ARREARS)
    assert [{k: v for k, v in c.items() if k != "id"} for c in body["changes"]] == [
        {"from": "active", "to": "suspended", "reason": "arrears", "at": "2026-11-23T10:13:20+08:00"}
    ]
    account = (await subscriber(gateway, ARREARS))["account"]
    assert (await status_of(gateway, ARREARS), account["cash_fen"], account["available_fen"]) == ("suspended", 0, 0)
    assert await gateway.store.fetch("SELECT kind, trigger, status FROM push WHERE msisdn = ?", (ARREARS,)) == [
        ("suspension", f"change:{body['changes'][0]['id']}", "queued")
    ]
    # Suspended: usage is refused whole, and nothing more is recorded.
    answer = await use(gateway, ARREARS, "sms", 1)
    assert [r["reason"] for r in answer["rejected"]] == ["suspended"]
    assert await changes(gateway, ARREARS) == [("active", "suspended", "arrears")]


async def test_a_passed_validity_date_suspends_on_the_daily_run(gateway: Gateway, sim: SmscSimulator) -> None:
    assert await changes(gateway, EXPIRED) == []  # valid until today: not passed yet
    await advance(gateway, DAY)
    await eventually(history(gateway, EXPIRED), [("active", "suspended", "validity_passed")])
    assert await status_of(gateway, EXPIRED) == "suspended"
    assert await notices(sim, EXPIRED, 1) == [suspension("余额有效期届满", "20.00元")]
    # A payment moves the validity date out 180 days and restores at once.
    await pay(gateway, EXPIRED, 100)
    assert await changes(gateway, EXPIRED) == [
        ("active", "suspended", "validity_passed"),
        ("suspended", "active", "payment"),
    ]
    body = await subscriber(gateway, EXPIRED)
    assert (body["status"], body["account"]["valid_until"], body["account"]["cash_fen"]) == (
        "active",
        "2027-05-23",
        2100,
    )
    assert (await notices(sim, EXPIRED, 2))[1] == restore("21.00元")


# --- suspended → active by payment ------------------------------------------------------------------------


async def test_a_payment_restores_in_real_time(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    await pay(gateway, ARREARS, 1000)
    assert await status_of(gateway, ARREARS) == "active"  # no wait: the payment's own transaction restored
    assert await changes(gateway, ARREARS) == [("active", "suspended", "arrears"), ("suspended", "active", "payment")]
    assert (await notices(sim, ARREARS, 2))[1] == restore("10.00元")
    assert (await use(gateway, ARREARS, "sms", 1))["rated"][0]["charged_fen"] == 10  # usable again


async def test_a_suspension_notice_not_sent_before_the_payment_is_dropped(
    start_gateway: StartGateway, tmp_path: Path, sim: SmscSimulator
) -> None:
    await seed(tmp_path / "gateway.db")
    # 0.1 reminders a second: the pusher sends nothing for its first 10 s; the test sends them itself.
    gateway = await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW), pushes__tps="0.1")
    assert (await use(gateway, ARREARS, "data", 600))["suspended"] == [ARREARS]
    await pay(gateway, ARREARS, 1000)
    assert await gateway.pusher.send_due(10) == 1
    assert await gateway.store.fetch("SELECT kind, status, reason FROM push ORDER BY id") == [
        ("suspension", "dropped", "condition_gone"),
        ("restore", "queued", None),
    ]
    assert await notices(sim, ARREARS, 1) == [restore("10.00元")]


async def test_reminders_wait_while_the_scheduler_runs_a_tick(
    start_gateway: StartGateway, tmp_path: Path, sim: SmscSimulator
) -> None:
    """A tick that catches up two months raises December's reminders on the way; they go out after the tick,
    rechecked against where it ended (so December's low balance is not told to a number January suspended)."""
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(http__tokens=TOKENS, clock=ManualClock(NOW), pushes__tps="0.1")
    assert (await use(gateway, ARREARS, "data", 600))["suspended"] == [ARREARS]
    ticking = True
    pusher = Pusher(
        store=gateway.store,
        outbox=gateway.outbox,
        clock=gateway.clock,
        composer=Composer(templates=gateway.templates, setup=gateway.rating.setup),
        policy=gateway.policy,
        tps=100,
        source="10086",
        hold=lambda: ticking,
    )
    running = asyncio.create_task(pusher.run())
    try:
        await asyncio.sleep(0.3)  # six of the pusher's ticks
        assert pusher.sent == 0
        assert await gateway.store.fetch("SELECT kind, status FROM push") == [("suspension", "pending")]
        ticking = False
        assert await notices(sim, ARREARS, 1) == [suspension("余额不足", "0.00元")]
        assert pusher.sent == 1
    finally:
        running.cancel()


async def test_a_payment_that_does_not_bring_the_balance_above_zero_keeps_the_suspension(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    await pay(gateway, LEGACY, 230)  # -2.30元 → 0: not above zero
    assert (await status_of(gateway, LEGACY), await changes(gateway, LEGACY)) == ("suspended", [])
    await pay(gateway, LEGACY, 1)
    assert (await status_of(gateway, LEGACY), await changes(gateway, LEGACY)) == (
        "active",
        [("suspended", "active", "payment")],
    )
    assert await notices(sim, LEGACY, 1) == [restore("0.01元")]


# --- protective restore ------------------------------------------------------------------------------------


async def test_a_protective_restore_by_the_admin_api_then_its_amount_limit(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    await suspend_by_usage(gateway, sim)
    assert await protect(gateway, ARREARS) == (
        200,
        {
            "msisdn": ARREARS,
            "state": "protected",
            "until": "2026-11-24T10:13:20+08:00",
            "allowance_fen": 5000,
            "floor_fen": -5000,
        },
    )
    assert await status_of(gateway, ARREARS) == "active"  # protected reads as active: they may use and query
    assert await changes(gateway, ARREARS) == [
        ("active", "suspended", "arrears"),
        ("suspended", "protected", "protective_restore"),
    ]
    assert (await notices(sim, ARREARS, 2))[1] == (
        "尊敬的客户，您的号码已紧急开机，可在原欠费基础上再使用50.00元，有效期至11月24日10时13分。"
        "超出时间或额度将恢复停机，请尽快缴费。"
    )
    # Usage below zero down to the floor; past it, suspended again.
    first = await use(gateway, ARREARS, "data", 3000)
    assert (first["rated"][0]["granted"], first["charged_fen"], first["suspended"]) == (3000, 3000, [])
    second = await use(gateway, ARREARS, "data", 3000)
    assert [(r["granted"], r["charged_fen"], r["refused"], r["reason"]) for r in second["rated"]] == [
        (2000, 2000, 1000, "insufficient_balance")
    ]
    assert second["suspended"] == [ARREARS]
    body = await subscriber(gateway, ARREARS)
    assert (body["status"], body["account"]["cash_fen"]) == ("suspended", -5000)
    assert (await changes(gateway, ARREARS))[2:] == [("protected", "suspended", "protective_amount_limit")]
    assert (await notices(sim, ARREARS, 3))[2] == suspension("紧急开机额度用尽", "-50.00元")


async def test_a_protective_restore_by_jjkj(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    assert await ask(sim, ARREARS, "10086", "JJKJ") == PROTECT_DONE
    assert await changes(gateway, ARREARS) == [
        ("active", "suspended", "arrears"),
        ("suspended", "protected", "protective_restore"),
    ]
    assert await status_of(gateway, ARREARS) == "active"
    # The answer is the notice: no push for the restore.
    assert await gateway.store.fetch("SELECT kind FROM push WHERE msisdn = ?", (ARREARS,)) == [("suspension",)]
    # Asked again while it is on (on 10001 too, or by the operator): it runs already.
    assert await ask(sim, ARREARS, "10001", "JJKJ") == (
        "您好，您的号码已办理紧急开机，有效期至11月24日10时13分，无需重复办理，请尽快缴费。"
    )
    status, body = await protect(gateway, ARREARS)
    assert (status, body["code"], body["message"]) == (
        409,
        "conflict",
        f"{ARREARS} is under a protective restore already",
    )
    assert len(await changes(gateway, ARREARS)) == 2


async def test_vip_gold_gets_five_days_and_100_yuan(gateway: Gateway, sim: SmscSimulator) -> None:
    assert (await use(gateway, GOLD, "data", 400))["suspended"] == [GOLD]
    await notices(sim, GOLD, 1)
    status, body = await protect(gateway, GOLD)
    assert (status, body["until"], body["allowance_fen"], body["floor_fen"]) == (
        200,
        "2026-11-28T10:13:20+08:00",
        10000,
        -10000,
    )
    assert (await notices(sim, GOLD, 2))[1] == (
        "尊敬的客户，您的号码已紧急开机，可在原欠费基础上再使用100.00元，有效期至11月28日10时13分。"
        "超出时间或额度将恢复停机，请尽快缴费。"
    )
    answer = await use(gateway, GOLD, "data", 20000)
    assert [(r["granted"], r["charged_fen"]) for r in answer["rated"]] == [(10000, 10000)]
    assert (await changes(gateway, GOLD))[-1] == ("protected", "suspended", "protective_amount_limit")


async def test_the_time_limit_suspends_again(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    assert (await protect(gateway, ARREARS))[0] == 200
    await notices(sim, ARREARS, 2)
    await advance(gateway, DAY - 1)
    assert (await status_of(gateway, ARREARS), len(await changes(gateway, ARREARS))) == ("active", 2)
    await advance(gateway, 1)  # 24 hours
    await eventually(
        history(gateway, ARREARS),
        [
            ("active", "suspended", "arrears"),
            ("suspended", "protected", "protective_restore"),
            ("protected", "suspended", "protective_time_limit"),
        ],
    )
    assert await status_of(gateway, ARREARS) == "suspended"
    assert (await notices(sim, ARREARS, 3))[2] == suspension("紧急开机期满", "0.00元")


async def paid_during_a_protective_restore(gateway: Gateway, sim: SmscSimulator) -> None:
    """ARREARS: suspended, restored (floor -50元), 20元 used, then 25元 paid: active at 5元."""
    await suspend_by_usage(gateway, sim)
    assert (await protect(gateway, ARREARS))[0] == 200
    await notices(sim, ARREARS, 2)  # sent before the payment makes it moot
    await use(gateway, ARREARS, "data", 2000)
    await pay(gateway, ARREARS, 2500)
    assert await changes(gateway, ARREARS) == [
        ("active", "suspended", "arrears"),
        ("suspended", "protected", "protective_restore"),
        ("protected", "active", "payment"),
    ]
    assert (await notices(sim, ARREARS, 3))[2] == restore("5.00元")


async def test_paid_during_a_protective_restore_is_active_and_guarded_for_seven_days(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    await paid_during_a_protective_restore(gateway, sim)
    # Below zero but above the floor within 7 days: granted, and no suspension.
    answer = await use(gateway, ARREARS, "data", 1000)
    assert (answer["rated"][0]["granted"], answer["charged_fen"], answer["suspended"]) == (1000, 1000, [])
    assert (await status_of(gateway, ARREARS), len(await changes(gateway, ARREARS))) == ("active", 3)
    assert (await notices(sim, ARREARS, 4))[3] == (
        "尊敬的客户，您的可用余额为-5.00元，已低于10.00元，为避免停机影响使用，请及时充值。回复TDTX退订提醒。"
    )
    await advance(gateway, 6 * DAY)
    assert (await use(gateway, ARREARS, "sms", 1))["suspended"] == []
    assert await status_of(gateway, ARREARS) == "active"
    # Past the floor within the guard: granted down to it, then suspended.
    answer = await use(gateway, ARREARS, "data", 5000)
    assert [(r["granted"], r["refused"]) for r in answer["rated"]] == [(4490, 510)]
    assert answer["suspended"] == [ARREARS]
    assert (await changes(gateway, ARREARS))[3:] == [("active", "suspended", "arrears")]
    assert (await subscriber(gateway, ARREARS))["account"]["cash_fen"] == -5000


async def test_after_the_guard_the_balance_rule_applies_again(gateway: Gateway, sim: SmscSimulator) -> None:
    await paid_during_a_protective_restore(gateway, sim)
    assert (await use(gateway, ARREARS, "data", 1000))["suspended"] == []  # -5元, guarded
    await advance(gateway, 7 * DAY)  # the guard runs out: the balance rule applies at once, not at the next usage
    assert (await changes(gateway, ARREARS))[3:] == [("active", "suspended", "arrears")]
    answer = await use(gateway, ARREARS, "sms", 1)
    assert [(r["reason"],) for r in answer["rejected"]] == [("suspended",)]


async def test_one_protective_restore_in_30_days(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    assert (await protect(gateway, ARREARS))[0] == 200
    await notices(sim, ARREARS, 2)
    await advance(gateway, DAY)
    await eventually(
        history(gateway, ARREARS),
        [
            ("active", "suspended", "arrears"),
            ("suspended", "protected", "protective_restore"),
            ("protected", "suspended", "protective_time_limit"),
        ],
    )
    await notices(sim, ARREARS, 3)
    status, body = await protect(gateway, ARREARS)
    assert (status, body["code"], body["message"]) == (
        409,
        "conflict",
        f"{ARREARS} had a protective restore in the last 30 days",
    )
    assert await ask(sim, ARREARS, "10086", "JJKJ") == TOO_SOON
    await advance(gateway, 29 * DAY - 1)
    assert await ask(sim, ARREARS, "10086", "JJKJ") == TOO_SOON
    await advance(gateway, 1)  # 30 days after the first
    status, body = await protect(gateway, ARREARS)
    assert (status, body["until"]) == (200, "2026-12-24T10:13:20+08:00")
    assert len(await changes(gateway, ARREARS)) == 4


async def test_a_protective_restore_is_only_for_a_suspended_number(gateway: Gateway, sim: SmscSimulator) -> None:
    status, body = await protect(gateway, SUBSCRIBER)
    assert (status, body["code"], body["message"]) == (
        409,
        "conflict",
        f"{SUBSCRIBER} is not suspended: nothing to restore",
    )
    assert await ask(sim, SUBSCRIBER, "10086", "JJKJ") == NOT_SUSPENDED
    status, body = await protect(gateway, TERMINATED)
    assert (status, body["code"], body["message"]) == (409, "conflict", f"{TERMINATED} is terminated (销户)")
    assert await ask(sim, TERMINATED, "10086", "JJKJ") == (
        "您好，您的号码已销户，无法办理此项业务。如有疑问请拨打客服热线。"
    )
    assert (await protect(gateway, STRANGER))[0] == 404
    assert (await call(gateway.http.port, "GET", f"/api/v1/subscribers/{STRANGER}/status-history"))[0] == 404
    assert (await call(gateway.http.port, "POST", "/api/v1/subscribers/1380013800/protective-restore"))[0] == 400
    for msisdn in (SUBSCRIBER, TERMINATED):
        assert await changes(gateway, msisdn) == []
    assert (await status_of(gateway, SUBSCRIBER), await status_of(gateway, TERMINATED)) == ("active", "terminated")


# --- suspended → terminated ------------------------------------------------------------------------------


async def test_suspended_90_days_is_terminated_after_a_warning(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    await advance(gateway, 83 * DAY)  # 2027-02-14: 7 days before
    assert (await notices(sim, ARREARS, 2))[1] == (
        "尊敬的客户，您的号码已停机83天，如在2027年2月21日前仍未缴费，号码将被销户。请尽快缴费。"
    )
    assert await gateway.store.fetch("SELECT trigger FROM push WHERE kind = 'termination_warning'") == [
        (f"since:{int(NOW)}",)
    ]
    assert await status_of(gateway, ARREARS) == "suspended"
    await advance(gateway, 7 * DAY)  # 2027-02-21: 90 days
    await eventually(
        history(gateway, ARREARS),
        [("active", "suspended", "arrears"), ("suspended", "terminated", "suspended_unpaid")],
    )
    assert await status_of(gateway, ARREARS) == "terminated"
    assert (await notices(sim, ARREARS, 3))[2] == (
        "尊敬的客户，您的号码因停机90天未缴费，已于2027年2月21日销户。如有疑问请拨打客服热线。"
    )
    # Terminated is final.
    payment = {"id": "late", "msisdn": ARREARS, "amount_fen": 10000, "channel": "微信"}
    status, body = await call(gateway.http.port, "POST", "/api/v1/payments", payment)
    assert (status, body["code"]) == (409, "terminated")
    status, body = await call(gateway.http.port, "PATCH", f"/api/v1/subscribers/{ARREARS}", {"status": "active"})
    assert (status, body["code"]) == (409, "conflict")
    assert (await protect(gateway, ARREARS))[0] == 409
    assert len(await changes(gateway, ARREARS)) == 2


async def test_an_operator_suspension_is_not_counted_towards_termination(gateway: Gateway, sim: SmscSimulator) -> None:
    port = gateway.http.port
    status, _ = await call(port, "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {"status": "suspended"})
    assert status == 200
    await suspend_by_usage(gateway, sim)  # suspended the same moment by credit control: the daily runs' marker
    await advance(gateway, 83 * DAY)
    await notices(sim, ARREARS, 2)  # ARREARS warned: the warning sweep has run
    assert await gateway.store.fetch("SELECT msisdn FROM push WHERE kind = 'termination_warning'") == [(ARREARS,)]
    await advance(gateway, 7 * DAY)
    await eventually(status_of_reader(gateway, ARREARS), "terminated")  # the day's run is done
    assert (await status_of(gateway, SUBSCRIBER), await changes(gateway, SUBSCRIBER)) == (
        "suspended",
        [("active", "suspended", "operator")],
    )


# --- the operator ------------------------------------------------------------------------------------------


async def test_operator_moves_go_through_credit_control(gateway: Gateway, sim: SmscSimulator) -> None:
    port = gateway.http.port
    path = f"/api/v1/subscribers/{SUBSCRIBER}"
    status, body = await call(port, "PATCH", path, {"status": "suspended"})
    assert (status, body["status"]) == (200, "suspended")
    assert (await notices(sim, SUBSCRIBER, 1))[0] == suspension("业务原因", "50.00元")
    status, body = await call(port, "PATCH", path, {"status": "suspended"})  # the same again: no change
    assert (status, body["status"]) == (200, "suspended")
    await pay(gateway, SUBSCRIBER, 100)  # a payment does not lift the operator's suspension
    assert (await status_of(gateway, SUBSCRIBER), len(await changes(gateway, SUBSCRIBER))) == ("suspended", 1)
    status, body = await call(port, "PATCH", path, {"status": "active"})
    assert (status, body["status"]) == (200, "active")
    assert (await notices(sim, SUBSCRIBER, 2))[1] == restore("51.00元")
    status, body = await call(port, "PATCH", path, {"status": "terminated"})
    assert (status, body["status"]) == (200, "terminated")
    assert await changes(gateway, SUBSCRIBER) == [
        ("active", "suspended", "operator"),
        ("suspended", "active", "operator"),
        ("active", "terminated", "operator"),
    ]
    [*_, termination] = await notices(sim, SUBSCRIBER, 3)
    assert termination.startswith("尊敬的客户，您的号码") and "销户" in termination
    for target in ("active", "suspended"):
        status, body = await call(port, "PATCH", path, {"status": target})
        assert (status, body["code"], body["field"]) == (409, "conflict", "status")
    assert (await call(port, "PATCH", path, {"status": "terminated"}))[0] == 200
    assert len(await changes(gateway, SUBSCRIBER)) == 3


async def test_an_operator_termination_notice_does_not_claim_90_unpaid_days(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    status, _ = await call(gateway.http.port, "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {"status": "terminated"})
    assert status == 200
    [termination] = await notices(sim, SUBSCRIBER, 1)
    assert termination == "尊敬的客户，您的号码已于2026年11月23日销户。如有疑问请拨打客服热线。"


async def test_an_operator_suspension_cannot_be_lifted_by_jjkj(gateway: Gateway, sim: SmscSimulator) -> None:
    status, _ = await call(gateway.http.port, "PATCH", f"/api/v1/subscribers/{SUBSCRIBER}", {"status": "suspended"})
    assert status == 200
    await notices(sim, SUBSCRIBER, 1)
    assert await ask(sim, SUBSCRIBER, "10086", "JJKJ") == (
        "您好，您的号码因业务原因停机，无法办理紧急开机，如有疑问请拨打客服热线。"
    )
    status, body = await protect(gateway, SUBSCRIBER)
    assert (status, body["message"]) == (
        409,
        f"{SUBSCRIBER} was suspended by the operator: only the operator lifts that",
    )
    await pay(gateway, SUBSCRIBER, 100)
    assert (await status_of(gateway, SUBSCRIBER), await changes(gateway, SUBSCRIBER)) == (
        "suspended",
        [("active", "suspended", "operator")],
    )


async def test_an_operator_suspends_a_protected_number(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    assert (await protect(gateway, ARREARS))[0] == 200
    status, body = await call(gateway.http.port, "PATCH", f"/api/v1/subscribers/{ARREARS}", {"status": "suspended"})
    assert (status, body["status"]) == (200, "suspended")
    assert (await changes(gateway, ARREARS))[2:] == [("protected", "suspended", "operator")]


# --- what a suspended subscriber may still do --------------------------------------------------------------


async def test_a_suspended_subscriber_may_query_but_not_order(gateway: Gateway, sim: SmscSimulator) -> None:
    await suspend_by_usage(gateway, sim)
    assert await ask(sim, ARREARS, "10086", "102") == (
        "您好，您的账户余额为0.00元，其中现金余额0.00元，赠送余额0.00元；可用余额0.00元。"
    )
    assert await ask(sim, ARREARS, "10086", "KTGPRS10") == "您好，您的号码已停机，暂不能订购业务，请缴费开机后再试。"
    assert await gateway.store.fetch("SELECT * FROM subscription WHERE msisdn = ?", (ARREARS,)) == []
