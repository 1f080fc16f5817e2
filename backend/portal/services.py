"""What the PC entry page shows: plain values gathered from the public catalogue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from backend.announcements import services as announcements
from backend.authorities.models import EducationAuthority
from backend.core.db import utcnow
from backend.core.timeutil import zone
from backend.portal import posters
from backend.schools import services as schools
from backend.schools.models import School, SchoolType
from backend.seasons.models import Season

CATEGORY_NAMES = {
    "policy": "招生政策", "zones": "划片范围", "conditions": "入学条件", "materials": "报名材料",
    "process": "报名流程与时间", "contacts": "咨询电话", "complaints": "监督举报渠道",
    "plan": "实施方案", "admitted_list": "新生名单", "other": "其他",
}


@dataclass(frozen=True)
class PhaseView:
    """One step of the timeline, in local time."""

    name: str
    when: str
    state: str  # done | current | todo


@dataclass(frozen=True)
class SchoolView:
    """A school row: plan, zone and contact (live counts are filled in by the page)."""

    code: str
    name: str
    type_name: str
    address: str
    classes: int | None
    class_size: int | None
    seats: int | None
    zone: list[str]
    phone: str
    is_sample: bool


@dataclass(frozen=True)
class TownView:
    """The schools of one town."""

    name: str
    schools: list[SchoolView]


@dataclass(frozen=True)
class AnnouncementView:
    """An announcement in the list."""

    id: int
    title: str
    category: str
    scope: str
    date: str


@dataclass
class PortalView:
    """Everything on the page."""

    authority: EducationAuthority
    authority_param: str | None
    platform_name: str
    scan_line: str
    season: Season | None
    season_name: str
    window: str
    window_state: str
    countdown: str
    age_cutoff: str
    phases: list[PhaseView] = field(default_factory=list)
    announcements: list[AnnouncementView] = field(default_factory=list)
    towns: list[TownView] = field(default_factory=list)
    sample: bool = False


def _local(value: dt.datetime, tz: str) -> dt.datetime:
    return value.astimezone(zone(tz))


def _md(value: dt.datetime) -> str:
    return f"{value.month}月{value.day}日 {value:%H:%M}"


def _date_cn(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _span(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours = rest // 60
    return f"{days}天{hours}小时" if days else f"{hours}小时{rest % 60}分"


def _window_state(season: Season, now: dt.datetime) -> tuple[str, str]:
    if now < season.registration_opens_at:
        return "before", f"距报名开始还有 {_span(season.registration_opens_at - now)}"
    if now < season.registration_closes_at:
        return "open", f"报名进行中，距截止还有 {_span(season.registration_closes_at - now)}"
    return "closed", "本季报名已结束"


def _phases(season: Season, now: dt.datetime, tz: str) -> list[PhaseView]:
    views = []
    for phase in season.phases:
        if phase.ends_at <= now:
            state = "done"
        elif phase.starts_at <= now:
            state = "current"
        else:
            state = "todo"
        views.append(PhaseView(
            name=phase.name, state=state,
            when=f"{_md(_local(phase.starts_at, tz))} — {_md(_local(phase.ends_at, tz))}"))
    return views


def school_view(school: School, plan_classes: int | None, plan_size: int | None) -> SchoolView:
    """A school as the page lists it."""
    phones = [str(c.get("phone")) for c in school.contacts or [] if c.get("phone")]
    return SchoolView(
        code=school.code, name=school.name,
        type_name="民办" if school.type is SchoolType.PRIVATE else "公办",
        address=school.address, classes=plan_classes, class_size=plan_size,
        seats=plan_classes * plan_size if plan_classes and plan_size else None,
        zone=[z.region.name for z in sorted(school.zones, key=lambda z: z.region.code)],
        phone=phones[0] if phones else "", is_sample=school.is_sample,
    )


def _towns(authority: EducationAuthority, season: Season | None) -> list[TownView]:
    rows = schools.list_schools(authority.id)
    plans = schools.seat_plans(season.id, [s.id for s in rows]) if season else {}
    by_town: dict[str, list[SchoolView]] = {}
    for school in rows:
        plan = plans.get(school.id)
        town = school.town.name if school.town else "其他"
        by_town.setdefault(town, []).append(school_view(
            school, plan.classes if plan else None, plan.class_size if plan else None))
    return [TownView(name=name, schools=items) for name, items in by_town.items()]


def _announcements(authority: EducationAuthority) -> list[AnnouncementView]:
    page = announcements.public_announcements(authority=authority.code, school=None,
                                              category=None, level=None, page=1, page_size=8)
    return [AnnouncementView(
        id=a.id, title=a.title, category=CATEGORY_NAMES.get(a.category.value, "其他"),
        scope=a.school.name if a.school else authority.name,
        date=_date_cn(_local(a.publish_at, authority.timezone).date()) if a.publish_at else "")
        for a in page.items]


def portal_view(authority: EducationAuthority, authority_param: str | None,
                now: dt.datetime | None = None) -> PortalView:
    """Gather the page: season and timeline, announcements, schools with zones."""
    now = now or utcnow()
    tz = authority.timezone
    season = posters.season_of(authority)
    view = PortalView(
        authority=authority, authority_param=authority_param,
        platform_name=posters.platform_name(authority), scan_line=posters.scan_line(authority),
        season=season, season_name=season.name if season else "暂无招生季",
        window=posters.window_line(season, tz), window_state="none", countdown="",
        age_cutoff=f"{_date_cn(season.age_cutoff)}及之前出生" if season else "",
        sample=authority.is_sample,
    )
    if season is not None:
        view.window_state, view.countdown = _window_state(season, now)
        view.phases = _phases(season, now, tz)
    view.announcements = _announcements(authority)
    view.towns = _towns(authority, season)
    return view


def local_date(value: dt.datetime | None, tz: str) -> str:
    """A stored UTC time as a Chinese local date ("2024年8月1日")."""
    return _date_cn(_local(value, tz).date()) if value else ""
