"""The guardian's consent to the processing of a child's personal information: its one
current text and version (《个人信息保护法》第三十一条: a child under 14 needs the consent
of a parent or other guardian; every child in this system is under 14).

The mini-program and the counter console show this text from GET /privacy/consent-text,
and a consent is recorded with this version only: change the text, change the version.
"""

from __future__ import annotations

CONSENT_VERSION = "2025-1"
CONSENT_TITLE = "儿童个人信息处理监护人同意书"

CONSENT_TEXT = """\
根据《中华人民共和国个人信息保护法》第三十一条，处理不满十四周岁未成年人的个人信息，\
应当取得其父母或者其他监护人的同意。在本平台登记的适龄儿童均不满十四周岁，因此保存孩子的信息前，\
需要您作为监护人阅读并同意以下内容。

一、处理哪些信息
孩子的姓名、证件类型和证件号码、出生日期、性别、户籍地址和实际居住地址；随迁子女的居住证信息；\
残疾儿童的残疾证号码和入学意愿；所属的特殊群体类别；报名时上传的户口簿、出生医学证明、房产证明、\
居住证等材料的照片。

二、用于什么
只用于本县义务教育入学报名：核对入学年龄，确定服务区（划片）学校，学校审核报名材料，派位、录取、\
现场确认和分班，以及向您发送办理进度通知。不用于其他目的，不出售，不提供给与招生无关的单位或个人。

三、谁能看到
您报名的学校的招生工作人员和县教育局的招生工作人员，各自只能看到职责范围内的报名。\
证件号码和手机号在页面上默认隐去部分数字；查看完整号码须填写理由，并留有记录。

四、保存多久
信息加密保存。本季招生结束后，到教育局为本季设定的清除日期，证件号码、手机号和上传的材料照片\
将被删除，只保留不含个人身份的统计数字。

五、您的权利
您可以在小程序“我的 → 我的孩子”中查看和更正孩子的信息。如需删除信息或撤回同意，请联系报名学校\
或县教育局；撤回同意后将无法继续办理该孩子的报名。

六、您的确认
您确认您是该孩子的父母或其他监护人，已阅读并理解以上内容，同意本平台按以上方式处理孩子的个人信息。\
"""
