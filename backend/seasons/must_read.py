"""报名须知: the standard sections every family reads before its first registration of a
season, with the season's own dates and the bureau's notice. Written once here, shown by the
mini-program and the PC pages alike."""

from __future__ import annotations

import datetime as dt

from backend.core.timeutil import zone
from backend.seasons.models import Season


def _date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _minute(value: dt.datetime, zone_name: str) -> str:
    local = value.astimezone(zone(zone_name))
    return f"{_date(local.date())} {local:%H:%M}"


def must_read_sections(season: Season) -> list[tuple[str, str]]:
    """(title, text) of each section, the bureau's notice last when it wrote one."""
    tz = season.authority.timezone
    window = (f"{_minute(season.registration_opens_at, tz)} 至 "
              f"{_minute(season.registration_closes_at, tz)}")
    sections = [
        ("一、免试就近入学",
         "学校按划片范围招生，依据孩子的户籍所在地或家庭实际居住地确定学校。"
         "不举行任何形式的考试、测试或面试，不需要任何竞赛证书。"),
        ("二、入学年龄", f"本季招收 {_date(season.age_cutoff)} 及之前出生的适龄儿童。"),
        # 报名先后不影响录取: said where families decide when to submit.
        ("三、报名时间",
         f"网上报名时间：{window}。报名先后不影响录取，报名时间内任何时候提交都一样，"
         "请不要抢在第一时间。"),
        ("四、实名填报",
         "请用监护人本人的微信实名登记。所填信息和上传材料必须真实；弄虚作假的，取消入学资格。"),
        ("五、一个孩子一条报名",
         "每个孩子本季只能有一条有效报名。需要换学校时，请在报名时间内先撤回原报名。"),
        ("六、材料要清晰完整",
         "照片要清楚、四角完整。学校审核后如需修改，会通过微信消息和本平台“消息”通知您，"
         "请在期限内修改并重新提交。"),
        ("七、个人信息保护",
         "身份证号、手机号等个人信息加密保存，仅用于本次入学，招生结束后按规定删除。"),
        ("八、咨询与监督",
         "对招生工作有疑问或意见，可在“我的 → 投诉与申诉”提出，教育局将在规定时间内答复。"),
    ]
    if season.must_read_notice:
        sections.append(("九、本季须知", season.must_read_notice))
    return sections
