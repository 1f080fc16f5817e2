"""A mixed season for the counts tests, and the direct query the counts must equal."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.authorities.models import EducationAuthority
from backend.core.db import db
from backend.core.timeutil import local_datetime
from backend.identity.models import Child
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.schools.models import Region, RegionLevel, School
from backend.seasons.models import Season
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_parent,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = RegistrationStatus
# (school, status, basis, categories, residence town or None, local created_at)
# School A: plan 3 seats, 4 active → red. School B: plan 6 seats, 5 active → yellow (≥ 80 %).
# The 07:30 registrations on 8/6 are 23:30 UTC on 8/5: they count on 8/6 (Asia/Shanghai).
ROWS: list[tuple[str, S, Basis, list[str], str | None, tuple[int, int, int]]] = [
    ("a", S.SUBMITTED, Basis.HUKOU, [], None, (5, 9, 10)),
    ("a", S.APPROVED, Basis.HUKOU, ["migrant"], None, (5, 9, 40)),
    ("a", S.UNDER_REVIEW, Basis.RESIDENCE, ["migrant", "disability"], "t2", (5, 17, 5)),
    ("a", S.RETURNED, Basis.RESIDENCE_PERMIT, ["migrant"], "t1", (6, 7, 30)),
    ("a", S.REJECTED, Basis.HUKOU, [], None, (6, 7, 45)),
    ("a", S.WITHDRAWN, Basis.HUKOU, ["military_child"], None, (6, 10, 0)),
    ("b", S.SUBMITTED, Basis.HUKOU, [], None, (5, 9, 15)),
    ("b", S.SUBMITTED, Basis.RESIDENCE, [], "t1", (5, 11, 0)),
    ("b", S.APPROVED, Basis.HUKOU, ["disability"], None, (6, 7, 30)),
    ("b", S.UNDER_REVIEW, Basis.HUKOU, [], None, (6, 8, 20)),
    ("b", S.REJECTED, Basis.RESIDENCE, ["migrant"], "t2", (6, 9, 0)),
]


@dataclass
class World:
    """Two towns, three schools (red, yellow, no registrations), a mixed season."""

    authority: EducationAuthority
    season: Season
    towns: dict[str, Region]
    villages: dict[str, Region]
    schools: dict[str, School]
    admin_username: str
    staff_username: str
    other_season: Season


def build_world(year: int = 2024) -> World:
    """The mixed season of ROWS, plus another authority whose counts must never show."""
    authority = make_authority()
    towns = {"t1": make_region(authority, name="示例镇一"),
             "t2": make_region(authority, name="示例镇二")}
    villages = {k: make_region(authority, level=RegionLevel.VILLAGE, parent=t)
                for k, t in towns.items()}
    schools = {"a": make_school(authority, zone=[villages["t1"]], town_id=towns["t1"].id),
               "b": make_school(authority, zone=[villages["t2"]], town_id=towns["t2"].id),
               "c": make_school(authority, zone=[villages["t2"]], town_id=towns["t2"].id)}
    season = make_season(authority, year=year)
    make_seat_plan(season, schools["a"], classes=1, class_size=3)
    make_seat_plan(season, schools["b"], classes=1, class_size=6)
    make_seat_plan(season, schools["c"], classes=2, class_size=45)
    guardian = make_guardian(make_parent(), id_number=make_id_number(dt.date(1990, 5, 1), 901))
    for n, (school, status, basis, categories, residence, when) in enumerate(ROWS):
        home = "t1" if school == "a" else "t2"
        birth = dt.date(2018, 1, 1) + dt.timedelta(days=n)
        child = make_child(guardian, villages[home], birth=birth,
                           id_number=make_id_number(birth, 903))
        child.categories = categories
        if residence:
            child.residence_region_id = villages[residence].id
        make_registration(season, child, schools[school], basis=basis, status=status,
                          created_at=local_datetime(year, 8, *when))
    # A child rejected at school A who then applied to school B: two registrations.
    first = db.session.scalar(select(Registration).where(
        Registration.season_id == season.id, Registration.status == S.REJECTED,
        Registration.school_id == schools["a"].id))
    assert first is not None
    make_registration(season, first.child, schools["b"], status=S.SUBMITTED,
                      created_at=local_datetime(year, 8, 7, 12, 0))
    db.session.flush()

    other = make_authority()
    other_town = make_region(other)
    other_village = make_region(other, level=RegionLevel.VILLAGE, parent=other_town)
    other_school = make_school(other, zone=[other_village], town_id=other_town.id)
    other_season = make_season(other, year=year)
    make_seat_plan(other_season, other_school, classes=1, class_size=1)
    for n in range(3):
        birth = dt.date(2018, 6, 1) + dt.timedelta(days=n)
        child = make_child(guardian, other_village, birth=birth,
                           id_number=make_id_number(birth, 905))
        make_registration(other_season, child, other_school)

    admin = make_staff(authority)
    staff = make_staff(authority, school=schools["a"])
    assert admin.username is not None and staff.username is not None
    return World(authority=authority, season=season, towns=towns, villages=villages,
                 schools=schools, admin_username=admin.username,
                 staff_username=staff.username, other_season=other_season)


def expected(season_id: int, by: str, school_id: int | None = None) -> dict[str, tuple[int, int]]:
    """Straight from the registrations: key → (registrations, active), for one grouping."""
    stmt = (select(Registration, Child).join(Child, Registration.child_id == Child.id)
            .where(Registration.season_id == season_id))
    if school_id is not None:
        stmt = stmt.where(Registration.school_id == school_id)
    total: Counter[str] = Counter()
    active: Counter[str] = Counter()
    regions = {r.id: r for r in db.session.scalars(select(Region))}
    schools = {s.id: s for s in db.session.scalars(select(School))}
    for registration, child in db.session.execute(stmt):
        keys: list[str]
        if by == "school":
            keys = [schools[registration.school_id].code]
        elif by == "status":
            keys = [registration.status.value]
        elif by == "basis":
            keys = [registration.basis.value]
        elif by == "category":
            keys = sorted(set(child.categories)) or ["none"]
        elif by in ("day", "hour"):
            local = registration.created_at.astimezone(SHANGHAI)
            keys = [local.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%dT%H")]
        elif by == "town":
            region_id = (child.hukou_region_id if registration.basis is Basis.HUKOU
                         else child.residence_region_id)
            region = regions[region_id] if region_id else None
            while region is not None and region.parent_id is not None:
                region = regions[region.parent_id]
            keys = [region.code if region else "none"]
        else:
            raise AssertionError(by)
        for key in keys:
            total[key] += 1
            if registration.status not in (S.REJECTED, S.WITHDRAWN):
                active[key] += 1
    return {key: (total[key], active[key]) for key in total}


def answered(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """key → (registrations, active) of an answer, leaving out the zero rows."""
    return {i["key"]: (i["registrations"], i["active"]) for i in body["items"]
            if i["registrations"]}
