"""The console's browser tests: a county with live-looking data, the app on a loopback port
(one request at a time: every request shares the test's one database connection) and
headless Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.timeutil import zone
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.registrations.models import (
    INACTIVE_STATUSES,
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from backend.schools.models import Region, RegionLevel, School, SchoolType
from backend.seasons.models import Season
from tests.conftest import LiveServer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class SerializedApp:
    """The app as a WSGI callable that serves one request at a time.

    The test's data lives in one uncommitted transaction on one connection; every request
    (and the test itself, through `lock`) takes turns on it, as the test client does.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.RLock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


@dataclass
class Console:
    """The app served on loopback for the browser."""

    url: str
    lock: threading.RLock

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Use the database from the test while no request is being served."""
        with self.lock:
            yield


@contextmanager
def serve(app: Flask) -> Iterator[Console]:
    """Serve the app on a loopback port for the length of the block."""
    wrapped = SerializedApp(app)
    with LiveServer(wrapped) as server:  # type: ignore[arg-type]
        yield Console(url=server.url.rstrip("/"), lock=wrapped.lock)


def web_login(client: FlaskClient, username: str, page: str = "/console/") -> str:
    """Sign in as the console's login page does; the CSRF token `page` carries."""
    response = client.post("/api/v1/auth/staff-login", json={
        "username": username, "password": STAFF_PASSWORD, "web_session": True})
    assert response.status_code == 200, response.get_json()
    opened = client.get(page)
    assert opened.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', opened.get_data(as_text=True))
    assert match
    return match.group(1)


# --- the county ---------------------------------------------------------------------------

SCHOOLS = (
    # name, type, plan (classes, class size), active registrations, inactive ones
    ("临泉镇第一小学（示例）", SchoolType.PUBLIC, (1, 40), 44, 3),
    ("临泉镇第二小学（示例）", SchoolType.PUBLIC, (1, 40), 34, 2),
    ("白文镇中心小学（示例）", SchoolType.PUBLIC, (2, 40), 30, 1),
    ("城庄镇中心小学（示例）", SchoolType.PUBLIC, (1, 30), 16, 1),
    ("明德实验学校（民办·示例）", SchoolType.PRIVATE, (1, 30), 25, 2),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "子涵浩然梓萱一诺欣怡宇轩雨桐思源俊熙若曦嘉怡明轩"
# status mix of the active registrations, repeated
ACTIVE_MIX = (RegistrationStatus.SUBMITTED,) * 5 + (
    RegistrationStatus.UNDER_REVIEW, RegistrationStatus.APPROVED, RegistrationStatus.APPROVED,
    RegistrationStatus.RETURNED, RegistrationStatus.BUREAU_REVIEW)
CATEGORY_MIX = ([], [], [], [], ["migrant"], [], [], ["disability"], [], ["military_child"],
                [], ["migrant"], [], [], ["overseas_chinese"])


@dataclass
class County:
    """One authority, its season, schools (first two: A and B), staff and registrations."""

    authority: Any
    season: Season
    towns: list[Region]
    villages: list[Region]
    schools: list[School]
    users: dict[str, User] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)

    @property
    def school_a(self) -> School:
        return self.schools[0]

    @property
    def school_b(self) -> School:
        return self.schools[1]

    def username(self, who: str) -> str:
        """Username of 'a' (school A's reviewer), 'b' or 'bureau'."""
        return str(self.users[who].username)


def _staff(authority: Any, who: str, display_name: str, school: School | None) -> User:
    return make_staff(authority, school=school, username=f"console-{who}-{uuid.uuid4().hex[:8]}",
                      display_name=display_name)


_sequence = iter(range(1, 10**6))


def _person(n: int) -> tuple[str, str]:
    surname = SURNAMES[n % len(SURNAMES)]
    given = GIVEN[(n * 2) % len(GIVEN)] + GIVEN[(n * 5 + 1) % len(GIVEN)]
    return surname + given, surname + "示例"


def add_child(county: County, village: Region, *, categories: list[str] | None = None,
              residence: Region | None = None, user: User | None = None) -> Child:
    """A guardian (a new parent account unless given) and a child living in `village`."""
    n = next(_sequence)
    child_name, guardian_name = _person(n)
    if user is None:
        user = User(role=Role.PARENT, openid=f"o-console-{uuid.uuid4().hex[:16]}")
        db.session.add(user)
        db.session.flush()
    guardian_id = make_id_number(dt.date(1980, 1, 1) + dt.timedelta(days=n % 5000), 951)
    phone = f"139{n % 100000000:08d}"
    guardian = Guardian(
        user_id=user.id, name=guardian_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(guardian_id, "guardian.id_number"),
        id_number_index=pii.blind_index(guardian_id, "guardian.id_number"),
        relation=Relation.MOTHER if n % 3 else Relation.FATHER,
        phone_enc=pii.encrypt(phone, "guardian.phone"),
        phone_index=pii.blind_index(phone, "guardian.phone"))
    db.session.add(guardian)
    db.session.flush()
    birth = dt.date(utcnow().year - 7, 9, 1) + dt.timedelta(days=(n * 7) % 360)
    number = make_id_number(birth, 901 + (n // 360) % 40 * 2, male=n % 2 == 0)
    child = Child(
        guardian_id=guardian.id, name=child_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(number, "child.id_number"),
        id_number_index=pii.blind_index(number, "child.id_number"),
        birth_date=birth, sex=Sex.MALE if n % 2 == 0 else Sex.FEMALE,
        hukou_region_id=village.id, categories=categories or [],
        residence_region_id=residence.id if residence else None)
    db.session.add(child)
    db.session.flush()
    return child


def _created_times(count: int, now: dt.datetime) -> list[dt.datetime]:
    """Times over the open window: a rush on the opening morning, quieter days after."""
    local = now.astimezone(zone())
    opening = (local - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    times = []
    for n in range(count):
        if n % 3 == 0:  # today, the last few hours
            times.append(now - dt.timedelta(minutes=5 + 11 * (n // 3)))
        elif n % 3 == 1:  # the opening morning's rush
            times.append(opening + dt.timedelta(minutes=3 + 4 * (n // 3)))
        else:  # the day after, spread over office hours
            times.append(opening + dt.timedelta(days=1, hours=1, minutes=17 * (n // 3)))
    return [t.astimezone(dt.UTC) for t in times]


def build_county(*, scale: float = 1.0) -> County:
    """The county with its season open, five sample schools and their registrations."""
    now = utcnow()
    authority = make_authority(name="临县教育局（示例）")
    towns = [make_region(authority, name=name) for name in ("临泉镇", "白文镇", "城庄镇")]
    village_names = ("东关村（示例）", "白文村（示例）", "城庄村（示例）", "西关社区（示例）",
                     "南庄村（示例）", "北坡村（示例）")
    villages = [make_region(authority, level=RegionLevel.VILLAGE, parent=town, name=name)
                for town, name in zip(towns * 2, village_names, strict=True)]
    local_now = now.astimezone(zone())
    opens = (local_now - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0,
                                                       microsecond=0).astimezone(dt.UTC)
    season = make_season(authority, year=local_now.year, opens=opens,
                         closes=opens + dt.timedelta(days=5, hours=10),
                         name=f"{local_now.year}年小学一年级招生（示例）")
    schools = []
    for n, (name, kind, plan, _active, _inactive) in enumerate(SCHOOLS):
        town = towns[n % 3]
        school = make_school(authority, zone=[villages[n % 3], villages[3 + n % 3]], name=name,
                             type=kind, town_id=town.id, address=f"{town.name}示例路{n + 1}号")
        make_seat_plan(season, school, classes=plan[0], class_size=plan[1])
        schools.append(school)
    county = County(authority, season, towns, villages, schools)
    county.users = {"a": _staff(authority, "a", "王老师", schools[0]),
                    "b": _staff(authority, "b", "赵老师", schools[1]),
                    "bureau": _staff(authority, "bureau", "刘主任", None)}
    total = sum(int((a + i) * scale) for _n, _t, _p, a, i in SCHOOLS)
    times = iter(_created_times(total, now))
    for n, (_name, _type, _plan, active, inactive) in enumerate(SCHOOLS):
        school = schools[n]
        for k in range(int(active * scale) + int(inactive * scale)):
            status = (ACTIVE_MIX[k % len(ACTIVE_MIX)] if k < int(active * scale)
                      else INACTIVE_STATUSES[k % 2])
            categories = CATEGORY_MIX[(k + n) % len(CATEGORY_MIX)]
            basis = (Basis.RESIDENCE_PERMIT if "migrant" in categories
                     else Basis.RESIDENCE if k % 7 == 3 else Basis.HUKOU)
            home = villages[(n + k) % 6]
            child = add_child(county, home, categories=categories,
                              residence=home if basis is not Basis.HUKOU else None)
            county.registrations.append(add_registration(
                county, child, school, status=status, basis=basis, created_at=next(times)))
    return county


def add_registration(county: County, child: Child, school: School, *,
                     status: RegistrationStatus = RegistrationStatus.SUBMITTED,
                     basis: Basis = Basis.HUKOU, created_at: dt.datetime | None = None,
                     ) -> Registration:
    """A registration written directly, with its first timeline event."""
    at = created_at or utcnow()
    registration = Registration(
        season_id=county.season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=child.guardian.user_id, basis=basis, status=status,
        ticket=f"T{uuid.uuid4().hex[:24]}", created_at=at, updated_at=at,
        fix_deadline=at + dt.timedelta(days=3) if status is RegistrationStatus.RETURNED
        else None)
    registration.events.append(RegistrationEvent(
        status=RegistrationStatus.SUBMITTED, actor_user_id=child.guardian.user_id,
        actor_role="parent", occurred_at=at))
    db.session.add(registration)
    db.session.flush()
    return registration


def document_png(title: str = "居民户口簿") -> bytes:
    """A sample document photo: a household-register page marked as sample data."""
    image = Image.new("RGB", (900, 620), (247, 240, 226))
    draw = ImageDraw.Draw(image)
    big = ImageFont.truetype(str(FONT), 44) if FONT.exists() else ImageFont.load_default()
    small = ImageFont.truetype(str(FONT), 26) if FONT.exists() else ImageFont.load_default()
    draw.rectangle((30, 30, 870, 590), outline=(150, 60, 50), width=4)
    draw.text((330, 60), title, fill=(150, 60, 50), font=big)
    rows = ("户主姓名　示例", "户　　号　示例0000", "住　　址　临泉镇东关村（示例）",
            "与户主关系　子", "出生日期　示例", "本页为示例材料，不含真实个人信息")
    for n, text in enumerate(rows):
        y = 160 + n * 66
        draw.line((60, y + 46, 840, y + 46), fill=(200, 170, 150), width=1)
        draw.text((70, y), text, fill=(60, 50, 40), font=small)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def expected_counts(county: County) -> dict[str, Any]:
    """What the overview must show, counted straight from the registrations."""
    rows = list(db.session.scalars(select(Registration).where(
        Registration.season_id == county.season.id)))
    today = utcnow().astimezone(zone()).date()
    per_school = {s.code: {"registrations": 0, "active": 0} for s in county.schools}
    for r in rows:
        counts = per_school[next(s.code for s in county.schools if s.id == r.school_id)]
        counts["registrations"] += 1
        counts["active"] += r.status not in INACTIVE_STATUSES
    return {
        "registrations": len(rows),
        "active": sum(r.status not in INACTIVE_STATUSES for r in rows),
        "today": sum(r.created_at.astimezone(zone()).date() == today for r in rows),
        "pending": sum(r.status in (RegistrationStatus.SUBMITTED, RegistrationStatus.UNDER_REVIEW,
                                    RegistrationStatus.BUREAU_REVIEW) for r in rows),
        "schools": per_school,
    }
