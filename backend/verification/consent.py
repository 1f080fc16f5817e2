"""The separate consent to check a child's documents against government data, its one
current text and version (《个人信息保护法》第十四条: a specific, separate consent for this
processing; 第三十一条: a child under 14 needs the guardian's). Change the text, change the
version: a consent to an older version no longer lets anything be asked.
"""

from __future__ import annotations

DATA_CHECK_CONSENT_VERSION = "2026-1"
DATA_CHECK_CONSENT_TITLE = "政府数据核验授权书"

DATA_CHECK_CONSENT_TEXT = """\
为减少上传材料，经您单独同意，本平台将凭孩子和您的姓名、证件号码，向本县已接入的政府部门核验：\
孩子的户籍信息（公安）、出生医学证明（卫生健康）、您名下的不动产登记信息（自然资源），\
以及随迁子女的居住证信息（公安）。

核验结果（是否一致、记录的地址和核验编号）只用于本次义务教育入学报名，保存期限与报名信息相同；\
每次查询均留有记录。核验一致的材料无需再上传；不一致或无法核验时，您仍可上传材料照片办理。\
不同意不影响报名，只是需要上传相应材料。

您确认您是该孩子的父母或其他监护人，同意本平台按以上方式向上述部门核验。\
"""
