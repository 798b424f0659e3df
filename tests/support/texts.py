"""Texts more than one test module expects or sends: the 10086 help answer, a three-part MO, the 10001
balance of the queries' main subscriber (``support.queries``) and the prompts of a 502 password change."""

HELP_10086 = (
    "您好，欢迎使用中国移动10086短信营业厅。请回复以下代码：CXYE查余额，CXHF查话费，CXLL查流量，"
    "KTGPRS10订10元流量包，0000查询退订业务，502改密码，503重置密码。"
)

TEXT = "请问怎么查询本月的话费和流量？" * 12  # 180 UCS2 units: 3 parts

# the queries' MAIN on 10001 (and CXYE on 10086), the ledger of support.queries at its NOW
MAIN_102 = "您好，您的账户余额为66.30元，其中现金余额56.30元，赠送余额10.00元（2026年12月31日到期）；可用余额66.30元。"

# a 502 password change, step by step
ASK_OLD = "您好，您正在修改服务密码，请在30分钟内回复原密码。"
ASK_NEW = "您好，验证通过。请回复新密码（6位数字，不能含3位及以上相同或连续的数字，不能是手机号码或证件号码的后6位）。"
ASK_REPEAT = "您好，请再次回复新密码以确认。"
CHANGED = "您好，您的服务密码已修改成功，请牢记新密码。"
