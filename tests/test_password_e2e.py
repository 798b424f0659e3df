"""502 (change the service password) and 503 (reset it with the ID number) end to end: a seeded ledger,
the gateway bound to the simulator, MOs in, the exact answers out, and the password hash they leave.

The clock starts at 2026-11-23 10:13:20 in Shanghai; a dialog waits 30 minutes for each reply.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import StartGateway, ask
from support.passwords import ALICE, BOB, ID_NUMBER, ID_WITH_X, NEW, NO_ID, NO_PASSWORD, OLD, seed
from support.texts import ASK_NEW, ASK_OLD, ASK_REPEAT, CHANGED

from commands import password
from gateway.app import Gateway
from gateway.clock import ManualClock
from gateway.db.unit import Tx
from gateway.ledger import passwords
from gateway.ledger.secrets import hash_secret, verify_secret
from gateway.smsc import SmscSimulator

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
DAY = 86_400.0

# --- the answers, written out ----------------------------------------------------------------------

ASK_ID = "您好，您正在重置服务密码，请在30分钟内回复机主证件号码。"
RESET_DONE = "您好，您的服务密码已重置成功，请牢记新密码。"


def wrong_old(left: int) -> str:
    return f"您好，原密码错误，24小时内还可输入{left}次，请重新回复原密码。"


def wrong_id(left: int) -> str:
    return f"您好，证件号码有误，24小时内还可输入{left}次，请重新回复机主证件号码。"


def locked(until: str) -> str:
    return f"您好，您24小时内密码或证件号码验证错误已达5次，改密码和重置密码功能已锁定，请于{until}后再试。"


NOT_SIX_DIGITS = "您好，新密码须为6位数字，请重新回复新密码。"
REPEATED = "您好，新密码不能含3位及以上相同的数字（如111），请重新回复新密码。"
SEQUENTIAL = "您好，新密码不能含3位及以上连续的数字（如123、321），请重新回复新密码。"
PHONE_TAIL = "您好，新密码不能是您手机号码的后6位，请重新回复新密码。"
ID_TAIL = "您好，新密码不能是您证件号码的后6位，请重新回复新密码。"
MISMATCH = "您好，两次输入的新密码不一致，请重新回复新密码。"
NOT_SET = "您好，您尚未设置服务密码，无法修改。如需设置，请发送503凭证件号码重置，或携带有效证件到营业厅办理。"
NO_ID_ON_FILE = "您好，系统中没有您的证件号码，无法通过短信重置密码，请携带有效证件到营业厅办理。"
CHANGE_EXPIRED = "您好，您修改密码的操作已超时，密码未修改。如需修改请重新发送502。"
RESET_EXPIRED = "您好，您重置密码的操作已超时，密码未重置。如需重置请重新发送503。"
ZERO_BALANCE = "您好，您的账户余额为0.00元，其中现金余额0.00元，赠送余额0.00元；可用余额0.00元。"
HELP_10001 = (
    "您好，欢迎使用10001短信营业厅。请回复以下代码：101当月话费，102账户余额，103上月账单，104历史账单，"
    "105积分查询，108流量查询，110缴费记录，501当前套餐，502改密码，503重置密码，0000已订业务，0退订业务。"
)


# --- the running gateway and its ledger --------------------------------------------------------------


@dataclass(slots=True)
class Env:
    """The simulator, the gateway over the seeded ledger, its clock and its database file."""

    sim: SmscSimulator
    gateway: Gateway
    clock: ManualClock
    path: Path

    async def ask(self, msisdn: str, text: str, service_number: str = "10001") -> str:
        """Send one MO and return the text of the answer it gets."""
        return await ask(self.sim, msisdn, service_number, text)

    async def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return await self.gateway.store.fetch(sql, params)

    async def password_hash(self, msisdn: str) -> str:
        [(stored,)] = await self.rows("SELECT password_hash FROM subscriber WHERE msisdn = ?", msisdn)
        return str(stored)

    async def dialogs(self, msisdn: str) -> list[tuple[Any, ...]]:
        """(service_number, kind, state) of the dialogs pending for the number."""
        return await self.rows("SELECT service_number, kind, state FROM dialog WHERE msisdn = ?", msisdn)


@pytest.fixture
async def env(sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path) -> Env:
    path = tmp_path / "gateway.db"
    await seed(path)
    clock = ManualClock(NOW)
    gateway = await start_gateway(clock=clock)
    return Env(sim=sim, gateway=gateway, clock=clock, path=path)


# --- 502 ----------------------------------------------------------------------------------------------


async def test_502_changes_the_password(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.dialogs(ALICE) == [("10001", "password_change", "check")]
    assert await env.ask(ALICE, OLD) == ASK_NEW
    assert await env.ask(ALICE, NEW) == ASK_REPEAT
    assert await env.dialogs(ALICE) == [("10001", "password_change", "repeat")]
    assert await env.ask(ALICE, NEW) == CHANGED
    assert await env.dialogs(ALICE) == []

    stored = await env.password_hash(ALICE)
    assert verify_secret(NEW, stored)
    assert not verify_secret(OLD, stored)
    assert await env.rows("SELECT COUNT(*) FROM password_failure") == [(0,)]


async def test_the_new_password_works_for_the_next_502(env: Env) -> None:
    for text, answer in [("502", ASK_OLD), (OLD, ASK_NEW), (NEW, ASK_REPEAT), (NEW, CHANGED)]:
        assert await env.ask(ALICE, text) == answer
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == wrong_old(4)
    assert await env.ask(ALICE, NEW) == ASK_NEW


async def test_a_wrong_old_password_says_how_many_tries_are_left_and_asks_again(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, "582948") == wrong_old(4)
    env.clock.advance(60)
    assert await env.ask(ALICE, "000000") == wrong_old(3)
    assert await env.rows("SELECT failed_at FROM password_failure WHERE msisdn = ?", ALICE) == [(NOW,), (NOW + 60,)]
    assert await env.dialogs(ALICE) == [("10001", "password_change", "check")]
    assert await env.ask(ALICE, OLD) == ASK_NEW


async def test_502_on_10086_too(env: Env) -> None:
    assert await env.ask(ALICE, "502", "10086") == ASK_OLD
    assert await env.ask(ALICE, OLD, "10086") == ASK_NEW


async def test_five_wrong_in_24_hours_lock_502_and_503_for_24_hours_from_the_fifth(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    for left in (4, 3, 2, 1):
        assert await env.ask(ALICE, "111111") == wrong_old(left)
        env.clock.advance(60)
    fifth = env.clock.now()  # 10:17:20: locked until 10:17:20 the next day
    assert await env.ask(ALICE, OLD[::-1]) == locked("11月24日10时17分")
    assert await env.dialogs(ALICE) == []

    assert await env.ask(ALICE, "502") == locked("11月24日10时17分")
    assert await env.ask(ALICE, "503") == locked("11月24日10时17分")
    assert await env.ask(ALICE, "503", "10086") == locked("11月24日10时17分")
    env.clock.set(fifth + DAY - 1)
    assert await env.ask(ALICE, "502") == locked("11月24日10时17分")
    assert await env.dialogs(ALICE) == []
    assert await env.rows("SELECT COUNT(*) FROM password_failure") == [(5,)]  # refusals are no failures

    env.clock.set(fifth + DAY)
    assert await env.ask(ALICE, "503") == ASK_ID
    assert await env.ask(ALICE, "502") == ASK_OLD + "（您未完成的密码重置已取消。）"
    assert await env.ask(ALICE, OLD) == ASK_NEW
    assert verify_secret(OLD, await env.password_hash(ALICE))  # nothing changed while locked


async def test_wrong_old_passwords_and_wrong_id_numbers_count_together(env: Env) -> None:
    assert await env.ask(BOB, "502") == ASK_OLD
    assert await env.ask(BOB, "123450") == wrong_old(4)
    assert await env.ask(BOB, "503") == ASK_ID + "（您未完成的密码修改已取消。）"
    assert await env.ask(BOB, ID_NUMBER) == wrong_id(3)
    assert await env.ask(BOB, ID_NUMBER) == wrong_id(2)


async def test_failures_older_than_24_hours_no_longer_count(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    for left in (4, 3, 2, 1):
        assert await env.ask(ALICE, "111111") == wrong_old(left)
    env.clock.advance(DAY)
    [*_, notice] = await env.sim.wait_for_mts(6, timeout=3.0)  # the dialog has long expired
    assert notice.text == CHANGE_EXPIRED
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, "111111") == wrong_old(4)


@pytest.mark.parametrize(
    ("candidate", "answer"),
    [
        pytest.param("73051", NOT_SIX_DIGITS, id="5-digits"),
        pytest.param("7305189", NOT_SIX_DIGITS, id="7-digits"),
        pytest.param("73o518", NOT_SIX_DIGITS, id="a-letter"),
        pytest.param("730111", REPEATED, id="111"),
        pytest.param("730123", SEQUENTIAL, id="123"),
        pytest.param("732105", SEQUENTIAL, id="321"),
        pytest.param("846305", PHONE_TAIL, id="phone-tail"),
        pytest.param("164927", ID_TAIL, id="id-tail"),
    ],
)
async def test_a_new_password_that_breaks_a_rule_is_refused_with_its_own_answer(
    env: Env, candidate: str, answer: str
) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == ASK_NEW
    assert await env.ask(ALICE, candidate) == answer
    assert await env.dialogs(ALICE) == [("10001", "password_change", "new")]
    assert await env.ask(ALICE, NEW) == ASK_REPEAT
    assert await env.ask(ALICE, NEW) == CHANGED


async def test_every_rule_in_one_dialog_then_a_good_one(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == ASK_NEW
    for candidate, answer in [
        ("12345678", NOT_SIX_DIGITS),
        ("555000", REPEATED),
        ("987650", SEQUENTIAL),
        ("846305", PHONE_TAIL),
        ("164927", ID_TAIL),
    ]:
        assert await env.ask(ALICE, candidate) == answer
    assert await env.ask(ALICE, "268904") == ASK_REPEAT  # 890: no wrap-around from 9 to 0
    assert await env.ask(ALICE, "268904") == CHANGED
    assert verify_secret("268904", await env.password_hash(ALICE))


async def test_a_repeat_that_does_not_match_asks_for_a_new_password_again(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == ASK_NEW
    assert await env.ask(ALICE, NEW) == ASK_REPEAT
    assert await env.ask(ALICE, "730519") == MISMATCH
    assert await env.dialogs(ALICE) == [("10001", "password_change", "new")]
    assert await env.ask(ALICE, NEW) == ASK_REPEAT  # the first entry is forgotten: this is the new one again
    assert await env.ask(ALICE, NEW) == CHANGED
    assert verify_secret(NEW, await env.password_hash(ALICE))


async def test_an_unanswered_502_expires_with_a_notice(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == ASK_NEW  # each reply starts the 30 minutes again
    env.clock.advance(29 * 60 + 59)
    await asyncio.sleep(1.3)  # at least one sweep: not yet due
    assert len(env.sim.mts) == 2

    env.clock.advance(2)
    [*_, notice] = await env.sim.wait_for_mts(3, timeout=3.0)
    assert (notice.source_addr, notice.destination_addr, notice.text) == ("10001", ALICE, CHANGE_EXPIRED)
    assert await env.dialogs(ALICE) == []
    assert await env.ask(ALICE, NEW) == HELP_10001  # no dialog any more: not a code
    assert verify_secret(OLD, await env.password_hash(ALICE))


async def test_an_unanswered_503_expires_with_a_notice(env: Env) -> None:
    assert await env.ask(BOB, "503") == ASK_ID
    env.clock.advance(30 * 60 + 1)
    [_, notice] = await env.sim.wait_for_mts(2, timeout=3.0)
    assert (notice.source_addr, notice.destination_addr, notice.text) == ("10001", BOB, RESET_EXPIRED)
    assert await env.dialogs(BOB) == []


async def test_502_without_a_password_set(env: Env) -> None:
    assert await env.ask(NO_PASSWORD, "502") == NOT_SET
    assert await env.dialogs(NO_PASSWORD) == []


async def test_a_new_command_ends_a_pending_502_and_says_so(env: Env) -> None:
    assert await env.ask(ALICE, "502") == ASK_OLD
    assert await env.ask(ALICE, OLD) == ASK_NEW
    assert await env.ask(ALICE, "102") == ZERO_BALANCE + "（您未完成的密码修改已取消。）"
    assert await env.dialogs(ALICE) == []
    assert await env.ask(ALICE, NEW) == HELP_10001
    assert verify_secret(OLD, await env.password_hash(ALICE))


# --- 503 ----------------------------------------------------------------------------------------------


async def test_503_resets_the_password_with_the_id_number(env: Env) -> None:
    assert await env.ask(BOB, "503") == ASK_ID
    assert await env.dialogs(BOB) == [("10001", "password_reset", "check")]
    assert await env.ask(BOB, ID_WITH_X.lower()) == ASK_NEW  # the ID number's x is read as X
    assert await env.ask(BOB, "730123") == SEQUENTIAL
    assert await env.ask(BOB, NEW) == ASK_REPEAT
    assert await env.ask(BOB, NEW) == RESET_DONE
    assert await env.dialogs(BOB) == []
    stored = await env.password_hash(BOB)
    assert verify_secret(NEW, stored)
    assert not verify_secret(OLD, stored)


async def test_503_sets_a_first_password(env: Env) -> None:
    assert await env.ask(NO_PASSWORD, "503") == ASK_ID
    assert await env.ask(NO_PASSWORD, ID_NUMBER) == ASK_NEW
    assert await env.ask(NO_PASSWORD, "164927") == ID_TAIL
    assert await env.ask(NO_PASSWORD, NEW) == ASK_REPEAT
    assert await env.ask(NO_PASSWORD, NEW) == RESET_DONE
    assert verify_secret(NEW, await env.password_hash(NO_PASSWORD))


async def test_503_with_a_wrong_id_number(env: Env) -> None:
    assert await env.ask(ALICE, "503") == ASK_ID
    assert await env.ask(ALICE, ID_WITH_X) == wrong_id(4)
    assert await env.dialogs(ALICE) == [("10001", "password_reset", "check")]
    assert await env.ask(ALICE, ID_NUMBER) == ASK_NEW


async def test_503_without_an_id_number_on_file(env: Env) -> None:
    assert await env.ask(NO_ID, "503") == NO_ID_ON_FILE
    assert await env.dialogs(NO_ID) == []


# --- no password or ID number is kept or shown anywhere -----------------------------------------------


async def test_no_password_or_id_number_in_the_database_the_answers_or_the_logs(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [OLD, NEW, "268904", ID_NUMBER, ID_NUMBER[-6:]]
    for text in ["502", OLD, NEW, "730519", NEW, NEW]:  # a mismatch on the way
        await env.ask(ALICE, text)
    for text in ["503", ID_WITH_X, ID_NUMBER, "582123", "268904", "268904"]:  # a wrong ID, a rule broken
        await env.ask(ALICE, text)
    assert env.sim.mts[-1].text == RESET_DONE
    assert verify_secret("268904", await env.password_hash(ALICE))
    assert await env.rows("SELECT text FROM mo WHERE source_addr = ? AND text <> ''", ALICE) == [("502",), ("503",)]

    answers = "\n".join(mt.text for mt in env.sim.mts)
    logs = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the gateway did log, at DEBUG too
    await env.gateway.stop()
    stored = b"".join(p.read_bytes() for p in env.path.parent.glob("gateway.db*"))
    for secret in [*secrets, ID_WITH_X, "582123"]:
        assert secret.encode() not in stored, secret
        assert secret not in answers, secret
        assert secret not in logs, secret


# --- the hashing runs outside the writer's batch --------------------------------------------------------


class Held:
    """commands/password.py's ``verify_secret`` and ``hash_secret``, each held in its worker thread until
    :meth:`release` (or for at most 10 s: then it goes on, and the order of the answers shows who waited)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self._released = threading.Event()
        self.calls: list[str] = []
        self.timed_out = False
        monkeypatch.setattr(password, "verify_secret", self._verify)
        monkeypatch.setattr(password, "hash_secret", self._hash)

    def release(self) -> None:
        self._released.set()

    def _verify(self, secret: str, stored: str) -> bool:
        self._hold("verify_secret")
        return verify_secret(secret, stored)

    def _hash(self, secret: str) -> str:
        self._hold("hash_secret")
        return hash_secret(secret)

    def _hold(self, name: str) -> None:
        self.calls.append(name)
        self.entered.set()
        if not self._released.wait(10):
            self.timed_out = True


async def held_reply(env: Env, held: Held, msisdn: str, text: str) -> list[tuple[str, str]]:
    """Send ``text`` with its hashing held; once it is held, BOB sends 102; release the hashing once BOB's
    answer is in (or the first answer, whoever's). The (addressee, text) of the two answers, in their order."""
    before = len(env.sim.mts)
    await env.sim.send_mo(msisdn, "10001", text)
    assert await asyncio.to_thread(held.entered.wait, 10)
    await env.sim.send_mo(BOB, "10001", "102", timeout=30)  # acknowledged once stored: that is a commit too
    await env.sim.wait_for_mts(before + 1, timeout=30)
    held.release()
    answers = await env.sim.wait_for_mts(before + 2, timeout=30)
    return [(mt.destination_addr, mt.text) for mt in answers[before:]]


VERIFY = ["verify_secret"]
VERIFY_AND_HASH = ["hash_secret", "verify_secret"]


@pytest.mark.parametrize(
    ("msisdn", "code", "replies"),
    [
        pytest.param(
            ALICE,
            "502",
            [
                ("582948", wrong_old(4), VERIFY),
                (OLD, ASK_NEW, VERIFY),
                ("164927", ID_TAIL, VERIFY_AND_HASH),
                (NEW, ASK_REPEAT, VERIFY_AND_HASH),
                ("730519", MISMATCH, VERIFY_AND_HASH),
                (NEW, ASK_REPEAT, VERIFY_AND_HASH),
                (NEW, CHANGED, VERIFY_AND_HASH),
            ],
            id="502",
        ),
        pytest.param(
            NO_PASSWORD,
            "503",
            [
                (ID_WITH_X, wrong_id(4), VERIFY),
                (ID_NUMBER, ASK_NEW, VERIFY),
                (NEW, ASK_REPEAT, VERIFY_AND_HASH),
                (NEW, RESET_DONE, VERIFY_AND_HASH),
            ],
            id="503",
        ),
    ],
)
async def test_another_subscribers_102_is_answered_while_a_reply_is_hashed(
    env: Env, monkeypatch: pytest.MonkeyPatch, msisdn: str, code: str, replies: list[tuple[str, str, list[str]]]
) -> None:
    """Every reply that needs hashing is held in its worker thread until BOB's 102 has been answered. Were
    the hashing inside the writer's batch, BOB's MO could not even be stored before it ended (10 s later)."""
    assert await env.ask(msisdn, code) in (ASK_OLD, ASK_ID)
    for text, answer, hashing in replies:
        held = Held(monkeypatch)
        assert await held_reply(env, held, msisdn, text) == [(BOB, ZERO_BALANCE), (msisdn, answer)], text
        assert sorted(held.calls) == hashing, text  # each once, and none again in the transaction
        assert not held.timed_out
    assert await env.dialogs(msisdn) == []
    assert verify_secret(NEW, await env.password_hash(msisdn))
    assert await env.rows("SELECT COUNT(*) FROM password_failure WHERE msisdn = ?", msisdn) == [(1,)]
    assert await env.rows("SELECT text FROM mo WHERE source_addr = ? AND text <> ''", msisdn) == [(code,)]


async def test_a_password_changed_while_the_old_one_is_checked_is_checked_again_in_the_transaction(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the transaction was against the hash then on file; the transaction finds another
    one (changed meanwhile, as the admin or a 503 on the other service number could), so it checks again."""
    assert await env.ask(ALICE, "502") == ASK_OLD
    held = Held(monkeypatch)
    before = len(env.sim.mts)
    await env.sim.send_mo(ALICE, "10001", OLD)
    assert await asyncio.to_thread(held.entered.wait, 10)

    async def change(tx: Tx) -> None:
        await passwords.set_password_hash(tx, ALICE, hash_secret(NEW))

    await env.gateway.store.transact(change)
    held.release()
    [*_, answer] = await env.sim.wait_for_mts(before + 1, timeout=30)
    assert (answer.destination_addr, answer.text) == (ALICE, wrong_old(4))  # OLD is no longer on file
    assert held.calls == ["verify_secret", "verify_secret"]  # before the transaction, then in it
    assert await env.rows("SELECT COUNT(*) FROM password_failure WHERE msisdn = ?", ALICE) == [(1,)]
    assert await env.dialogs(ALICE) == [("10001", "password_change", "check")]
    assert verify_secret(NEW, await env.password_hash(ALICE))
