"""Sample data for Lin County (临县): authority, regions, schools, zones, seasons, accounts.

Everything here is SAMPLE data (is_sample=True) except the 2024 season's timeline, which is
copied from Lin County's published 2024 primary-school admission plan. Towns are real names;
villages, communities, schools, addresses, phone numbers and accounts are invented and say so
in their names (示例).

`load_demo_data` is idempotent: rows are looked up by their codes/usernames and updated to the
values below, so running it twice changes nothing and re-running it later re-opens the sample
season's registration window. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.passwords import hash_password
from backend.authorities.models import EducationAuthority
from backend.core.db import Base, db, utcnow
from backend.core.timeutil import local_datetime, zone
from backend.demo.data_checks import load_checked_families
from backend.demo.families import load_demo_families
from backend.schools.models import Region, RegionLevel, School, SchoolType, SchoolZone, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus

ModelT = TypeVar("ModelT", bound=Base)

AUTHORITY_CODE = "linxian"
TIMEZONE = "Asia/Shanghai"
STAGE = "primary"
# The real plan's year: its season is copied from the plan and is not sample data.
PLAN_YEAR = 2024
# 2024年8月5日 is the plan's first registration day; all phases are offsets from it.
PLAN_REGISTRATION_DATE = dt.date(PLAN_YEAR, 8, 5)
SAMPLE_NOTE = "示例数据，仅供演示"

AUTHORITY: dict[str, Any] = {
    "name": "临县教育局",
    "division_code": "141124",
    "timezone": TIMEZONE,
    # The plan publishes two officials' mobile numbers; a demo must not send callers to
    # real people, so every number here is an obviously fictional 0358-000xxxx one.
    "consultation_phone": "0358-0000000（示例）",
    "complaint_channel": "监督举报电话 0358-0000009（示例）；平台“投诉与申诉”栏目（示例）",
    "petition_address": "临县教育局信访接待室，临泉镇示例路 1 号（示例地址）",
    "portal_url": "http://www.linxian.gov.cn/",
    "is_sample": True,
}


@dataclass(frozen=True)
class PhaseSpec:
    """A timeline step as day offsets (and hours) from the first registration day."""

    key: str
    name: str
    start_day: int
    start_hour: int
    end_day: int
    end_hour: int


# The 2024 plan: 招生宣传 7/30–8/4, 制定方案 7/30–7/31, 县级方案 8/1, 学校实施办法 8/2,
# 报名 8/5 08:00 – 8/9 18:00. Whole days end at 00:00 of the next day (exclusive ends).
PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec("publicity", "招生宣传", -6, 0, 0, 0),
    PhaseSpec("plan_drafting", "制定方案", -6, 0, -4, 0),
    PhaseSpec("county_plan_published", "平台发布县级实施方案", -4, 0, -3, 0),
    PhaseSpec("school_plans_published", "各学校发布实施办法", -3, 0, -2, 0),
    PhaseSpec("registration", "平台报名", 0, 8, 4, 18),
)
REGISTRATION_KEY = "registration"


@dataclass(frozen=True)
class RegionSpec:
    """A sample village or community under a town; `legacy` is the code it had before the
    demo used 统计用区划代码-form codes (a re-run renames it instead of adding a twin)."""

    code: str
    name: str
    level: RegionLevel = RegionLevel.VILLAGE
    legacy: str | None = None


@dataclass(frozen=True)
class TownSpec:
    """A real Lin County town with sample villages/communities."""

    code: str
    name: str
    regions: tuple[RegionSpec, ...]
    legacy: str | None = None


def _villages(town: str, legacy: str, count: int) -> tuple[RegionSpec, ...]:
    numerals = "一二三四五"
    return tuple(RegionSpec(f"{town[:9]}{201 + i:03d}", f"示例{numerals[i]}村",
                            legacy=f"{legacy}-{i + 1:03d}") for i in range(count))


# Codes have the form of the 12-digit 统计用区划代码 (the county 141124, a town's three digits,
# then 0xx for communities and 2xx for villages; a town ends in 000), as government data
# records give them, so a record's region code finds its zoned school. The town digits and
# the villages are invented; the simulator's demo records (backend/govdata/simulator.py) live
# in 城关社区 and 南关社区 of 临泉镇 and in 白文镇's first village.
TOWNS: tuple[TownSpec, ...] = (
    # 临泉镇 is the county seat: mostly urban communities.
    TownSpec("141124100000", "临泉镇", (
        RegionSpec("141124100001", "城关社区（示例）", RegionLevel.COMMUNITY, "LX-LQ-001"),
        RegionSpec("141124100002", "南关社区（示例）", RegionLevel.COMMUNITY, "LX-LQ-003"),
        RegionSpec("141124100003", "西关社区（示例）", RegionLevel.COMMUNITY, "LX-LQ-002"),
        RegionSpec("141124100004", "北关社区（示例）", RegionLevel.COMMUNITY, "LX-LQ-004"),
        RegionSpec("141124100201", "示例一村", legacy="LX-LQ-005"),
    ), "LX-LQ"),
    TownSpec("141124104000", "白文镇", _villages("141124104000", "LX-BW", 4), "LX-BW"),
    TownSpec("141124105000", "城庄镇", _villages("141124105000", "LX-CZ", 3), "LX-CZ"),
    TownSpec("141124106000", "兔坂镇", _villages("141124106000", "LX-TB", 3), "LX-TB"),
    TownSpec("141124107000", "克虎镇", _villages("141124107000", "LX-KH", 3), "LX-KH"),
    TownSpec("141124108000", "三交镇", _villages("141124108000", "LX-SJ", 3), "LX-SJ"),
    TownSpec("141124109000", "碛口镇", _villages("141124109000", "LX-QK", 3), "LX-QK"),
)
# Region codes by a short name, for the school zones below.
LQ, BW, CZ, TB, KH, SJ, QK = (t.code[:9] for t in TOWNS)


@dataclass(frozen=True)
class SchoolSpec:
    """A sample school: its town, zone (region codes) and seat plan (classes × class size)."""

    code: str
    name: str
    type: SchoolType
    town: str
    zone: tuple[str, ...]
    classes: int
    class_size: int


# Each village/community is in exactly one public school's zone; the private school's zone
# overlaps two 临泉镇 communities (公民同招: families there may choose either).
# Class sizes stay within 30–45 (45 is the cap for grade one).
SCHOOLS: tuple[SchoolSpec, ...] = (
    SchoolSpec("LX001", "临泉镇第一小学（示例）", SchoolType.PUBLIC, f"{LQ}000",
               (f"{LQ}001", f"{LQ}002", f"{LQ}201"), 6, 45),
    SchoolSpec("LX002", "临泉镇第二小学（示例）", SchoolType.PUBLIC, f"{LQ}000",
               (f"{LQ}003", f"{LQ}004"), 5, 45),
    SchoolSpec("LX003", "临泉镇民办小学（示例）", SchoolType.PRIVATE, f"{LQ}000",
               (f"{LQ}001", f"{LQ}003"), 2, 40),
    SchoolSpec("LX004", "白文镇中心小学（示例）", SchoolType.PUBLIC, f"{BW}000",
               (f"{BW}201", f"{BW}202"), 3, 40),
    SchoolSpec("LX005", "白文镇第二小学（示例）", SchoolType.PUBLIC, f"{BW}000",
               (f"{BW}203", f"{BW}204"), 1, 30),
    SchoolSpec("LX006", "城庄镇中心小学（示例）", SchoolType.PUBLIC, f"{CZ}000",
               (f"{CZ}201", f"{CZ}202", f"{CZ}203"), 2, 35),
    SchoolSpec("LX007", "兔坂镇中心小学（示例）", SchoolType.PUBLIC, f"{TB}000",
               (f"{TB}201", f"{TB}202", f"{TB}203"), 2, 38),
    SchoolSpec("LX008", "克虎镇中心小学（示例）", SchoolType.PUBLIC, f"{KH}000",
               (f"{KH}201", f"{KH}202", f"{KH}203"), 2, 36),
    SchoolSpec("LX009", "三交镇中心小学（示例）", SchoolType.PUBLIC, f"{SJ}000",
               (f"{SJ}201", f"{SJ}202", f"{SJ}203"), 3, 42),
    SchoolSpec("LX010", "碛口镇中心小学（示例）", SchoolType.PUBLIC, f"{QK}000",
               (f"{QK}201", f"{QK}202", f"{QK}203"), 1, 32),
)

REQUIRED_MATERIALS: dict[str, list[str]] = {
    "hukou": ["户口簿（户主页、儿童页）", "出生医学证明"],
    "residence": ["房产证或购房合同", "户口簿（户主页、儿童页）", "出生医学证明"],
    # 随迁子女: the plan asks for simplified materials based mainly on the residence permit.
    "residence_permit": ["居住证", "户口簿（户主页、儿童页）", "出生医学证明",
                         "父母务工或经商证明"],
}

# Demo passwords exist only in demo data, which production refuses to load; they are
# deterministic so the console can be tried right after `flask seed-demo`.
ADMIN_USERNAME = "linxian-admin"
ADMIN_PASSWORD = "Demo-admin-2024"  # noqa: S105 - demo-only, printed on purpose
EXISTING_ACCOUNT_NOTE = "password unchanged if you changed it（账号已存在，密码未重置）"


def staff_username(school_code: str) -> str:
    """The demo staff account of a school, e.g. lx001-staff."""
    return f"{school_code.lower()}-staff"


def staff_password(school_code: str) -> str:
    """The demo staff password of a school, e.g. Demo-LX001-2024."""
    return f"Demo-{school_code}-2024"


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff account and the password it was created with."""

    username: str
    role: str
    school_code: str | None
    password: str
    created: bool


@dataclass(frozen=True)
class SeasonInfo:
    """A loaded season, for the printed summary."""

    name: str
    year: int
    status: str
    is_sample: bool
    age_cutoff: dt.date
    registration_opens_at: dt.datetime
    registration_closes_at: dt.datetime


@dataclass
class DemoSummary:
    """What `load_demo_data` created and updated, and the accounts to try."""

    authority_code: str = AUTHORITY_CODE
    authority_name: str = ""
    timezone: str = TIMEZONE
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    seasons: list[SeasonInfo] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    towns: int = 0
    villages: int = 0
    schools: int = 0
    data_checks: list[str] = field(default_factory=list)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        """Add one to a created/updated counter."""
        bucket[kind] = bucket.get(kind, 0) + 1

    def describe(self) -> str:
        """The text `flask seed-demo` prints."""
        tz = zone(self.timezone)

        def local(value: dt.datetime) -> str:
            return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        def counts(bucket: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(bucket.items())) or "none"

        lines = [
            "!! SAMPLE DATA（示例数据）: schools, villages/communities, addresses, phone numbers"
            " and accounts are fictional — for demonstration only, never for real enrollment.",
            f"Authority: {self.authority_name} ({self.authority_code}), timezone {self.timezone}",
            f"Regions: {self.towns} towns, {self.villages} villages/communities;"
            f" schools: {self.schools}",
            f"Seasons (registration window, {self.timezone}):",
        ]
        for season in self.seasons:
            kind = "sample" if season.is_sample else "timeline from the real 2024 plan"
            lines.append(
                f"  - {season.name} [{season.year}, {season.status}, {kind}]: "
                f"{local(season.registration_opens_at)} → {local(season.registration_closes_at)}"
                f", born on or before {season.age_cutoff.isoformat()}"
            )
        lines.append("Demo accounts (demo data only; production refuses to load it):")
        for account in self.accounts:
            school = f" school {account.school_code}" if account.school_code else ""
            note = "" if account.created else f"  ({EXISTING_ACCOUNT_NOTE})"
            lines.append(f"  - {account.username} [{account.role}{school}] "
                         f"password: {account.password}{note}")
        if self.data_checks:
            lines.append("Government data checks (demo families; log in with these openids "
                         "through the WeChat simulator):")
            lines += [f"  - {note}" for note in self.data_checks]
        lines.append(f"Created: {counts(self.created)}")
        lines.append(f"Updated: {counts(self.updated)}")
        return "\n".join(lines)


def sample_season_year(registration_date: dt.date) -> int:
    """The sample season's year: that of the first 31 August on or after registration opens."""
    year = registration_date.year
    if registration_date > dt.date(year, 8, 31):
        year += 1
    # The real 2024 season owns (linxian, primary, 2024); a demo run during 2024 must not
    # overwrite it, so the sample season moves to the next year instead.
    if year == PLAN_YEAR:
        year += 1
    return year


def phase_times(first_registration_day: dt.date,
                zone_name: str = TIMEZONE) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Each phase's (start, end) in UTC, laid out from the first registration day."""

    def at(days: int, hour: int) -> dt.datetime:
        day = first_registration_day + dt.timedelta(days=days)
        return local_datetime(day.year, day.month, day.day, hour, zone_name=zone_name)

    return {p.key: (at(p.start_day, p.start_hour), at(p.end_day, p.end_hour)) for p in PHASES}


def _implementation_plan(spec: SchoolSpec, zone_names: list[str], phone: str) -> str:
    private = (
        "本校为民办学校，与公办学校同步招生（公民同招），不以任何形式提前选择生源，"
        "严格执行教育局核定的招生计划。" if spec.type is SchoolType.PRIVATE else ""
    )
    return (
        f"{spec.name}入学工作实施办法\n"
        f"（本文为{SAMPLE_NOTE}，不是真实学校的实施办法。）\n"
        "一、招生原则：免试就近入学。按照“学校划片招生，生源就近免试入学”原则，"
        "以户籍所在地或实际居住地为依据，招收服务区内年满六周岁的适龄儿童；"
        f"不举行任何形式的考试、考核或测试。{private}\n"
        f"二、服务区范围：{'、'.join(zone_names)}。\n"
        "三、报名时间：以“临县义务教育入学信息服务平台”公布的当季报名时间为准"
        "（2024年为8月5日8:00至8月9日18:00），报名时间内任何时候提交均可，报名先后不影响录取。\n"
        "四、报名方式：电脑端登录平台或手机扫描本校二维码，实名注册后报名，按提示上传材料。\n"
        f"五、咨询电话：{phone}（示例）。"
    )


class _Loader:
    """One run of the demo loader; counts what it creates and changes."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.summary = DemoSummary()

    def _assign(self, obj: Base, values: Mapping[str, Any]) -> bool:
        """Set only the attributes that differ, so an unchanged row is not rewritten."""
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        return changed

    def _upsert(self, model: type[ModelT], kind: str, key: Mapping[str, Any],
                values: Mapping[str, Any]) -> ModelT:
        """Find a row by its natural key and update it, or create it."""
        row = db.session.scalar(select(model).filter_by(**key))
        if row is None:
            row = model(**key, **values)
            db.session.add(row)
            self.summary.count(self.summary.created, kind)
            return row
        # Demo codes must never take over real (non-sample) configuration.
        if values.get("is_sample") and getattr(row, "is_sample", True) is False:
            raise RuntimeError(
                f"refusing to load demo data: {kind} {dict(key)} already exists as real "
                "(non-sample) data"
            )
        if self._assign(row, values):
            self.summary.count(self.summary.updated, kind)
        return row

    def authority(self) -> EducationAuthority:
        """The 临县教育局 authority."""
        authority = self._upsert(EducationAuthority, "authorities",
                                 {"code": AUTHORITY_CODE}, AUTHORITY)
        db.session.flush()
        self.summary.authority_name = authority.name
        self.summary.timezone = authority.timezone
        return authority

    def regions(self, authority: EducationAuthority) -> dict[str, Region]:
        """Towns and their sample villages/communities, by code."""
        by_code: dict[str, Region] = {}
        for town_spec in TOWNS:
            self._rename_legacy(town_spec.code, town_spec.legacy)
            town = self._upsert(Region, "regions", {"code": town_spec.code}, {
                "authority_id": authority.id, "name": town_spec.name,
                "level": RegionLevel.TOWN, "parent_id": None, "is_sample": True,
            })
            db.session.flush()
            by_code[town.code] = town
            for spec in town_spec.regions:
                self._rename_legacy(spec.code, spec.legacy)
                by_code[spec.code] = self._upsert(Region, "regions", {"code": spec.code}, {
                    "authority_id": authority.id, "name": spec.name, "level": spec.level,
                    "parent_id": town.id, "is_sample": True,
                })
            self.summary.towns += 1
            self.summary.villages += len(town_spec.regions)
        db.session.flush()
        return by_code

    def _rename_legacy(self, code: str, legacy: str | None) -> None:
        """A region loaded under its earlier demo code takes its new one (families and zones
        keep pointing at it)."""
        if legacy is None or db.session.scalar(select(Region.id).where(Region.code == code)):
            return
        row = db.session.scalar(select(Region).where(Region.code == legacy,
                                                     Region.is_sample.is_(True)))
        if row is not None:
            row.code = code
            db.session.flush()
            self.summary.count(self.summary.updated, "regions")

    def schools(self, authority: EducationAuthority,
                regions: dict[str, Region]) -> list[tuple[School, SchoolSpec]]:
        """The sample schools with their zones."""
        loaded: list[tuple[School, SchoolSpec]] = []
        for n, spec in enumerate(SCHOOLS, start=1):
            phone = f"0358-000{1000 + n}"
            town = regions[spec.town]
            zone_regions = [regions[code] for code in spec.zone]
            school = self._upsert(School, "schools", {"code": spec.code}, {
                "authority_id": authority.id, "name": spec.name, "type": spec.type,
                "town_id": town.id,
                "address": f"临县{town.name}示例路 {n} 号（示例地址）",
                "contacts": [{"name": "招生办（示例）", "phone": phone}],
                "required_materials": REQUIRED_MATERIALS,
                "implementation_plan": _implementation_plan(
                    spec, [r.name for r in zone_regions], phone),
                "is_active": True, "is_sample": True,
            })
            db.session.flush()
            self._sync_zone(school, zone_regions)
            loaded.append((school, spec))
        db.session.flush()
        self.summary.schools = len(loaded)
        return loaded

    def _sync_zone(self, school: School, regions: list[Region]) -> None:
        """Make the school's zone exactly the given regions."""
        wanted = {r.id for r in regions}
        for zone_row in list(school.zones):
            if zone_row.region_id not in wanted:
                school.zones.remove(zone_row)
                self.summary.count(self.summary.updated, "zones")
        present = {z.region_id for z in school.zones}
        for region in regions:
            if region.id not in present:
                school.zones.append(SchoolZone(region_id=region.id))
                self.summary.count(self.summary.created, "zones")

    def season(self, authority: EducationAuthority, *, year: int, name: str,
               first_registration_day: dt.date, status: SeasonStatus,
               is_sample: bool) -> Season:
        """A season with the plan's phase structure starting on the given day."""
        times = phase_times(first_registration_day, authority.timezone)
        opens, closes = times[REGISTRATION_KEY]
        season = self._upsert(
            Season, "seasons", {"authority_id": authority.id, "stage": STAGE, "year": year},
            {"name": name, "age_cutoff": dt.date(year - 6, 8, 31),
             "registration_opens_at": opens, "registration_closes_at": closes,
             "status": status, "is_sample": is_sample},
        )
        # The phase list is exactly the plan's: update known keys, drop others, add missing.
        specs = {p.key: p for p in PHASES}
        for old_phase in list(season.phases):
            if old_phase.key not in specs:
                season.phases.remove(old_phase)
                self.summary.count(self.summary.updated, "phases")
        existing = {p.key: p for p in season.phases}
        for spec in PHASES:
            starts, ends = times[spec.key]
            values = {"name": spec.name, "starts_at": starts, "ends_at": ends}
            phase = existing.get(spec.key)
            if phase is None:
                season.phases.append(SeasonPhase(key=spec.key, **values))
                self.summary.count(self.summary.created, "phases")
            elif self._assign(phase, values):
                self.summary.count(self.summary.updated, "phases")
        db.session.flush()
        self.summary.seasons.append(SeasonInfo(
            name=season.name, year=season.year, status=season.status.value,
            is_sample=season.is_sample, age_cutoff=season.age_cutoff,
            registration_opens_at=season.registration_opens_at,
            registration_closes_at=season.registration_closes_at,
        ))
        return season

    def sample_season(self, authority: EducationAuthority) -> Season:
        """The sample season whose registration opened yesterday 08:00 local time."""
        today = self.now.astimezone(zone(authority.timezone)).date()
        first_day = today - dt.timedelta(days=1)
        year = sample_season_year(first_day)
        season = self.season(authority, year=year, name=f"{year}年小学招生（示例）",
                             first_registration_day=first_day,
                             status=SeasonStatus.PUBLISHED, is_sample=True)
        # A run on a later day may land in the next year; archive the older sample seasons
        # so families see one open season, never a stale one.
        stale = db.session.scalars(select(Season).where(
            Season.authority_id == authority.id, Season.stage == STAGE,
            Season.is_sample.is_(True), Season.status == SeasonStatus.PUBLISHED,
            Season.id != season.id,
        ))
        for old in stale:
            old.status = SeasonStatus.ARCHIVED
            self.summary.count(self.summary.updated, "seasons")
        return season

    def seat_plans(self, season: Season, schools: list[tuple[School, SchoolSpec]]) -> None:
        """Every school's plan (classes × class size) in the season."""
        for school, spec in schools:
            self._upsert(SeatPlan, "seat_plans",
                         {"season_id": season.id, "school_id": school.id},
                         {"classes": spec.classes, "class_size": spec.class_size})
        db.session.flush()

    def account(self, authority: EducationAuthority, *, username: str, role: Role,
                school: School | None, password: str, display_name: str) -> None:
        """A staff account; an existing one is left alone (its password may have changed)."""
        user = db.session.scalar(select(User).where(User.username == username))
        created = user is None
        if user is None:
            db.session.add(User(
                role=role, username=username, password_hash=hash_password(password),
                display_name=display_name, authority_id=authority.id,
                school_id=school.id if school else None,
            ))
            self.summary.count(self.summary.created, "accounts")
        self.summary.accounts.append(DemoAccount(
            username=username, role=role.value, school_code=school.code if school else None,
            password=password, created=created,
        ))


def load_demo_data(now: dt.datetime | None = None) -> DemoSummary:
    """Load the Lin County sample data into db.session (idempotent; the caller commits)."""
    if current_app.config.get("APP_ENV") == "production":
        raise RuntimeError("refusing to load demo data in production (APP_ENV=production): "
                           "it creates sample schools and accounts with printed passwords")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    loader = _Loader(now)
    authority = loader.authority()
    regions = loader.regions(authority)
    schools = loader.schools(authority, regions)

    # The real plan's timeline, archived: it documents 2024 and is never open again.
    plan_season = loader.season(authority, year=PLAN_YEAR, name=f"{PLAN_YEAR}年小学招生",
                                first_registration_day=PLAN_REGISTRATION_DATE,
                                status=SeasonStatus.ARCHIVED, is_sample=False)
    sample = loader.sample_season(authority)
    for season in (plan_season, sample):
        loader.seat_plans(season, schools)

    loader.account(authority, username=ADMIN_USERNAME, role=Role.BUREAU_ADMIN, school=None,
                   password=ADMIN_PASSWORD, display_name="临县教育局管理员（示例）")
    for school, spec in schools:
        loader.account(authority, username=staff_username(spec.code), role=Role.SCHOOL_STAFF,
                       school=school, password=staff_password(spec.code),
                       display_name=f"{spec.name}招生办")
    db.session.flush()
    # Fictional families in the open sample season, so every screen has something to show.
    families = load_demo_families(sample, now)
    for kind in ("families", "registrations", "announcements"):
        if getattr(families, kind):
            loader.summary.created[kind] = getattr(families, kind)
    # Two more whose documents government data checked (GOVDATA_SOURCES, the simulator).
    checked = load_checked_families(sample, now)
    for kind in ("families", "registrations"):
        if getattr(checked, kind):
            loader.summary.created[kind] = (loader.summary.created.get(kind, 0)
                                            + getattr(checked, kind))
    loader.summary.data_checks = checked.notes
    return loader.summary
