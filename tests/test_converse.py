"""gateway.converse: the format's parser, matching, the report, the CLI, and attaching over HTTP."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from conftest import StartGateway

from gateway.converse.channels import Mt, SmppUssd, UssdScreen, session_info
from gateway.converse.parse import parse
from gateway.converse.runner import marked_difference, run_attached, run_conversation, ussd_profile
from gateway.converse.script import (
    Dial,
    Expect,
    HangUp,
    Pay,
    Restore,
    ScriptError,
    Send,
    Usage,
    UssdInput,
    duration,
    kb,
    yuan,
)
from gateway.smsc import SmscSimulator

ROOT = Path(__file__).resolve().parent.parent
HEADER = "subscriber 13800138000\nservice 10001\nclock 2026-11-20 10:00\n"
HOME = "中国移动自助服务\n1 话费查询\n2 流量查询\n3 业务办理\n4 积分查询\n5 充值记录"
HOME_LINES = (
    "< CON 中国移动自助服务\n      1 话费查询\n      2 流量查询\n      3 业务办理\n      4 积分查询\n      5 充值记录\n"
)
TOKEN = "converse-test-token-0123456789"


@pytest.mark.parametrize(
    ("pattern", "regex", "text", "matches"),
    [
        ("您好*元", False, "您好，余额5.00元", True),
        ("您好*元", False, "您好，余额5.00元。", False),
        ("a*b*c", False, "a--b--c", True),
        ("5.00元", False, "5x00元", False),  # . is literal without re:
        (r"余额\d+\.\d{2}元", True, "余额58.90元", True),
        (r"余额\d+元", True, "余额58.90元", False),
    ],
)
def test_expectations_match_literal_wildcard_and_regex(pattern: str, regex: bool, text: str, matches: bool) -> None:
    assert Expect(line=1, pattern=pattern, regex=regex).matches(text) is matches


def test_amounts_durations_and_data_are_read_exactly() -> None:
    assert [yuan("58.90"), yuan("0.5"), yuan("-3.2"), yuan("12元")] == [5890, 50, -320, 1200]
    assert [duration("31m"), duration("1h30m"), duration("2d"), duration("0.5s")] == [1860, 5400, 172800, 0.5]
    assert [kb("512KB"), kb("23.5MB"), kb("15GB")] == [512, 24064, 15728640]


def test_a_script_reads_into_steps_with_their_expected_answers() -> None:
    script = parse(
        HEADER + "ledger\n  balance 58.90\n  subscription GPRS10 since 2026-09-03\n> 102\n< 您好*\n< re: .*\n"
        "advance 31m\n< 超时*\nno answer within 2s\nsmsc throttle every 3\n",
        Path("t.conv"),
    )
    first = script.steps[0]
    assert isinstance(first, Send) and (first.text, first.subscriber, first.service) == ("102", "13800138000", "10001")
    assert [e.shown for e in first.expects] == ["您好*", "re: .*"]
    assert script.fixtures[0].cash == 5890 and script.fixtures[0].subscriptions[0][0] == "GPRS10"
    assert [type(s).__name__ for s in script.steps] == ["Send", "MoveClock", "Silence", "SmscFault"]


def test_usage_pay_and_restore_read_with_their_defaults_and_pushes() -> None:
    script = parse(
        HEADER + "usage data 69MB\n< 尊敬的客户*\nusage voice 2m\nusage sms 3 id cdr-7 for 5s at 2026-11-19 23:59:30\n"
        "usage mms 1 at 2026-11-19\nusage data 512KB for 2h\npay 50.00\n< 尊敬的客户*\npay 0.5 微信\nrestore\n",
        Path("t.conv"),
    )
    data, voice, sms, mms, long, pay, pay_wechat, restore = script.steps
    assert data == Usage(
        line=4,
        subscriber="13800138000",
        category="data",
        quantity=70656,
        duration=60,
        id="line4",
        start=None,
        expects=(Expect(line=5, pattern="尊敬的客户*"),),
    )
    assert isinstance(voice, Usage) and (voice.quantity, voice.duration, voice.id) == (120, 120, "line6")
    assert isinstance(sms, Usage) and (sms.quantity, sms.duration, sms.id) == (3, 5, "cdr-7")
    assert sms.start == datetime(2026, 11, 19, 23, 59, 30)
    assert isinstance(mms, Usage) and (mms.duration, mms.start) == (0, datetime(2026, 11, 19))
    assert isinstance(long, Usage) and (long.quantity, long.duration) == (512, 7200)
    assert pay == Pay(
        line=10,
        subscriber="13800138000",
        amount=5000,
        channel="营业厅",
        id="line10",
        expects=(Expect(line=11, pattern="尊敬的客户*"),),
    )
    assert isinstance(pay_wechat, Pay) and (pay_wechat.amount, pay_wechat.channel) == (50, "微信")
    assert restore == Restore(line=13, subscriber="13800138000")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "usage data 69\n", "t.conv:4: '69' is not a data amount such as 512KB, 23.5MB or 15GB"),
        (HEADER + "usage voice 61\n", "t.conv:4: '61' is not a duration such as 31m, 1h30m, 2d or 5s"),
        (HEADER + "usage fax 3\n", "t.conv:4: usage data 69MB (or voice 61s, sms 3, mms 1), then optionally"),
        (HEADER + "usage sms\n", "t.conv:4: usage data 69MB (or voice 61s, sms 3, mms 1)"),
        (HEADER + "usage sms 3 from 09:00\n", "t.conv:4: usage: 'from' is not one of at, for, id"),
        (HEADER + "usage sms 3 at\n", "t.conv:4: usage: at needs a value"),
        (HEADER + "usage sms 3 at 09:00\n", "t.conv:4: '09:00' is not a time such as 2026-11-20 10:00"),
        (HEADER + "usage data 1MB for 1m for 2m\n", "t.conv:4: usage: for given twice"),
        (HEADER + "usage data 1MB for 0.5s\n", "t.conv:4: usage: for takes whole seconds, not '0.5s'"),
        (HEADER + "usage data 1MB id 话单1\n", "t.conv:4: usage: id '话单1' must be 1 to 64 letters, digits"),
        (HEADER + "> 102\nusage sms 1\n", "t.conv:5: line 4 sends '102' but expects nothing"),
        (HEADER + "pay\n", "t.conv:4: pay 50.00 (or with a channel: pay 50.00 微信; one of 营业厅"),
        (HEADER + "pay 0\n", "t.conv:4: pay takes a positive amount, not '0'"),
        (HEADER + "pay 5.001\n", "t.conv:4: '5.001' is not an amount in yuan such as 58.90"),
        (HEADER + "pay 5 现金\n", "t.conv:4: '现金' is not a payment channel (营业厅, 充值卡"),
        (HEADER + "restore 13900139000\n", "t.conv:4: restore takes nothing more"),
        ("service 10086\nrestore\n", "t.conv:2: say who sends first: subscriber 13800138000"),
        (HEADER + "restore\nno answer within 1s\n< x\n", "t.conv:6: an expected answer (<) must follow"),
    ],
)
def test_feed_step_mistakes_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        parse(text, Path("t.conv"))
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("> 102\n", "t.conv:1: say who sends first: subscriber 13800138000"),
        (
            HEADER + "< 您好\n",
            "t.conv:4: an expected answer (<) must follow a sent line (>), dial, advance, at, smsc, usage, pay or "
            "restore",
        ),
        (HEADER + "> 102\n> 105\n< x\n", "t.conv:5: line 4 sends '102' but expects nothing"),
        (HEADER + "> 102\n< x\nclock 2026-11-21\n", "t.conv:6: clock sets where the conversation starts"),
        (HEADER + "ledger\n  status closed\n", "t.conv:5: 'closed' is not one of active, suspended, terminated"),
        (HEADER + "> 102\nno answer within 1s\n< x\n", "t.conv:6: an expected answer (<) must follow"),
        (HEADER + "ledger\n  balanse 5\n", "t.conv:5: unknown ledger entry 'balanse'"),
        (HEADER + "ledger\n  balance 5.999\n", "t.conv:5: '5.999' is not an amount in yuan such as 58.90"),
        (HEADER + "advance soon\n", "t.conv:4: 'soon' is not a duration such as 31m, 1h30m, 2d or 5s"),
        (HEADER + "> 102\n< re: (\n", "t.conv:5: bad regular expression"),
        (HEADER + "wait 5\n", "t.conv:4: cannot read 'wait 5'"),
        (HEADER, "t.conv: no exchange"),
    ],
)
def test_mistakes_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        parse(text, Path("t.conv"))
    assert str(raised.value).startswith(message)


def test_the_difference_is_marked_whatever_the_character_width() -> None:
    assert marked_difference("余额58.80元", "余额58.90元") == ("余额58.【8】0元", "余额58.【9】0元")
    assert marked_difference("您好", "您好！") == ("您好【】", "您好【！】")


async def test_a_failing_conversation_reports_the_step_the_expected_and_the_actual(tmp_path: Path) -> None:
    result = await run_conversation(
        parse(HEADER + "ledger\n  balance 58.90\n> 105\n< 您好，您当前的积分为1分。\n", tmp_path / "bad.conv")
    )
    assert result.failure is not None
    assert result.failure.explain().splitlines() == [
        "line 7: the answer is not the one expected",
        "  expected: 您好，您当前的积分为1分。",
        "  actual:   您好，您当前的积分为0分。",
        "  where they differ (in 【】):",
        "  expected: 您好，您当前的积分为【1】分。",
        "  actual:   您好，您当前的积分为【0】分。",
    ]
    assert result.transcript == ["13800138000 > 105", "13800138000 < 您好，您当前的积分为0分。"]


async def test_an_unexpected_extra_answer_fails_at_the_line_it_came_after(tmp_path: Path) -> None:
    script = HEADER + "ledger\n  balance 58.90\n> KTCL\n< 您好，您将订购彩铃*\nadvance 31m\n"
    result = await run_conversation(parse(script, tmp_path / "extra.conv"))
    assert result.failure is not None
    assert (result.failure.line, result.failure.what) == (8, "an answer nobody expected came before the end")
    assert result.failure.actual == "您好，您订购彩铃的确认已超时，业务未办理，未扣费。"


async def test_a_step_the_admin_api_refuses_fails_at_its_line(tmp_path: Path) -> None:
    script = HEADER + "ledger\n  balance 58.90\nusage sms 2\nno answer within 0.2s\nrestore\n"
    result = await run_conversation(parse(script, tmp_path / "refused.conv"))
    assert result.failure is not None
    assert (result.failure.line, result.failure.what) == (8, "the admin API refused this step")
    assert result.failure.actual == "409 13800138000 is not suspended: nothing to restore"
    assert result.transcript == [
        "  (13800138000 usage sms 2 from 2026-11-20 10:00:00 for 0s: granted 2, charged 0.20元)"
    ]


def test_the_cli_runs_folders_writes_junit_and_fails_when_one_fails(tmp_path: Path) -> None:
    (tmp_path / "good.conv").write_text(HEADER + "> 105\n< 您好，您的号码不是本网用户*\n", encoding="utf-8")
    (tmp_path / "bad.conv").write_text(HEADER + "> 105\n< 您好，欢迎*\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "converse", str(tmp_path), "--junit", str(tmp_path / "r.xml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "PASS  " + str(tmp_path / "good.conv") in done.stdout
    assert "FAIL  " + str(tmp_path / "bad.conv") + "  line 5" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("1 passed, 1 failed in ")
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    [failure] = suite.iter("failure")
    assert failure.get("message") == "line 5: the answer is not the one expected"


async def test_attached_to_a_running_simulator_and_a_manual_clock_gateway(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await sim.stop()
    attached = SmscSimulator(port=sim.port, control_port=0)  # the same port, now with its HTTP control
    await attached.start()
    try:
        gateway = await start_gateway(gateway__clock="manual", wait_bound=False)
        await gateway.link.wait_bound(5)
        script = parse(
            "subscriber 13500000001\nservice 10086\nclock 2026-11-20 10:00\n> 是\n"
            "< 您好，您当前没有待确认的业务。如需订购请发送业务代码，如KTGPRS10。\nadvance 1h\nsmsc throttle every 2\n"
            "> ？\n< 您好，欢迎使用中国移动10086短信营业厅。*\nsmsc normal\n",
            tmp_path / "attached.conv",
        )
        assert attached.control_url is not None
        result = await run_attached(
            script, smsc_control=attached.control_url, gateway_control=f"http://127.0.0.1:{gateway.http.port}"
        )
        assert (result.passed, result.error, result.failure) == (True, None, None)
        assert gateway.calendar.local(gateway.clock.now()).isoformat() == "2026-11-20T11:00:00+08:00"
        with_ledger = parse(HEADER + "ledger\n  balance 1\n> 102\n< 您好*\n", tmp_path / "ledger.conv")
        refused = await run_attached(with_ledger, smsc_control=attached.control_url, gateway_control=None)
        assert refused.error == "ledger blocks need a local run (an attached gateway keeps its own ledger)"
    finally:
        await attached.stop()


async def test_attached_with_an_admin_token_usage_and_pay_go_through_the_admin_api(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await sim.stop()
    attached = SmscSimulator(port=sim.port, control_port=0)
    await attached.start()
    try:
        gateway = await start_gateway(gateway__clock="manual", http__tokens=TOKEN, wait_bound=False)
        await gateway.link.wait_bound(5)
        url = f"http://127.0.0.1:{gateway.http.port}"
        new = {"msisdn": "13500000001", "name": "赵磊", "balance_fen": 1020}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/api/v1/subscribers", json=new, headers=headers) as created,
        ):
            assert created.status == 201
        script = parse(
            "subscriber 13500000001\nservice 10086\nclock 2026-11-20 10:00\nusage voice 2m\n"
            "< 尊敬的客户，您的可用余额为9.90元，已低于10.00元，为避免停机影响使用，请及时充值。回复TDTX退订提醒。\n"
            "pay 5.00\nno answer within 0.5s\n> CXYE\n< 您好，您的账户余额为14.90元*\n",
            tmp_path / "attached.conv",
        )
        assert attached.control_url is not None
        result = await run_attached(script, smsc_control=attached.control_url, gateway_control=url, admin_token=TOKEN)
        assert (result.passed, result.error, result.failure) == (True, None, None)
        ids = [r[0] for r in await gateway.store.fetch("SELECT id FROM usage_record")]
        assert len(ids) == 1 and ids[0].startswith("conv") and ids[0].endswith("-line4")  # unique to the run
        without = await run_attached(script, smsc_control=attached.control_url, gateway_control=url)
        assert without.error is not None and "usage, pay and restore need the gateway's admin API" in without.error
    finally:
        await attached.stop()


def test_a_ussd_session_reads_into_dial_answers_and_multi_line_screens() -> None:
    script = parse(
        HEADER + "dial *100#\n" + HOME_LINES + "> 3\n< CON re: 业务办理\\n.*\n  # 下一页\n\t0 返回 00 首页\n"
        "> 2\n< CON *\n> 2\n< END 您好，您已取消订购*\n> 102\n< 您好*\n"
        "dial *100#\n< CON\n  中国移动自助服务\n  *\nsubscriber 13900139000\n> 102\n< 您好*\n"
        "subscriber 13800138000\nhang up\nno answer within 1s\n> 105\n< 您好*\n",
        Path("t.conv"),
    )
    assert script.ussd == "smpp"
    steps = script.steps
    assert [type(s).__name__ for s in steps] == [
        "Dial", "UssdInput", "UssdInput", "UssdInput", "Send", "Dial", "Send", "HangUp", "Silence", "Send",
    ]  # fmt: skip
    assert steps[0] == Dial(
        line=4, subscriber="13800138000", code="*100#", expects=(Expect(line=5, pattern=HOME, screen="CON"),)
    )
    assert steps[1] == UssdInput(
        line=11,
        subscriber="13800138000",
        text="3",
        expects=(Expect(line=12, pattern="业务办理\\n.*\n# 下一页\n0 返回 00 首页", regex=True, screen="CON"),),
    )
    assert steps[1].expects[0].matches("业务办理\n1 GPRS3元包(20MB)\n# 下一页\n0 返回 00 首页")
    assert isinstance(steps[3], UssdInput) and steps[3].expects[0].shown == "END 您好，您已取消订购*"
    assert isinstance(steps[4], Send) and steps[4].text == "102"  # after END: an SMS again
    # CON alone: the screen is the lines below
    assert isinstance(steps[5], Dial) and steps[5].expects[0].pattern == "中国移动自助服务\n*"
    assert isinstance(steps[6], Send) and steps[6].subscriber == "13900139000"  # sessions are per subscriber
    assert steps[7] == HangUp(line=29, subscriber="13800138000")
    assert isinstance(steps[9], Send) and steps[9].text == "105"  # after hang up: an SMS again
    assert parse("ussd http\n" + HEADER + "dial *100#\n< END x\n", Path("t.conv")).ussd == "http"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "dial\n", "t.conv:4: dial takes the code the subscriber dials, such as: dial *100#"),
        (HEADER + "dial *100#\n> 1\n", "t.conv:5: line 4 dials '*100#' but expects no screen: add it (< CON"),
        (HEADER + "dial *100#\nno answer within 1s\n", "t.conv:5: line 4 dials '*100#' but expects no screen"),
        (HEADER + "dial *100#\n< CON x\n> 1\n", "t.conv:6: line 6 answers '1' in a USSD session but expects no"),
        (HEADER + "dial *100#\n", "t.conv:4: line 4 dials '*100#' but expects no screen"),
        (HEADER + "> 102\n", "t.conv:4: line 4 sends '102' but expects nothing"),
        (HEADER + "dial *100#\n< 中国移动自助服务\n", "t.conv:5: the screen of a USSD session starts with CON"),
        (HEADER + "dial *100#\n< CON x\n< END y\n", "t.conv:6: line 4 already has its screen (line 5): one each"),
        (HEADER + "> 102\n< CON x\n", "t.conv:5: a USSD screen (< CON, < END) must follow dial or > in an open"),
        (HEADER + "dial *100#\n< END x\n> 1\n< CON y\n", "t.conv:7: a USSD screen (< CON, < END) must follow"),
        (HEADER + "advance 1m\n< END x\n", "t.conv:5: a USSD screen (< CON, < END) must follow dial or >"),
        (HEADER + "hang up\n", "t.conv:4: hang up: 13800138000 has no USSD session open"),
        (HEADER + "dial *100#\n< END x\nhang up\n", "t.conv:6: hang up: 13800138000 has no USSD session open"),
        (HEADER + "dial *100#\n< CON x\nhang up\n< x\n", "t.conv:7: an expected answer (<) must follow"),
        (HEADER + "hang up now\n", "t.conv:4: cannot read 'hang up now'"),
        ("ussd sms\n", "t.conv:1: ussd takes how sessions reach the gateway: smpp or http"),
        (HEADER + "> 102\n< x\nussd http\n", "t.conv:6: ussd sets the transport of the whole conversation"),
        (HEADER + "dial *100#\n< CON re: (a\n  b\n> 1\n", "t.conv:5: bad regular expression"),
        (HEADER + "dial *100#\n< CON x\n\n  1 话费查询\n", "t.conv:7: cannot read '1 话费查询'"),
    ],
)
def test_ussd_mistakes_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        parse(text, Path("t.conv"))
    assert str(raised.value).startswith(message)


class _Mts:
    """An SMSC that only has MTs to show."""

    def __init__(self, mts: list[Mt]) -> None:
        self.mts = mts
        self.sent: list[tuple[str, int, int, bool]] = []

    async def send(self, msisdn: str, service: str, text: str) -> None: ...

    async def send_ussd(
        self, msisdn: str, code: str, text: str, *, op: int, session: int, sequence: int, end: bool
    ) -> None:
        self.sent.append((text, op, sequence, end))

    async def answers(self) -> list[Mt]:
        return self.mts

    async def fault(self, action: str, value: int) -> None: ...


async def test_over_smpp_a_screen_must_carry_back_its_session_info_and_a_known_operation() -> None:
    def mt(op: int, info: bytes | None) -> Mt:
        return Mt(destination_addr="13800138000", text="x", ussd_service_op=op, its_session_info=info)

    smsc = _Mts([Mt(destination_addr="13800138000", text="an SMS")])
    ussd = SmppUssd(smsc, ussd_profile("smpp34"))
    await ussd.dial("13800138000", "*100#")
    await ussd.answer("13800138000", "3")
    await ussd.answer("13800138000", "#")
    await ussd.hang_up("13800138000")
    assert smsc.sent == [("*100#", 1, 0, False), ("3", 18, 1, False), ("#", 18, 2, False), ("", 18, 3, True)]
    smsc.mts += [mt(2, session_info(1, 0)), mt(17, session_info(1, 2)), mt(5, session_info(1, 2))]
    wrong_info = "its_session_info came back as 0104, not 0102 as sent"
    unknown_op = "ussd_service_op 5 is neither the menu's (2) nor the last screen's (17)"
    assert await ussd.screens() == [
        UssdScreen(subscriber="13800138000", text="x", end=False),
        UssdScreen(subscriber="13800138000", text="x", end=True, problem=wrong_info),
        UssdScreen(subscriber="13800138000", text="x", end=False, problem=unknown_op),
    ]


async def test_a_wrong_screen_fails_with_both_screens_line_under_line(tmp_path: Path) -> None:
    script = HEADER + "ledger\n  points 1280\ndial *100#\n" + HOME_LINES + "> 4\n< CON 您好，您当前的积分为1280分。\n"
    result = await run_conversation(parse(script, tmp_path / "screen.conv"))
    assert result.failure is not None
    assert result.failure.explain().splitlines() == [
        "line 14: the screen is not the one expected",
        "  expected: CON 您好，您当前的积分为1280分。",
        "  actual:   END 您好，您当前的积分为1280分。",
        "  where they differ (in 【】):",
        "  expected: 【CON】 您好，您当前的积分为1280分。",
        "  actual:   【END】 您好，您当前的积分为1280分。",
    ]
    assert result.transcript[:3] == [
        "13800138000 dials *100#  (ussd smpp)",
        "13800138000 < CON 中国移动自助服务",
        "                  1 话费查询",
    ]
    home = parse(HEADER + "dial *100#\n< CON 中国移动自助服务\n  1 话费查询\n", tmp_path / "home.conv")
    failure = (await run_conversation(home)).failure
    assert failure is not None and failure.explain().splitlines()[1:4] == [
        "  expected: CON 中国移动自助服务",
        "            1 话费查询",
        "  actual:   CON 中国移动自助服务",
    ]


async def test_attached_ussd_goes_over_the_simulator_or_to_the_gateways_post_ussd(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await sim.stop()
    attached = SmscSimulator(port=sim.port, control_port=0)
    await attached.start()
    try:
        gateway = await start_gateway(gateway__clock="manual", wait_bound=False)
        await gateway.link.wait_bound(5)
        url = f"http://127.0.0.1:{gateway.http.port}"
        body = (
            "subscriber 13500000001\nclock 2026-11-20 10:00\ndial *100#\n" + HOME_LINES + "> 4\n"
            "< END 您好，您的号码不是本网用户，无法办理此项查询。\ndial *100#\n< CON 中国移动*\nadvance 181s\n> 1\n"
            "< END 会话已超时，请重新拨打*100#。\ndial *100#\n< CON 中国移动*\nhang up\nno answer within 0.3s\n"
        )
        assert attached.control_url is not None
        for transport in ("smpp", "http"):
            script = parse(f"ussd {transport}\n" + body, tmp_path / f"{transport}.conv")
            result = await run_attached(script, smsc_control=attached.control_url, gateway_control=url)
            assert (transport, result.passed, result.error, result.failure) == (transport, True, None, None)
        assert [mt.ussd_service_op for mt in attached.mts] == [2, 17, 2, 17, 2]  # http: none over SMPP
        without = parse("ussd http\nsubscriber 13500000001\ndial *100#\n< CON *\n", tmp_path / "without.conv")
        refused = await run_attached(without, smsc_control=attached.control_url, gateway_control=None)
        assert refused.error == (
            "ChannelError: ussd http needs the gateway's HTTP API, where POST /ussd is: --gateway-control URL"
        )
    finally:
        await attached.stop()
