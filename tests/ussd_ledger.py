"""The ledger and the screens the USSD tests share (tests/test_ussd_*.py): three subscribers, the clock,
and the texts of the *100# menus as config/ussd/100.toml and config/templates/zh-CN.toml make them.

The clock stands at 2026-11-23 10:13:20 in Shanghai: an order today is charged half a month.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from conftest import SUBSCRIBER

from gateway.db.database import open_database
from gateway.ledger.writes import add_subscribers, add_subscription, add_usage
from gateway.model.ledger import NewSubscriber

NOW = 1_795_400_000.0  # 2026-11-23 10:13:20 Asia/Shanghai
MAIN = SUBSCRIBER  # cash and gift, GPRS10 and GPRS5, 30000 KB used this month
BUYER = "13800000101"  # 50.00元 cash, nothing ordered
SUSPENDED = "13800000106"  # suspended, in arrears
STRANGER = "13999999999"  # not in the ledger
HOME = "中国移动自助服务\n1 话费查询\n2 流量查询\n3 业务办理\n4 积分查询\n5 充值记录"
PACKAGES_1 = "业务办理\n1 GPRS3元包(20MB)\n2 GPRS5元包(30MB)\n3 GPRS10元包(70MB)\n# 下一页\n0 返回 00 首页"
PACKAGES_2 = "业务办理\n4 GPRS20元包(150MB)\n5 GPRS50元包(500MB)\n6 GPRS100元包(2GB)\n# 下一页\n0 返回 00 首页"
PACKAGES_3 = (
    "业务办理\n7 GPRS200元包(5GB)\n8 来电提醒(3元/月)\n9 彩铃(5元/月)\n10 短信包\n11 彩信包\n# 下一页\n0 返回 00 首页"
)
PACKAGES_4 = "业务办理\n12 通话包\n13 增值业务\n0 返回 00 首页"
VOICE_PACKS = "通话包\n1 10元通话包(100分钟)\n2 20元通话包(220分钟)\n0 返回 00 首页"
SMS_PACKS = "短信包\n1 3元短信包(50条)\n2 6元短信包(100条)\n3 10元短信包(150条)\n0 返回 00 首页"
INVALID = "输入有误"  # shown instead of the menu's title: the page stays as it was
MAIN_BALANCE = (
    "您好，您的账户余额为66.30元，其中现金余额56.30元，赠送余额10.00元（2026年12月31日到期）；可用余额66.30元。"
)
MAIN_DATA_1 = "您好，截至11月23日10时，您本月流量套餐使用情况：GPRS10元包已用29.30MB，剩余40.70MB；GPRS5元包已用0MB，"
MAIN_DATA_2 = "剩余30.00MB；合计剩余70.70MB。套餐外流量0MB，流量费0.00元。"
CONFIRM_GPRS3 = (
    "订购GPRS3元包（月费3.00元）：本月16日（含）后订购，本月按半月收取1.50元，含国内流量10.00MB。\n1 确认\n2 取消"
)
CONFIRM_DX6 = "订购6元短信包（月费6.00元）：本月16日（含）后订购，本月按半月收取3.00元，含短信50条。\n1 确认\n2 取消"
ORDERED_GPRS3 = "您好，您已成功订购GPRS3元包，本次扣费1.50元，当前余额48.50元。"
NOT_A_SUBSCRIBER = "您好，您的号码不是本网用户，无法办理此项查询。"
NOT_A_SUBSCRIBER_ORDER = "您好，您的号码不是本网用户，无法办理此项业务。"  # a package chosen from the menu
EXPIRED = "会话已超时，请重新拨打*100#。"


def noted(screen: str) -> str:
    """A menu screen as an invalid input shows it again: the note in the title's place."""
    return f"{INVALID}\n{screen.split(chr(10), 1)[1]}"


def person(msisdn: str, plan: str = "SZX", brand: str = "神州行", **account: Any) -> NewSubscriber:
    return NewSubscriber(msisdn=msisdn, name="测试用户", brand=brand, plan=plan, created_on=date(2026, 1, 1), **account)


async def seed(path: Path) -> None:
    db = await open_database(str(path))
    await add_subscribers(
        db,
        [
            person(MAIN, "DGDD28", "动感地带", cash=5630, gift=1000, gift_expires=date(2026, 12, 31), points=1288),
            person(BUYER, cash=5000),
            person(SUSPENDED, status="suspended", cash=-230),
        ],
    )
    await add_subscription(db, MAIN, "GPRS10", NOW - 80 * 86400)
    await add_subscription(db, MAIN, "GPRS5", NOW - 50 * 86400)
    await add_usage(db, MAIN, "2026-11", "data", 30000)
    await db.close()
