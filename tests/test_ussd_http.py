"""USSD ``*100#`` over the aggregator's HTTP callback end to end: a seeded ledger, the gateway bound to the
simulator, whole sessions as ``POST /ussd`` requests, the exact screens they get and the rows they leave.

Each request carries every input so far joined by ``*`` (:class:`Call` builds them as an aggregator does).
The clock stands at 2026-11-23 10:13:20 in Shanghai: an order today is charged half a month.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import StartGateway, ask
from ussd_ledger import (
    BUYER,
    CONFIRM_DX6,
    CONFIRM_GPRS3,
    EXPIRED,
    HOME,
    MAIN,
    MAIN_BALANCE,
    MAIN_DATA_1,
    MAIN_DATA_2,
    NOT_A_SUBSCRIBER,
    NOT_A_SUBSCRIBER_ORDER,
    NOW,
    ORDERED_GPRS3,
    PACKAGES_1,
    PACKAGES_2,
    PACKAGES_3,
    PACKAGES_4,
    SMS_PACKS,
    STRANGER,
    SUSPENDED,
    VOICE_PACKS,
    noted,
    seed,
)

from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.logs import JsonFormatter
from gateway.smsc import SmscSimulator
from gateway.ussd.screen import Screen

_session_ids = itertools.count(1)


@pytest.fixture
async def gateway(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    """The gateway over the seeded ledger, its clock at NOW (movable with POST /test/clock)."""
    await seed(tmp_path / "gateway.db")
    return await start_gateway(clock=ManualClock(NOW))


async def post_ussd(port: int, fields: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}/ussd"
    async with aiohttp.ClientSession() as http, http.post(url, data=fields) as response:
        assert response.content_type == "text/plain"
        return response.status, await response.text()


async def advance_clock(port: int, seconds: float) -> None:
    url = f"http://127.0.0.1:{port}/test/clock"
    async with aiohttp.ClientSession() as http, http.post(url, json={"advance": seconds}) as response:
        assert response.status == 200


class Call:
    """One USSD session driven like an aggregator does: each request repeats every input so far."""

    def __init__(self, gateway: Gateway, msisdn: str = MAIN, *, phone: str | None = None) -> None:
        self.port = gateway.http.port
        self.phone = phone if phone is not None else f"+86{msisdn}"
        self.session_id = f"ATUid_{next(_session_ids):04d}"
        self.inputs: list[str] = []

    @property
    def text(self) -> str:
        return "*".join(self.inputs)

    async def dial(self) -> str:
        return await self.send(self.text)

    async def press(self, key: str) -> str:
        self.inputs.append(key)
        return await self.send(self.text)

    async def resend(self) -> str:
        """The aggregator's retry: the previous request once more."""
        return await self.send(self.text)

    async def send(self, text: str, *, code: str = "*100#") -> str:
        fields = {"sessionId": self.session_id, "serviceCode": code, "phoneNumber": self.phone, "text": text}
        status, body = await post_ussd(self.port, fields)
        assert status == 200, body
        return body


async def rows(gateway: Gateway, sql: str, msisdn: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await gateway.store.fetch(sql, (msisdn,))]


async def cash(gateway: Gateway, msisdn: str) -> int:
    [(amount,)] = await rows(gateway, "SELECT cash FROM account WHERE msisdn = ?", msisdn)
    return int(amount)


async def subscriptions(gateway: Gateway, msisdn: str) -> list[tuple[Any, ...]]:
    sql = "SELECT product, started_at, ends_at FROM subscription WHERE msisdn = ? ORDER BY id"
    return await rows(gateway, sql, msisdn)


def on_one_screen(body: str) -> bool:
    return Screen().fits(body.removeprefix("CON ").removeprefix("END "))


# --- queries ---------------------------------------------------------------------------------------


async def test_balance_ends_the_session_with_the_sms_answer(gateway: Gateway, sim: SmscSimulator) -> None:
    call = Call(gateway)
    assert await call.dial() == f"CON {HOME}"
    assert await call.press("1") == f"END {MAIN_BALANCE}"
    assert await ask(sim, MAIN, "10086", "CXYE") == MAIN_BALANCE
    assert (gateway.ussd.started, gateway.ussd.open_sessions) == (1, 0)


async def test_data_usage_is_read_over_two_screens(gateway: Gateway, sim: SmscSimulator) -> None:
    call = Call(gateway)
    await call.dial()
    first = await call.press("2")
    assert first == f"CON {MAIN_DATA_1}\n# 下一页"
    last = await call.press("1")  # any input shows the next screen
    assert last == f"END {MAIN_DATA_2}"
    assert on_one_screen(first)
    assert on_one_screen(last)
    assert await ask(sim, MAIN, "10086", "CXLL") == MAIN_DATA_1 + MAIN_DATA_2


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        pytest.param("4", "您好，您当前的积分为1288分。", id="points"),
        pytest.param("5", "您好，暂未查到您的缴费记录。", id="payments-none"),
    ],
)
async def test_a_short_query_ends_the_session(gateway: Gateway, key: str, answer: str) -> None:
    call = Call(gateway)
    await call.dial()
    assert await call.press(key) == f"END {answer}"


@pytest.mark.parametrize("phone", ["+8613800138000", "8613800138000", "13800138000", "+86 138 0013 8000"])
async def test_the_phone_number_is_read_with_or_without_the_country_code(gateway: Gateway, phone: str) -> None:
    call = Call(gateway, phone=phone)
    await call.dial()
    assert await call.press("1") == f"END {MAIN_BALANCE}"


# --- orders ----------------------------------------------------------------------------------------


async def test_a_confirmed_order_is_charged_once_when_the_aggregator_retries(gateway: Gateway) -> None:
    call = Call(gateway, BUYER)
    await call.dial()
    assert await call.press("3") == f"CON {PACKAGES_1}"
    assert await call.press("1") == f"CON {CONFIRM_GPRS3}"
    assert await call.resend() == f"CON {CONFIRM_GPRS3}"  # a retry of the choice: still one confirmation
    assert await call.press("1") == f"END {ORDERED_GPRS3}"
    for _ in range(2):
        assert await call.resend() == f"END {ORDERED_GPRS3}"
    assert await cash(gateway, BUYER) == 5000 - 150
    assert await subscriptions(gateway, BUYER) == [("GPRS3", NOW, None)]
    fees = await rows(gateway, "SELECT category, product, amount FROM fee WHERE msisdn = ?", BUYER)
    assert fees == [("data", "GPRS3", 150)]


@pytest.mark.parametrize(
    ("item", "sub_item", "code", "category", "name", "includes"),
    [
        ("11", "2", "CX10", "mms", "10元彩信包", "，含彩信40条"),
        ("12", "1", "YY10", "voice", "10元通话包", "，含国内通话50分钟"),
        ("13", "3", "CJQQ", "vas", "超级QQ", ""),
    ],
)
async def test_the_mms_voice_and_service_packs_are_ordered_from_their_sub_menus(
    gateway: Gateway, item: str, sub_item: str, code: str, category: str, name: str, includes: str
) -> None:
    call = Call(gateway, BUYER)
    await call.dial()
    for key in ("3", "#", "#", *(("#",) if item != "11" else ())):  # 11 is on the third page, 12 and 13 the fourth
        await call.press(key)
    await call.press(item)
    assert await call.press(sub_item) == (
        f"CON 订购{name}（月费10.00元）：本月16日（含）后订购，本月按半月收取5.00元{includes}。\n1 确认\n2 取消"
    )
    assert await call.press("1") == f"END 您好，您已成功订购{name}，本次扣费5.00元，当前余额45.00元。"
    assert await cash(gateway, BUYER) == 5000 - 500
    assert await subscriptions(gateway, BUYER) == [(code, NOW, None)]
    fees = await rows(gateway, "SELECT category, product, amount FROM fee WHERE msisdn = ?", BUYER)
    assert fees == [(category, code, 500)]


async def test_a_retry_sent_while_the_order_is_being_made_gets_its_answer(gateway: Gateway) -> None:
    call = Call(gateway, BUYER)
    await call.dial()
    await call.press("3")
    await call.press("1")
    call.inputs.append("1")
    answers = await asyncio.gather(*(call.resend() for _ in range(3)))
    assert answers == [f"END {ORDERED_GPRS3}"] * 3
    assert await cash(gateway, BUYER) == 5000 - 150
    assert await subscriptions(gateway, BUYER) == [("GPRS3", NOW, None)]


@pytest.mark.parametrize("key", ["2", "9"])
async def test_a_declined_order_charges_nothing(gateway: Gateway, key: str) -> None:
    call = Call(gateway, BUYER)
    await call.dial()
    for key_on_the_way in ("3", "#", "#"):
        await call.press(key_on_the_way)
    assert await call.press("10") == f"CON {SMS_PACKS}"
    assert await call.press("2") == f"CON {CONFIRM_DX6}"
    assert await call.press(key) == "END 您好，您已取消订购6元短信包，未扣费。"
    assert await cash(gateway, BUYER) == 5000
    assert await subscriptions(gateway, BUYER) == []


async def test_a_package_already_held_is_not_offered_again(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    await call.press("3")
    assert await call.press("3") == "END 您好，您已订购GPRS10元包，无需重复订购。"
    assert await cash(gateway, MAIN) == 5630


# --- navigation ------------------------------------------------------------------------------------


async def test_the_packages_menu_is_split_into_pages_that_fit(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    screens = [await call.press("3"), await call.press("#"), await call.press("#"), await call.press("#")]
    assert screens == [f"CON {PACKAGES_1}", f"CON {PACKAGES_2}", f"CON {PACKAGES_3}", f"CON {PACKAGES_4}"]
    for screen in screens:
        assert len(screen.removeprefix("CON ")) <= 80
        assert on_one_screen(screen)
    items = [line.split(" ")[0] for screen in screens for line in screen.splitlines() if line[:1] in "123456789"]
    assert items == [str(n) for n in range(1, 14)]  # every item once, in order
    assert await call.press("12") == f"CON {VOICE_PACKS}"  # an item of the last page


async def test_back_and_home(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    script = [
        ("0", HOME),  # back at home: home again, no note
        ("3", PACKAGES_1),
        ("#", PACKAGES_2),
        ("0", PACKAGES_1),  # back: the previous page
        ("0", HOME),  # back on a first page: the menu above
        ("3", PACKAGES_1),
        ("#", PACKAGES_2),
        ("#", PACKAGES_3),
        ("10", SMS_PACKS),
        ("0", PACKAGES_3),  # the menu above, at the page it was left on
        ("10", SMS_PACKS),
        ("00", HOME),
        ("1", None),
    ]
    for key, screen in script[:-1]:
        assert await call.press(key) == f"CON {screen}", f"after {call.text}"
    assert await call.press("1") == f"END {MAIN_BALANCE}"


async def test_a_retried_request_moves_only_once(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    assert await call.resend() == f"CON {HOME}"
    await call.press("3")
    assert await call.press("#") == f"CON {PACKAGES_2}"
    assert await call.resend() == f"CON {PACKAGES_2}"
    assert await call.press("#") == f"CON {PACKAGES_3}"


@pytest.mark.parametrize("key", ["9", "6", "#", "abc", "000", "1 2"])
async def test_an_invalid_input_shows_the_same_menu_with_a_note(gateway: Gateway, key: str) -> None:
    call = Call(gateway)
    await call.dial()
    assert await call.press(key) == f"CON {noted(HOME)}"
    assert await call.press("1") == f"END {MAIN_BALANCE}"


async def test_an_input_containing_a_star_arrives_whole(gateway: Gateway) -> None:
    """The new input is what follows the previous text and its ``*``: after ``3*#*0*#*#`` the text
    ``3*#*0*#*#*10*1*2`` brings ``10`` and then ``1*2``, one input that is no item: the menu again with the
    note, nothing quoted or ordered. The next input is read after ``1*2`` as a whole."""
    call = Call(gateway, BUYER)
    await call.dial()
    steps = [("3", PACKAGES_1), ("#", PACKAGES_2), ("0", PACKAGES_1), ("#", PACKAGES_2), ("#", PACKAGES_3)]
    for key, screen in [*steps, ("10", SMS_PACKS)]:
        assert await call.press(key) == f"CON {screen}"
    assert call.text == "3*#*0*#*#*10"
    assert await call.press("1*2") == f"CON {noted(SMS_PACKS)}"
    assert call.text == "3*#*0*#*#*10*1*2"
    assert await call.press("2") == f"CON {CONFIRM_DX6}"
    assert await call.press("2") == "END 您好，您已取消订购6元短信包，未扣费。"
    assert await subscriptions(gateway, BUYER) == []


async def test_a_text_that_does_not_extend_the_previous_one_brings_its_last_field(gateway: Gateway) -> None:
    """An aggregator that sends only the newest input: each text is taken as the input (its last
    ``*``-field). The same input twice in a row cannot be told from a retry: it is answered as one."""
    call = Call(gateway)
    assert await call.send("") == f"CON {HOME}"
    assert await call.send("3") == f"CON {PACKAGES_1}"
    assert await call.send("#") == f"CON {PACKAGES_2}"
    assert await call.send("#") == f"CON {PACKAGES_2}"  # taken for a retry
    assert await call.send("0*0") == f"CON {PACKAGES_1}"  # does not extend "#": its last field "0", back
    assert await call.send("00") == f"CON {HOME}"
    assert await call.send("1") == f"END {MAIN_BALANCE}"


# --- time-out ---------------------------------------------------------------------------------------


async def test_a_session_idle_past_the_time_out_is_told_it_expired(gateway: Gateway) -> None:
    port = gateway.http.port
    call = Call(gateway)
    await call.dial()
    await call.press("3")
    await advance_clock(port, 179)
    assert await call.press("#") == f"CON {PACKAGES_2}"  # still open, and the idle time starts again
    await advance_clock(port, 179)
    assert await call.press("#") == f"CON {PACKAGES_3}"
    await advance_clock(port, 181)
    assert (gateway.ussd.expired, gateway.ussd.open_sessions) == (1, 0)
    assert await call.press("1") == f"END {EXPIRED}"
    assert await Call(gateway).dial() == f"CON {HOME}"  # dialling again begins afresh


async def test_the_last_screen_is_repeated_until_the_time_out(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    assert await call.press("1") == f"END {MAIN_BALANCE}"
    await advance_clock(gateway.http.port, 170)
    assert await call.resend() == f"END {MAIN_BALANCE}"
    await advance_clock(gateway.http.port, 11)
    assert await call.resend() == f"END {EXPIRED}"


async def test_an_unknown_session_with_inputs_is_told_it_expired(gateway: Gateway) -> None:
    call = Call(gateway)
    assert await call.send("3*1") == f"END {EXPIRED}"
    assert gateway.ussd.started == 0


# --- subscribers the menus cannot serve fully -------------------------------------------------------


async def test_a_suspended_subscriber_can_query_but_not_order(gateway: Gateway, sim: SmscSimulator) -> None:
    query = Call(gateway, SUSPENDED)
    await query.dial()
    balance = await query.press("1")
    assert balance == (
        "END 您好，您已欠费2.30元，其中现金余额-2.30元，赠送余额0.00元；可用余额-2.30元。请及时缴费以免影响使用。"
    )
    assert balance == "END " + await ask(sim, SUSPENDED, "10086", "CXYE")
    order = Call(gateway, SUSPENDED)
    await order.dial()
    await order.press("3")
    assert await order.press("1") == "END 您好，您的号码已停机，暂不能订购业务，请缴费开机后再试。"
    assert await cash(gateway, SUSPENDED) == -230
    assert await subscriptions(gateway, SUSPENDED) == []


@pytest.mark.parametrize(
    ("keys", "refusal"),
    [
        (["1"], NOT_A_SUBSCRIBER),
        (["2"], NOT_A_SUBSCRIBER),
        (["3", "1"], NOT_A_SUBSCRIBER_ORDER),  # a package: a 业务
        (["3", "#", "#", "10", "2"], NOT_A_SUBSCRIBER_ORDER),
    ],
)
async def test_an_unknown_number_is_told_it_is_not_a_subscriber(
    gateway: Gateway, keys: list[str], refusal: str
) -> None:
    call = Call(gateway, STRANGER)
    assert await call.dial() == f"CON {HOME}"
    for key in keys[:-1]:
        assert (await call.press(key)).startswith("CON ")
    assert await call.press(keys[-1]) == f"END {refusal}"


# --- a session belongs to the number that opened it ---------------------------------------------------

VICTIM, THIEF = MAIN, "13700137000"
MISMATCH = "会话与号码不符，请重新拨打*100#。"


def mismatch_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The refusals logged, as the JSON formatter writes them (numbers masked)."""
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.getMessage() == "ussd session of another number"]
    return [json.loads(line) for line in lines]


async def test_a_session_cannot_be_continued_from_another_number(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.ussd")
    victim = Call(gateway, VICTIM)
    thief = Call(gateway, THIEF)
    victim.session_id = thief.session_id = "victim-1"
    assert await victim.dial() == f"CON {HOME}"
    for text in ("3", "3*1", "3*1*1", ""):  # the way to GPRS3 and its 1 确认, and dialling afresh
        assert await thief.send(text) == f"END {MISMATCH}"
    assert await victim.press("3") == f"CON {PACKAGES_1}"  # the victim's session is where it was
    assert await victim.press("1") == f"CON {CONFIRM_GPRS3}"
    for text in ("3*1", "3*1*1"):  # the victim's last request (a retry shows its screen), and the 确认
        assert await thief.send(text) == f"END {MISMATCH}"
    assert await victim.press("2") == "END 您好，您已取消订购GPRS3元包，未扣费。"
    assert await thief.send("3*1*2") == f"END {MISMATCH}"  # nor the victim's last screen after its END
    assert await victim.resend() == "END 您好，您已取消订购GPRS3元包，未扣费。"
    assert await cash(gateway, VICTIM) == 5630
    assert await subscriptions(gateway, VICTIM) == [
        ("GPRS10", NOW - 80 * 86400, None),
        ("GPRS5", NOW - 50 * 86400, None),
    ]
    assert await rows(gateway, "SELECT product FROM fee WHERE msisdn IN (?, '13700137000')", VICTIM) == []
    assert gateway.ussd.started == 1
    logged = mismatch_logs(caplog)
    assert [(e["level"], e["msisdn"], e["opened_by"], e["session_id"]) for e in logged] == [
        ("warning", "137****7000", "138****8000", "victim-1")
    ] * 7
    assert all(THIEF not in json.dumps(e) and VICTIM not in json.dumps(e) for e in logged)


async def test_a_session_of_another_number_is_refused_until_it_times_out(gateway: Gateway) -> None:
    victim = Call(gateway, VICTIM)
    thief = Call(gateway, THIEF)
    victim.session_id = thief.session_id = "victim-2"
    await victim.dial()
    assert await victim.press("1") == f"END {MAIN_BALANCE}"
    await advance_clock(gateway.http.port, 179)
    assert await thief.send("") == f"END {MISMATCH}"
    await advance_clock(gateway.http.port, 2)  # the victim's session is forgotten: the id is free again
    assert await thief.send("") == f"CON {HOME}"


async def test_another_service_code_leaves_the_session_as_it_was(gateway: Gateway) -> None:
    call = Call(gateway)
    await call.dial()
    await call.press("3")
    assert await call.send("3*1", code="*101#") == "END 您拨打的号码有误，请核对后重拨。"
    assert await call.press("#") == f"CON {PACKAGES_2}"


# --- at most ussd.max_sessions open -------------------------------------------------------------------

BUSY = "系统繁忙，请稍后再拨打*100#。"
CAP = 3


@pytest.fixture
async def capped(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    """The gateway with room for 3 open sessions."""
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW), ussd__max_sessions=str(CAP))
    assert gateway.config.ussd.max_sessions == CAP
    return gateway


async def test_the_cap_is_the_configured_one(start_gateway: StartGateway) -> None:
    gateway = await start_gateway(ussd__max_sessions=str(CAP))
    assert gateway.ussd.max_sessions == CAP


async def test_past_the_cap_a_dial_is_refused_until_a_session_times_out(capped: Gateway) -> None:
    port = capped.http.port
    first, *others = [Call(capped) for _ in range(CAP)]
    for call in (first, *others):
        assert await call.dial() == f"CON {HOME}"
    late = Call(capped, BUYER)
    assert await late.dial() == f"END {BUSY}"
    await advance_clock(port, 100)
    assert await first.press("3") == f"CON {PACKAGES_1}"  # the open ones go on
    assert await late.resend() == f"END {BUSY}"  # the aggregator's retry: still no room
    assert await late.send("1") == f"END {EXPIRED}"  # no session was opened for it
    assert (capped.ussd.started, capped.ussd.refused, capped.ussd.open_sessions) == (CAP, 2, CAP)
    await advance_clock(port, 80)  # the two others have been idle for the time-out, the first for 80 s
    assert await late.dial() == f"CON {HOME}"
    assert await Call(capped, SUSPENDED).dial() == f"CON {HOME}"
    assert await Call(capped, STRANGER).dial() == f"END {BUSY}"
    assert await first.press("1") == f"CON {CONFIRM_GPRS3}"  # still where it was
    assert (capped.ussd.started, capped.ussd.refused, capped.ussd.expired) == (CAP + 2, 3, 2)


async def test_a_session_that_ends_makes_room_at_once(capped: Gateway) -> None:
    calls = [Call(capped) for _ in range(CAP)]
    for call in calls:
        await call.dial()
    assert await Call(capped, BUYER).dial() == f"END {BUSY}"
    assert await calls[0].press("1") == f"END {MAIN_BALANCE}"
    assert await calls[0].resend() == f"END {MAIN_BALANCE}"  # its last screen is still shown again to a retry
    assert await Call(capped, BUYER).dial() == f"CON {HOME}"


# --- requests the gateway refuses --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["*101#", "*100", "100", "*100*1#"])
async def test_a_wrong_service_code_ends_at_once(gateway: Gateway, code: str) -> None:
    call = Call(gateway)
    assert await call.send("", code=code) == "END 您拨打的号码有误，请核对后重拨。"
    assert gateway.ussd.started == 0
    assert await call.send("") == f"CON {HOME}"  # the same session id with the right code begins


FIELDS = {"sessionId": "ATUid_bad", "serviceCode": "*100#", "phoneNumber": "+8613800138000", "text": ""}


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ({k: v for k, v in FIELDS.items() if k != "sessionId"}, "END bad request: missing sessionId"),
        ({k: v for k, v in FIELDS.items() if k != "serviceCode"}, "END bad request: missing serviceCode"),
        ({k: v for k, v in FIELDS.items() if k != "phoneNumber"}, "END bad request: missing phoneNumber"),
        ({**FIELDS, "phoneNumber": "  "}, "END bad request: missing phoneNumber"),
        ({"text": "1"}, "END bad request: missing sessionId, serviceCode, phoneNumber"),
        ({**FIELDS, "text": "1*" * 101}, "END bad request: a field longer than 200 characters"),
    ],
)
async def test_a_request_missing_a_field_is_refused(gateway: Gateway, fields: dict[str, str], body: str) -> None:
    assert await post_ussd(gateway.http.port, fields) == (400, body)
    assert gateway.ussd.started == 0


async def test_a_request_without_text_begins_the_session(gateway: Gateway) -> None:
    fields = {k: v for k, v in FIELDS.items() if k != "text"}
    assert await post_ussd(gateway.http.port, fields) == (200, f"CON {HOME}")
    assert gateway.ussd.started == 1
