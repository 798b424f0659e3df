"""USSD ``*100#`` over the SMPP link end to end: a seeded ledger, the gateway bound to the simulator over TCP,
whole sessions as deliver_sm with ``ussd_service_op`` and ``its_session_info``, the exact screens that come
back as submit_sm, and the rows they leave (or do not: USSD never touches the inbox or the outbox).

The clock stands at 2026-11-23 10:13:20 in Shanghai: an order today is charged half a month.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _pytest.logging import LogCaptureFixture
from conftest import StartGateway, ask
from ussd_ledger import (
    BUYER,
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
from gateway.errors import ConfigError
from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import DataCoding, Status, Tag
from gateway.smpp.text import gsm_encode
from gateway.smsc import SmscSimulator
from gateway.smsc.core import Faults
from gateway.smsc.mts import Mt
from gateway.ussd.service import LedgerServices

SERVICE = "*100#"  # the deliver_sm's destination_addr, and what the subscriber dials
BEGIN, ANSWER = 1, 18  # in: PSSR indication, USSR confirm
MENU, CLOSE = 2, 17  # out (smpp34): USSR request, PSSR response
CLOSE_0X17 = 0x17  # out (close_0x17): the last screen
UCS2_SCREEN = 80  # UTF-16 units on one Chinese screen

MORE = "# 下一页"

BUYER_BALANCE = "您好，您的账户余额为50.00元，其中现金余额50.00元，赠送余额0.00元；可用余额50.00元。"
BUYER_BALANCE_AFTER_ORDER = "您好，您的账户余额为48.50元，其中现金余额48.50元，赠送余额0.00元；可用余额48.50元。"
MAIN_POINTS = "您好，您当前的积分为1288分。"
CONFIRM_LDTX = "订购来电提醒（月费3.00元）：本月16日（含）后订购，本月按半月收取1.50元。\n1 确认\n2 取消"
ALREADY_GPRS3 = "您好，您已订购GPRS3元包，无需重复订购。"
DECLINED_GPRS3 = "您好，您已取消订购GPRS3元包，未扣费。"
SUSPENDED_ORDER = "您好，您的号码已停机，暂不能订购业务，请缴费开机后再试。"
UNKNOWN_CODE = "您拨打的号码有误，请核对后重拨。"
BUSY = "系统繁忙，请稍后再拨打*100#。"


@pytest.fixture
async def gateway(start_gateway: StartGateway, tmp_path: Path) -> Gateway:
    """The gateway over the seeded ledger, its clock at NOW, with the smpp34 profile."""
    await seed(tmp_path / "gateway.db")
    return await start_gateway(clock=ManualClock(NOW))


async def screen_for(sim: SmscSimulator, msisdn: str, session: int, after: int) -> Mt:
    """The first MT since ``sim.mts[after]`` to ``msisdn`` in USSD session ``session``."""

    def found() -> Mt | None:
        for mt in sim.mts[after:]:
            if mt.destination_addr == msisdn and (mt.its_session_info or b"")[:1] == bytes([session]):
                return mt
        return None

    async with asyncio.timeout(5.0):
        while (mt := found()) is None:
            await sim.wait_for_mts(len(sim.mts) + 1)
    return mt


@dataclass(slots=True)
class Handset:
    """One subscriber's USSD session as the network carries it: the session number of ``its_session_info``
    and the sequence number each deliver_sm carries (bits 7..1 of its second octet)."""

    sim: SmscSimulator
    msisdn: str
    session: int = 1
    sequence: int = 0
    last: Mt | None = None

    @property
    def info(self) -> bytes:
        """The its_session_info of the last deliver_sm sent (end-of-session bit clear)."""
        return bytes([self.session, self.sequence << 1])

    async def dial(self, code: str = SERVICE) -> tuple[int | None, str]:
        return await self._send(code, BEGIN)

    async def press(self, text: str) -> tuple[int | None, str]:
        return await self._send(text, ANSWER)

    async def hang_up(self) -> None:
        """The subscriber aborts: the end-of-session bit set. Acknowledged like any deliver_sm."""
        self.sequence = (self.sequence + 1) % 128
        status = await self.sim.send_ussd(
            self.msisdn, SERVICE, "", op=ANSWER, session=self.session, sequence=self.sequence, end=True
        )
        assert status == Status.ESME_ROK

    async def _send(self, text: str, op: int) -> tuple[int | None, str]:
        """One deliver_sm; checks what every answer must be, and returns its (ussd_service_op, text)."""
        after = len(self.sim.mts)
        self.sequence = (self.sequence + 1) % 128
        status = await self.sim.send_ussd(
            self.msisdn, SERVICE, text, op=op, session=self.session, sequence=self.sequence
        )
        assert status == Status.ESME_ROK
        mt = self.last = await screen_for(self.sim, self.msisdn, self.session, after)
        assert (mt.source_addr, mt.destination_addr) == (SERVICE, self.msisdn)
        assert mt.its_session_info == self.info  # carried back unchanged
        assert mt.registered_delivery == 0  # a screen asks for no receipt
        if gsm_encode(mt.text) is None:
            assert mt.data_coding == DataCoding.UCS2
            assert len(mt.text.encode("utf-16-be")) // 2 <= UCS2_SCREEN
        else:
            assert mt.data_coding == DataCoding.SMSC_DEFAULT
        return mt.ussd_service_op, mt.text


def item_numbers(screen: str) -> list[int]:
    """The numbers of the menu items on a screen (not the "0" of "0 返回 00 首页")."""
    firsts = [line.split(" ", 1)[0] for line in screen.splitlines()]
    return [int(first) for first in firsts if first.isdigit() and first != "0"]


async def together(*steps: Awaitable[tuple[int | None, str]]) -> list[tuple[int | None, str]]:
    """Screens asked for at the same time, in the order asked."""
    return list(await asyncio.gather(*steps))


async def count(gateway: Gateway, table: str) -> int:
    [(n,)] = await gateway.store.fetch(f"SELECT COUNT(*) FROM {table}")
    return int(n)


async def cash(gateway: Gateway, msisdn: str) -> int:
    [(fen,)] = await gateway.store.fetch("SELECT cash FROM account WHERE msisdn = ?", (msisdn,))
    return int(fen)


async def subscriptions(gateway: Gateway, msisdn: str) -> list[tuple[Any, ...]]:
    rows = await gateway.store.fetch(
        "SELECT product, started_at, ends_at FROM subscription WHERE msisdn = ? ORDER BY id", (msisdn,)
    )
    return [tuple(row) for row in rows]


async def fees(gateway: Gateway, msisdn: str) -> list[tuple[Any, ...]]:
    rows = await gateway.store.fetch(
        "SELECT cycle, category, product, amount FROM fee WHERE msisdn = ? ORDER BY id", (msisdn,)
    )
    return [tuple(row) for row in rows]


# --- a session, screen by screen ---------------------------------------------------------------------


async def test_dialling_the_service_code_opens_the_home_menu(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN, session=0xA5, sequence=40)
    assert await phone.dial() == (MENU, HOME)
    assert phone.last is not None
    assert phone.last.its_session_info == bytes([0xA5, 41 << 1])
    assert phone.last.data_coding == DataCoding.UCS2
    assert gateway.ussd.open_sessions == 1


async def test_its_session_info_comes_back_byte_for_byte(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN, session=0xFF, sequence=125)
    assert await phone.dial() == (MENU, HOME)  # sequence 126
    assert await phone.press("3") == (MENU, PACKAGES_1)  # 127: the highest
    assert phone.last is not None and phone.last.its_session_info == b"\xff\xfe"
    assert await phone.press("00") == (MENU, HOME)  # wraps to 0
    assert phone.last is not None and phone.last.its_session_info == b"\xff\x00"


async def test_balance_closes_with_the_sms_answer(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("1") == (CLOSE, MAIN_BALANCE)
    assert phone.last is not None and phone.last.data_coding == DataCoding.UCS2
    assert await ask(sim, MAIN, "10086", "CXYE") == MAIN_BALANCE
    assert gateway.ussd.open_sessions == 0


async def test_points_closes_with_the_sms_answer(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("4") == (CLOSE, MAIN_POINTS)


async def test_data_usage_is_read_over_two_screens(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("2") == (MENU, f"{MAIN_DATA_1}\n{MORE}")
    assert await phone.press("1") == (CLOSE, MAIN_DATA_2)  # any input shows the next screen
    assert await ask(sim, MAIN, "10086", "CXLL") == MAIN_DATA_1 + MAIN_DATA_2
    assert gateway.ussd.open_sessions == 0


@pytest.mark.parametrize(
    ("msisdn", "keys", "answer"),
    [
        pytest.param(SUSPENDED, ["3", "1"], SUSPENDED_ORDER, id="suspended-order"),
        pytest.param(STRANGER, ["1"], NOT_A_SUBSCRIBER, id="stranger-balance"),
        pytest.param(MAIN, ["3", "2"], "您好，您已订购GPRS5元包，无需重复订购。", id="package-already-held"),
    ],
)
async def test_refusals_close_the_session(
    gateway: Gateway, sim: SmscSimulator, msisdn: str, keys: list[str], answer: str
) -> None:
    phone = Handset(sim, msisdn)
    assert await phone.dial() == (MENU, HOME)
    for key in keys[:-1]:
        await phone.press(key)
    assert await phone.press(keys[-1]) == (CLOSE, answer)
    assert gateway.ussd.open_sessions == 0


# --- orders ------------------------------------------------------------------------------------------


async def test_an_order_is_confirmed_then_charged_once(gateway: Gateway, sim: SmscSimulator) -> None:
    assert await cash(gateway, BUYER) == 5000
    phone = Handset(sim, BUYER)
    await phone.dial()
    assert await phone.press("3") == (MENU, PACKAGES_1)
    assert await phone.press("1") == (MENU, CONFIRM_GPRS3)
    assert await cash(gateway, BUYER) == 5000  # nothing until the confirmation
    assert await subscriptions(gateway, BUYER) == []
    assert await phone.press("1") == (CLOSE, ORDERED_GPRS3)
    charged = (4850, [("GPRS3", NOW, None)], [("2026-11", "data", "GPRS3", 150)])
    assert (await cash(gateway, BUYER), await subscriptions(gateway, BUYER), await fees(gateway, BUYER)) == charged

    # The network repeats the confirmation on the closed session: the time-out answer, no second charge.
    assert await phone.press("1") == (CLOSE, EXPIRED)
    # A new session ordering it again is told it is held, without a confirmation.
    again = Handset(sim, BUYER, session=2)
    await again.dial()
    await again.press("3")
    assert await again.press("1") == (CLOSE, ALREADY_GPRS3)
    assert (await cash(gateway, BUYER), await subscriptions(gateway, BUYER), await fees(gateway, BUYER)) == charged
    assert await ask(sim, BUYER, "10086", "CXYE") == BUYER_BALANCE_AFTER_ORDER


@pytest.mark.parametrize("key", ["2", "x"])
async def test_anything_but_1_declines_an_order(gateway: Gateway, sim: SmscSimulator, key: str) -> None:
    phone = Handset(sim, BUYER)
    await phone.dial()
    await phone.press("3")
    assert await phone.press("1") == (MENU, CONFIRM_GPRS3)
    assert await phone.press(key) == (CLOSE, DECLINED_GPRS3)
    assert (await cash(gateway, BUYER), await subscriptions(gateway, BUYER), await fees(gateway, BUYER)) == (
        5000,
        [],
        [],
    )


# --- navigating --------------------------------------------------------------------------------------


async def test_the_packages_menu_takes_four_pages(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("3") == (MENU, PACKAGES_1)
    assert await phone.press("#") == (MENU, PACKAGES_2)
    assert await phone.press("#") == (MENU, PACKAGES_3)
    assert await phone.press("#") == (MENU, PACKAGES_4)
    pages = (PACKAGES_1, PACKAGES_2, PACKAGES_3, PACKAGES_4)
    assert [n for page in pages for n in item_numbers(page)] == list(range(1, 14))
    assert await phone.press("12") == (MENU, VOICE_PACKS)


async def test_back_and_home(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    steps = [
        ("3", PACKAGES_1),
        ("#", PACKAGES_2),
        ("0", PACKAGES_1),  # back: the previous page
        ("0", HOME),  # back from a first page: the menu above
        ("3", PACKAGES_1),
        ("#", PACKAGES_2),
        ("#", PACKAGES_3),
        ("10", SMS_PACKS),
        ("0", PACKAGES_3),  # back from a sub-menu: the menu above, at the page it was left on
        ("10", SMS_PACKS),  # the page it was left on shows item 10 again
        ("00", HOME),
        ("0", HOME),  # back at home: home
        ("3", PACKAGES_1),
        ("#", PACKAGES_2),
        ("00", HOME),
        ("2", f"{MAIN_DATA_1}\n{MORE}"),
    ]
    for key, screen in steps:
        assert await phone.press(key) == (MENU, screen), key
    assert gateway.ussd.open_sessions == 1


@pytest.mark.parametrize("key", ["9", "6", "#", "abc", "", "*100#"])
async def test_a_wrong_key_on_home_shows_it_again_with_a_note(gateway: Gateway, sim: SmscSimulator, key: str) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press(key) == (MENU, noted(HOME))
    assert await phone.press("1") == (CLOSE, MAIN_BALANCE)  # and the session goes on


async def test_a_wrong_key_in_a_sub_menu_shows_it_again_with_a_note(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, BUYER)
    await phone.dial()
    for key in ("3", "#", "#", "10"):
        await phone.press(key)
    assert await phone.press("4") == (MENU, noted(SMS_PACKS))
    assert await phone.press("0") == (MENU, PACKAGES_3)  # the page it was left on


async def test_a_wrong_key_on_the_last_page_shows_that_page_again(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    for key in ("3", "#", "#"):
        await phone.press(key)
    assert await phone.press("#") == (MENU, PACKAGES_4)
    assert await phone.press("x") == (MENU, noted(PACKAGES_4))
    assert await phone.press("#") == (MENU, noted(PACKAGES_4))  # no page after the last
    assert await phone.press("0") == (MENU, PACKAGES_3)


@pytest.mark.parametrize("wrong", ["x", "11", "000"])
async def test_a_wrong_key_keeps_the_page_and_paging_on_shows_every_item(
    gateway: Gateway, sim: SmscSimulator, wrong: str
) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("3") == (MENU, PACKAGES_1)
    assert await phone.press(wrong) == (MENU, noted(PACKAGES_1))
    assert await phone.press("#") == (MENU, PACKAGES_2)
    assert await phone.press(wrong) == (MENU, noted(PACKAGES_2))
    assert await phone.press("#") == (MENU, PACKAGES_3)
    assert await phone.press("8") == (MENU, CONFIRM_LDTX)


# --- the end of a session ----------------------------------------------------------------------------


async def test_an_abort_gets_no_answer_and_ends_the_session(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN, session=9)
    await phone.dial()
    await phone.press("3")
    assert gateway.ussd.open_sessions == 1
    before = len(sim.mts)
    await phone.hang_up()
    await gateway.ussd_smpp.drain()
    assert (gateway.ussd.open_sessions, gateway.ussd.expired) == (0, 0)  # ended, not timed out
    # The next deliver_sm on that session is answered after anything the abort could have caused.
    assert await phone.press("1") == (CLOSE, EXPIRED)
    assert [mt.text for mt in sim.mts[before:]] == [EXPIRED]
    # Dialling again starts afresh.
    assert await phone.dial() == (MENU, HOME)


async def test_a_release_while_confirming_does_not_order(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, BUYER)
    await phone.dial()
    await phone.press("3")
    assert await phone.press("1") == (MENU, CONFIRM_GPRS3)
    await phone.hang_up()
    assert await phone.press("1") == (CLOSE, EXPIRED)
    assert (await cash(gateway, BUYER), await subscriptions(gateway, BUYER)) == (5000, [])


async def test_an_abort_while_the_order_runs(
    gateway: Gateway, sim: SmscSimulator, monkeypatch: pytest.MonkeyPatch, caplog: LogCaptureFixture
) -> None:
    """The confirmation is in, its order is in the ledger, and the network releases the session meanwhile."""
    ordering, go_on = asyncio.Event(), asyncio.Event()
    order = LedgerServices.order

    async def slow_order(self: LedgerServices, msisdn: str, product: str) -> str:
        ordering.set()
        await go_on.wait()
        return await order(self, msisdn, product)

    monkeypatch.setattr(LedgerServices, "order", slow_order)
    phone = Handset(sim, BUYER)
    await phone.dial()
    await phone.press("3")
    assert await phone.press("1") == (MENU, CONFIRM_GPRS3)
    before = len(sim.mts)
    assert await sim.send_ussd(BUYER, SERVICE, "1", op=ANSWER, session=1, sequence=9) == Status.ESME_ROK
    async with asyncio.timeout(5.0):
        await ordering.wait()
        await phone.hang_up()
        while gateway.ussd.open_sessions:
            await asyncio.sleep(0.01)
    go_on.set()
    await gateway.ussd_smpp.drain()
    assert await phone.press("1") == (CLOSE, EXPIRED)
    assert [mt.text for mt in sim.mts[before:]] == [EXPIRED]  # nothing for the released session
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_an_abort_of_an_unknown_session_is_acknowledged_quietly(gateway: Gateway, sim: SmscSimulator) -> None:
    before = len(sim.mts)
    await Handset(sim, MAIN, session=77).hang_up()
    await gateway.ussd_smpp.drain()
    assert await Handset(sim, MAIN, session=78).dial() == (MENU, HOME)  # after the abort, in link order
    assert len(sim.mts) == before + 1


async def test_an_operation_not_in_the_profile_is_acknowledged_not_answered(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    before = len(sim.mts)
    assert await sim.send_ussd(MAIN, SERVICE, "1", op=CLOSE, session=1, sequence=5) == Status.ESME_ROK
    await gateway.ussd_smpp.drain()
    assert await phone.press("1") == (CLOSE, MAIN_BALANCE)  # the session was left where it was
    assert len(sim.mts) == before + 1


async def test_a_session_times_out_after_180_seconds(gateway: Gateway, sim: SmscSimulator) -> None:
    async def advance(seconds: float) -> None:
        url = f"http://127.0.0.1:{gateway.http.port}/test/clock"
        async with aiohttp.ClientSession() as http, http.post(url, json={"advance": seconds}) as response:
            assert response.status == 200

    phone = Handset(sim, MAIN)
    await phone.dial()
    await advance(179)
    assert await phone.press("3") == (MENU, PACKAGES_1)  # within the time-out, which starts again
    await advance(179)
    assert await phone.press("#") == (MENU, PACKAGES_2)
    await advance(181)
    assert await phone.press("1") == (CLOSE, EXPIRED)
    assert (gateway.ussd.open_sessions, gateway.ussd.started, gateway.ussd.expired) == (0, 1, 1)


async def test_time_moving_on_ends_idle_sessions(gateway: Gateway, sim: SmscSimulator) -> None:
    clock = gateway.clock
    assert isinstance(clock, ManualClock)
    idle, busy = Handset(sim, MAIN, session=1), Handset(sim, BUYER, session=1)
    await idle.dial()
    clock.advance(100)
    await busy.dial()
    clock.advance(81)
    await gateway.time_moved()
    assert gateway.ussd.open_sessions == 1  # the idle one, 181 s without input
    assert await busy.press("1") == (CLOSE, BUYER_BALANCE)
    assert await idle.press("1") == (CLOSE, EXPIRED)


# --- sessions side by side ---------------------------------------------------------------------------


async def test_concurrent_sessions_do_not_mix(gateway: Gateway, sim: SmscSimulator) -> None:
    """Two subscribers on the same session number, and a second session of one of them."""
    main_a, main_b, buyer = Handset(sim, MAIN, session=7), Handset(sim, MAIN, session=8), Handset(sim, BUYER, session=7)
    assert await together(main_a.dial(), main_b.dial(), buyer.dial()) == [(MENU, HOME)] * 3
    assert gateway.ussd.open_sessions == 3
    assert await together(main_a.press("2"), main_b.press("3"), buyer.press("3")) == [
        (MENU, f"{MAIN_DATA_1}\n{MORE}"),
        (MENU, PACKAGES_1),
        (MENU, PACKAGES_1),
    ]
    assert await together(main_a.press("x"), main_b.press("#"), buyer.press("1")) == [
        (CLOSE, MAIN_DATA_2),
        (MENU, PACKAGES_2),
        (MENU, CONFIRM_GPRS3),
    ]
    assert await together(main_b.press("00"), buyer.press("1")) == [(MENU, HOME), (CLOSE, ORDERED_GPRS3)]
    assert await main_b.press("1") == (CLOSE, MAIN_BALANCE)
    assert (await cash(gateway, BUYER), await cash(gateway, MAIN)) == (4850, 5630)
    assert await subscriptions(gateway, MAIN) == [("GPRS10", NOW - 80 * 86400, None), ("GPRS5", NOW - 50 * 86400, None)]
    assert gateway.ussd.open_sessions == 0


async def test_another_number_on_the_same_session_number_is_another_session(
    gateway: Gateway, sim: SmscSimulator
) -> None:
    """its_session_info numbers a dialogue of one subscriber: from another source_addr it is another dialogue.
    Its answer to a session it never began is told the session timed out; its dial opens its own."""
    victim = Handset(sim, MAIN, session=7)
    assert await victim.dial() == (MENU, HOME)
    assert await victim.press("3") == (MENU, PACKAGES_1)
    assert await victim.press("1") == (MENU, CONFIRM_GPRS3)
    thief = Handset(sim, "13700137000", session=7, sequence=victim.sequence)
    assert await thief.press("1") == (CLOSE, EXPIRED)  # the 1 确认 of the victim's confirmation
    assert await thief.dial() == (MENU, HOME)
    assert await thief.press("3") == (MENU, PACKAGES_1)
    assert await thief.press("1") == (CLOSE, NOT_A_SUBSCRIBER_ORDER)
    assert gateway.ussd.open_sessions == 1  # the victim's, still confirming
    assert await victim.press("2") == (CLOSE, DECLINED_GPRS3)
    assert await cash(gateway, MAIN) == 5630
    assert await subscriptions(gateway, MAIN) == [("GPRS10", NOW - 80 * 86400, None), ("GPRS5", NOW - 50 * 86400, None)]
    assert await fees(gateway, MAIN) == await fees(gateway, "13700137000") == []


async def test_many_sessions_at_once(gateway: Gateway, sim: SmscSimulator) -> None:
    phones = [Handset(sim, msisdn, session=n) for n in range(10) for msisdn in (MAIN, BUYER)]
    assert await together(*(p.dial() for p in phones)) == [(MENU, HOME)] * 20
    answers = await together(*(p.press("1") for p in phones))
    assert answers == [(CLOSE, MAIN_BALANCE), (CLOSE, BUYER_BALANCE)] * 10
    assert gateway.ussd.open_sessions == 0


async def test_past_the_cap_a_dial_is_closed_with_busy_until_a_session_ends(
    start_gateway: StartGateway, sim: SmscSimulator, tmp_path: Path
) -> None:
    await seed(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW), ussd__max_sessions="2")
    clock = gateway.clock
    assert isinstance(clock, ManualClock)
    main, buyer, third = Handset(sim, MAIN, session=1), Handset(sim, BUYER, session=1), Handset(sim, MAIN, session=2)
    assert await together(main.dial(), buyer.dial()) == [(MENU, HOME)] * 2
    assert await third.dial() == (CLOSE, BUSY)
    assert await third.press("1") == (CLOSE, EXPIRED)  # nothing was opened
    await main.hang_up()
    await gateway.ussd_smpp.drain()
    assert gateway.ussd.open_sessions == 1
    assert await third.dial() == (MENU, HOME)
    assert await Handset(sim, SUSPENDED, session=1).dial() == (CLOSE, BUSY)
    clock.advance(180)
    await gateway.time_moved()
    assert await Handset(sim, SUSPENDED, session=1).dial() == (MENU, HOME)
    assert (gateway.ussd.started, gateway.ussd.refused, gateway.ussd.expired) == (4, 2, 2)


# --- service code, operator profile, coding ----------------------------------------------------------


@pytest.mark.parametrize("code", ["*101#", "*100", "100", "*100#1#", ""])
async def test_a_wrong_service_code_closes_at_once(gateway: Gateway, sim: SmscSimulator, code: str) -> None:
    phone = Handset(sim, MAIN)
    assert await phone.dial(code) == (CLOSE, UNKNOWN_CODE)
    assert gateway.ussd.open_sessions == 0
    assert await phone.press("1") == (CLOSE, EXPIRED)  # no session was opened


async def test_the_service_code_may_come_with_spaces(gateway: Gateway, sim: SmscSimulator) -> None:
    assert await Handset(sim, MAIN).dial(" *100 # ") == (MENU, HOME)


async def test_close_0x17_profile(start_gateway: StartGateway, sim: SmscSimulator, tmp_path: Path) -> None:
    await seed(tmp_path / "gateway.db")
    await start_gateway(clock=ManualClock(NOW), ussd__profile="close_0x17")
    phone = Handset(sim, MAIN)
    assert await phone.dial() == (MENU, HOME)
    assert await phone.press("2") == (MENU, f"{MAIN_DATA_1}\n{MORE}")
    assert await phone.press("1") == (CLOSE_0X17, MAIN_DATA_2)
    assert await phone.press("1") == (CLOSE_0X17, EXPIRED)
    assert await phone.dial("*101#") == (CLOSE_0X17, UNKNOWN_CODE)
    buyer = Handset(sim, BUYER)
    await buyer.dial()
    assert await buyer.press("3") == (MENU, PACKAGES_1)
    assert await buyer.press("1") == (MENU, CONFIRM_GPRS3)
    assert await buyer.press("1") == (CLOSE_0X17, ORDERED_GPRS3)


async def test_an_unknown_profile_stops_start_up(start_gateway: StartGateway) -> None:
    with pytest.raises(ConfigError, match=r"ussd\.profile: 'nope' is not one of the profiles"):
        await start_gateway(ussd__profile="nope")


async def test_a_gsm_only_screen_goes_as_data_coding_0(
    start_gateway: StartGateway, sim: SmscSimulator, tmp_path: Path
) -> None:
    menus = tmp_path / "menus.toml"
    menus.write_text(
        'service_code = "*100#"\ncatalog = "10086"\nhome = "home"\n'
        '[[menus]]\nid = "home"\ntitle = "My account @ CMCC_100 (EUR €)"\n'
        'items = [{ label = "Points", command = "points" }, { label = "Balance", command = "balance" }]\n',
        encoding="utf-8",
    )
    await seed(tmp_path / "gateway.db")
    await start_gateway(clock=ManualClock(NOW), ussd__menus=str(menus))
    phone = Handset(sim, MAIN)
    assert await phone.dial() == (MENU, "My account @ CMCC_100 (EUR €)\n1 Points\n2 Balance")
    assert phone.last is not None and phone.last.data_coding == DataCoding.SMSC_DEFAULT
    assert await phone.press("1") == (CLOSE, MAIN_POINTS)
    assert phone.last is not None and phone.last.data_coding == DataCoding.UCS2


async def test_an_answer_in_ucs2_is_read(gateway: Gateway, sim: SmscSimulator) -> None:
    """A handset that sends its input as UCS2 (the simulator does for text outside the GSM alphabet)."""
    phone = Handset(sim, MAIN)
    await phone.dial()
    assert await phone.press("三") == (MENU, noted(HOME))


async def test_a_deliver_sm_without_its_session_info(gateway: Gateway, sim: SmscSimulator) -> None:
    def deliver(text: str, op: int) -> ShortMessage:
        septets = gsm_encode(text)
        assert septets is not None
        return ShortMessage(
            service_type="USSD",
            source_addr=MAIN,
            destination_addr=SERVICE,
            short_message=septets,
            tlvs=((Tag.ussd_service_op, bytes([op])),),
        )

    for text, op, screen in [("*100#", BEGIN, (MENU, HOME)), ("4", ANSWER, (CLOSE, MAIN_POINTS))]:
        before = len(sim.mts)
        assert await sim.send_deliver(deliver(text, op)) == Status.ESME_ROK
        [mt] = (await sim.wait_for_mts(before + 1))[before:]
        assert (mt.ussd_service_op, mt.text, mt.its_session_info, mt.destination_addr) == (*screen, None, MAIN)


# --- the SMSC's side of the link ---------------------------------------------------------------------


async def test_a_throttled_screen_is_sent_again_once(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    sim.faults = Faults(throttle_every=2)  # the second submit_sm is refused with ESME_RTHROTTLED
    await phone.dial()
    before = len(sim.mts)
    assert await phone.press("1") == (CLOSE, MAIN_BALANCE)
    assert sim.submits == 3
    assert len(sim.mts) == before + 1
    assert await count(gateway, "mt") == 0


async def test_a_refused_screen_is_dropped(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    await phone.dial()
    sim.faults = Faults(reject_status=Status.ESME_RSUBMITFAIL)
    before = (len(sim.mts), sim.submits)
    assert await sim.send_ussd(MAIN, SERVICE, "3", op=ANSWER, session=1, sequence=9) == Status.ESME_ROK
    await gateway.ussd_smpp.drain()
    async with asyncio.timeout(5.0):  # the screen is written at the end of the loop's turn: wait for the refusal
        while sim.submits < before[1] + 1:
            await asyncio.sleep(0.01)
    sim.faults = Faults()
    phone.sequence = 9
    assert await phone.press("#") == (MENU, PACKAGES_2)  # the session went on to the packages
    assert (len(sim.mts), sim.submits) == (before[0] + 1, before[1] + 2)  # the refused one was not sent again
    assert await count(gateway, "mt") == 0


# --- USSD and the inbox ------------------------------------------------------------------------------


async def test_ussd_skips_the_inbox_and_sms_still_works(gateway: Gateway, sim: SmscSimulator) -> None:
    phone = Handset(sim, MAIN)
    assert await phone.dial() == (MENU, HOME)
    assert await phone.press("3") == (MENU, PACKAGES_1)
    assert (await count(gateway, "mo"), await count(gateway, "mo_part"), await count(gateway, "mt")) == (0, 0, 0)

    # An SMS in the middle of the session: the inbox and the outbox as ever.
    assert await ask(sim, MAIN, "10086", "CXYE") == MAIN_BALANCE
    assert sim.mts[-1].ussd_service_op is None and sim.mts[-1].its_session_info is None
    assert (await count(gateway, "mo"), await count(gateway, "mt")) == (1, 1)
    [(status,)] = await gateway.store.fetch("SELECT status FROM mo")
    assert status == "answered"

    assert await phone.press("0") == (MENU, HOME)  # the session is where it was
    assert await phone.press("1") == (CLOSE, MAIN_BALANCE)
    assert (await count(gateway, "mo"), await count(gateway, "mt")) == (1, 1)
