"""The console's left navigation: sections and pages, each with the roles that see it."""

from __future__ import annotations

from dataclasses import dataclass

STAFF = ("school_staff", "bureau_admin")
BUREAU = ("bureau_admin",)


@dataclass(frozen=True)
class Page:
    """One navigation entry."""

    endpoint: str
    title: str
    roles: tuple[str, ...] = STAFF
    # Pages reached from this one (e.g. a registration opened from the queue).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A group of pages under one heading."""

    title: str
    icon: str
    pages: tuple[Page, ...]


SECTIONS = (
    Section("工作台", "dashboard", (Page("console.overview", "招生总览"),)),
    Section("报名管理", "review", (
        Page("console.reviews_queue", "报名审核", also=("console.review_detail",)),
        Page("console.proxy", "代报名"),
        Page("console.exports", "数据导出"),
    )),
    Section("信息公开", "notice", (
        Page("console.announcements", "公告管理"),
        Page("console.complaints", "投诉举报"),
    )),
    Section("录取管理", "admission", (
        Page("console.seat_plans", "招生计划", BUREAU),
        Page("console.lotteries", "随机派位", BUREAU),
        Page("console.offers", "录取与候补", BUREAU),
        Page("console.admitted_lists", "名单公布与学籍", BUREAU),
        Page("console.onsite", "现场报到"),
        Page("console.classes", "均衡分班"),
    )),
    Section("运维", "ops", (
        Page("console.disputes", "绑定争议", BUREAU),
        Page("console.dead_letters", "失败任务", BUREAU),
        Page("console.notices", "通知送达", BUREAU),
    )),
    Section("系统设置", "settings", (
        Page("console.season", "招生日程", BUREAU),
        Page("console.imports", "学校与片区导入", BUREAU),
        Page("console.accounts", "账号管理", BUREAU),
        Page("console.audit", "操作日志", BUREAU),
    )),
)


def visible_sections(role: str) -> list[Section]:
    """The sections and pages a role sees (empty sections left out)."""
    result = []
    for section in SECTIONS:
        pages = tuple(p for p in section.pages if role in p.roles)
        if pages:
            result.append(Section(section.title, section.icon, pages))
    return result


def page_by_endpoint(endpoint: str) -> Page | None:
    """The navigation entry an endpoint belongs to."""
    for section in SECTIONS:
        for entry in section.pages:
            if endpoint == entry.endpoint or endpoint in entry.also:
                return entry
    return None
