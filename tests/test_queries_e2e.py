"""The query commands end to end: a seeded ledger, the gateway bound to the simulator, one MO in, the exact
answer out. The clock stands at 2026-11-23 10:13:20 in Shanghai: this cycle is 2026-11, the last 2026-10."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import StartGateway, ask
from support.queries import (
    ARREARS,
    DATA_15GB,
    DATA_CHARGE_CAP,
    EMPTY,
    GIFT_EXPIRED,
    GIFT_ONLY,
    MAIN,
    NO_DATA_PACKAGE,
    NOW,
    POSTPAID,
    POSTPAID_OVER,
    TERMINATED,
    seed,
)
from support.texts import MAIN_102

from gateway.clock import ManualClock
from gateway.smsc import SmscSimulator

STRANGER = "13999999999"  # not in the ledger


# --- the answers, written out ----------------------------------------------------------------------

HELP_10001 = (
    "您好，欢迎使用10001短信营业厅。请回复以下代码：101当月话费，102账户余额，103上月账单，104历史账单，"
    "105积分查询，108流量查询，110缴费记录，501当前套餐，502改密码，503重置密码，0000已订业务，0退订业务。"
)
HELP_10086 = (
    "您好，欢迎使用中国移动10086短信营业厅。请回复以下代码：CXYE查余额，CXHF查话费，CXLL查流量，"
    "KTGPRS10订10元流量包，0000查询退订业务，502改密码，503重置密码。"
)
NOT_A_SUBSCRIBER = "您好，您的号码不是本网用户，无法办理此项查询。"
TERMINATED_ANSWER = "您好，您的号码已销户，无法办理此项查询。如有疑问请拨打客服热线。"
PAY_NOTE = "请及时缴费以免影响使用。"  # after an answer that says what is owed

MAIN_101 = (
    "您好，截至11月23日10时，您本月已产生费用62.60元，其中套餐月费28.00元、增值业务费3.00元、流量包月费15.50元、"
    "语音通话费15.20元、彩信费0.90元。当前账户余额66.30元，可用余额66.30元。"  # package fees, no usage beyond
)
MAIN_103 = (
    "您好，您2026年10月的账单合计42.20元，其中套餐月费28.00元、增值业务费3.00元、短信费1.20元、上网流量费10.00元。"
)
MAIN_104 = (
    "您好，您近6个月的账单：2026年10月42.20元；2026年9月81.00元；2026年8月31.00元；2026年7月28.30元；"
    "2026年6月40.34元；2026年5月38.00元。"
)
MAIN_105 = "您好，您当前的积分为1288分。"
MAIN_108 = (
    "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS3元包已用20.00MB，剩余0MB；GPRS10元包已用9.30MB，"
    "剩余60.70MB；GPRS5元包已用0MB，剩余15.00MB；合计剩余75.70MB。套餐外流量0MB，流量费0.00元。"
)
MAIN_110 = (
    "您好，您最近5笔缴费记录：2026年11月20日缴费30.00元（微信）；2026年11月1日缴费100.00元（营业厅）；"
    "2026年10月1日缴费50.00元（支付宝）；2026年8月20日缴费20.00元（充值卡）；2026年7月15日缴费100.00元（银行代扣）。"
)
MAIN_501 = (
    "您好，您当前的套餐为动感地带28元套餐（月费28.00元）。已订购业务：来电提醒3.00元/月、GPRS10元包10.00元/月、"
    "GPRS5元包5.00元/月。"
)
MAIN_0000 = (
    "您好，您已订购以下业务：1：来电提醒（3.00元/月）；2：GPRS10元包（10.00元/月）；3：GPRS5元包（5.00元/月）。"
    "回复序号可退订相应业务。"
)

CASES = [
    # MAIN on 10001: every query code
    pytest.param(MAIN, "10001", "101", MAIN_101, id="main-101"),
    pytest.param(MAIN, "10001", "102", MAIN_102, id="main-102"),
    pytest.param(MAIN, "10001", "103", MAIN_103, id="main-103-lines-in-category-order"),
    pytest.param(MAIN, "10001", "104", MAIN_104, id="main-104-six-newest-of-eight"),
    pytest.param(MAIN, "10001", "105", MAIN_105, id="main-105"),
    pytest.param(MAIN, "10001", "108", MAIN_108, id="main-108-cancelled-15th-16th"),
    pytest.param(MAIN, "10001", "110", MAIN_110, id="main-110-five-newest-of-seven"),
    pytest.param(MAIN, "10001", "501", MAIN_501, id="main-501"),
    pytest.param(MAIN, "10001", "0000", MAIN_0000, id="main-0000"),
    # MAIN on 10086: letter codes and the numeric aliases
    pytest.param(MAIN, "10086", "CXYE", MAIN_102, id="10086-CXYE"),
    pytest.param(MAIN, "10086", "CXHF", MAIN_101, id="10086-CXHF"),
    pytest.param(MAIN, "10086", "CXLL", MAIN_108, id="10086-CXLL"),
    pytest.param(MAIN, "10086", "101", MAIN_101, id="10086-alias-101"),
    pytest.param(MAIN, "10086", "102", MAIN_102, id="10086-alias-102"),
    pytest.param(MAIN, "10086", "108", MAIN_108, id="10086-alias-108"),
    pytest.param(MAIN, "10086", "0000", MAIN_0000, id="10086-0000"),
    pytest.param(MAIN, "10086", "103", HELP_10086, id="10086-has-no-103"),
    pytest.param(MAIN, "10001", "CXYE", HELP_10001, id="10001-has-no-CXYE"),
    # input normalisation
    pytest.param(MAIN, "10001", "１０２", MAIN_102, id="full-width-102"),
    pytest.param(MAIN, "10086", " cx ye ", MAIN_102, id="spaced-lower-cx-ye"),
    pytest.param(MAIN, "10086", "cxll", MAIN_108, id="lower-cxll"),
    pytest.param(MAIN, "10001", "102#", MAIN_102, id="102-hash"),
    pytest.param(MAIN, "10086", "+ＣＸＨＦ", MAIN_101, id="plus-full-width-CXHF"),
    # nothing at all
    pytest.param(
        EMPTY,
        "10001",
        "101",
        "您好，截至11月23日10时，您本月已产生费用0.00元。当前账户余额0.00元，可用余额0.00元。",
        id="empty-101",
    ),
    pytest.param(
        EMPTY,
        "10001",
        "102",
        "您好，您的账户余额为0.00元，其中现金余额0.00元，赠送余额0.00元；可用余额0.00元。",
        id="empty-102",
    ),
    pytest.param(EMPTY, "10001", "103", "您好，暂未查到您2026年10月的账单。", id="empty-103"),
    pytest.param(EMPTY, "10001", "104", "您好，暂未查到您近6个月的账单。", id="empty-104"),
    pytest.param(EMPTY, "10001", "105", "您好，您当前的积分为0分。", id="empty-105"),
    pytest.param(
        EMPTY,
        "10001",
        "108",
        "您好，截至11月23日10时，您未订购流量套餐，本月已用流量0MB，流量费0.00元。",
        id="empty-108",
    ),
    pytest.param(EMPTY, "10001", "110", "您好，暂未查到您的缴费记录。", id="empty-110"),
    pytest.param(
        EMPTY, "10001", "501", "您好，您当前的套餐为神州行畅听卡（月费0.00元）。您当前未订购其他业务。", id="empty-501"
    ),
    pytest.param(EMPTY, "10001", "0000", "您好，您当前没有订购任何业务。", id="empty-0000"),
    # gift balance
    pytest.param(
        GIFT_ONLY,
        "10001",
        "102",
        "您好，您的账户余额为20.00元，其中现金余额0.00元，赠送余额20.00元（2026年11月23日到期）；可用余额20.00元。",
        id="gift-only-last-day-102",
    ),
    pytest.param(
        GIFT_ONLY,
        "10086",
        "CXHF",
        "您好，截至11月23日10时，您本月已产生费用0.00元。当前账户余额20.00元，可用余额20.00元。",
        id="gift-only-CXHF",
    ),
    pytest.param(
        GIFT_EXPIRED,
        "10001",
        "102",
        "您好，您的账户余额为15.00元，其中现金余额15.00元，赠送余额0.00元；可用余额15.00元。",
        id="gift-expired-yesterday-102",
    ),
    pytest.param(
        GIFT_EXPIRED,
        "10001",
        "101",
        "您好，截至11月23日10时，您本月已产生费用0.00元。当前账户余额15.00元，可用余额15.00元。",
        id="gift-expired-yesterday-101",
    ),
    # below zero (and suspended: still told the figures)
    pytest.param(
        ARREARS,
        "10001",
        "102",
        "您好，您已欠费3.20元，其中现金余额-3.20元，赠送余额0.00元；可用余额-3.20元。" + PAY_NOTE,
        id="arrears-suspended-102",
    ),
    pytest.param(
        ARREARS,
        "10001",
        "101",
        "您好，截至11月23日10时，您本月已产生费用3.20元，其中语音通话费3.20元。当前已欠费3.20元，可用余额-3.20元。"
        + PAY_NOTE,
        id="arrears-suspended-101",
    ),
    pytest.param(ARREARS, "10001", "105", "您好，您当前的积分为12分。", id="arrears-suspended-105"),
    # postpaid with a credit limit
    pytest.param(
        POSTPAID,
        "10001",
        "102",
        "您好，您已欠费45.00元，其中现金余额-45.00元，赠送余额0.00元；信用额度100.00元，可用余额55.00元。",
        id="postpaid-credit-102",
    ),
    pytest.param(
        POSTPAID,
        "10001",
        "101",
        "您好，截至11月23日10时，您本月已产生费用88.00元，其中套餐月费88.00元。当前已欠费45.00元，可用余额55.00元。",
        id="postpaid-credit-101",
    ),
    pytest.param(
        POSTPAID,
        "10001",
        "103",
        "您好，您2026年10月的账单合计88.00元，其中套餐月费88.00元。",
        id="postpaid-103",
    ),
    pytest.param(
        POSTPAID,
        "10001",
        "104",
        "您好，您近6个月的账单：2026年10月88.00元；2026年8月93.50元。",
        id="postpaid-104-two-bills-with-a-gap",
    ),
    pytest.param(
        POSTPAID,
        "10001",
        "501",
        "您好，您当前的套餐为全球通88元套餐（月费88.00元）。您当前未订购其他业务。",
        id="postpaid-501",
    ),
    pytest.param(
        POSTPAID_OVER,
        "10001",
        "102",
        "您好，您已欠费120.00元，其中现金余额-120.00元，赠送余额0.00元；信用额度100.00元，可用余额-20.00元。"
        + PAY_NOTE,
        id="postpaid-beyond-credit-102",
    ),
    # data
    pytest.param(
        DATA_15GB,
        "10001",
        "108",
        "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS200元包已用5.00GB，剩余0MB；合计剩余0MB。"
        "套餐外流量10.00GB，流量费500.00元。本月流量费已达500.00元封顶。本月流量已达15.00GB上限。",
        id="data-15GB-both-caps-108",
    ),
    pytest.param(
        DATA_CHARGE_CAP,
        "10086",
        "CXLL",
        "您好，截至11月23日10时，您未订购流量套餐，本月已用流量10.00GB，流量费500.00元。本月流量费已达500.00元封顶。",
        id="no-package-charge-cap-CXLL",
    ),
    pytest.param(
        NO_DATA_PACKAGE,
        "10001",
        "108",
        "您好，截至11月23日10时，您未订购流量套餐，本月已用流量2.00MB，流量费20.48元。",
        id="vas-and-sms-pack-only-108",
    ),
    pytest.param(
        NO_DATA_PACKAGE,
        "10001",
        "501",
        "您好，您当前的套餐为神州行畅听卡（月费0.00元）。已订购业务：来电提醒3.00元/月、3元短信包3.00元/月。",
        id="vas-and-sms-pack-501",
    ),
    pytest.param(
        NO_DATA_PACKAGE,
        "10001",
        "0000",
        "您好，您已订购以下业务：1：来电提醒（3.00元/月）；2：3元短信包（3.00元/月）。回复序号可退订相应业务。",
        id="vas-and-sms-pack-0000",
    ),
]

QUERIES_10001 = ["101", "102", "103", "104", "105", "108", "110", "501", "0000"]
QUERIES_10086 = ["CXYE", "CXHF", "CXLL", "101", "102", "108", "0000"]


@pytest.fixture
async def seeded(sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path) -> SmscSimulator:
    """The simulator, with a gateway bound to it over the seeded ledger and the clock at NOW."""
    await seed(tmp_path / "gateway.db")
    await start_gateway(clock=ManualClock(NOW))
    return sim


@pytest.mark.parametrize(("msisdn", "service_number", "text", "answer"), CASES)
async def test_query_answer(seeded: SmscSimulator, msisdn: str, service_number: str, text: str, answer: str) -> None:
    assert await ask(seeded, msisdn, service_number, text) == answer


@pytest.mark.parametrize(
    ("msisdn", "refusal"),
    [
        pytest.param(STRANGER, NOT_A_SUBSCRIBER, id="not-in-ledger"),
        pytest.param(TERMINATED, TERMINATED_ANSWER, id="terminated"),
    ],
)
async def test_every_query_code_is_refused_without_figures(seeded: SmscSimulator, msisdn: str, refusal: str) -> None:
    asked = [("10001", code) for code in QUERIES_10001] + [("10086", code) for code in QUERIES_10086]
    answers = [(service, code, await ask(seeded, msisdn, service, code)) for service, code in asked]
    assert answers == [(service, code, refusal) for service, code in asked]
    # an unknown code still gets the help answer, which tells nothing about any account
    assert await ask(seeded, msisdn, "10001", "999") == HELP_10001
    assert await ask(seeded, msisdn, "10086", "hello") == HELP_10086
