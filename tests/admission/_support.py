"""A county after review: a closed window, two schools with plans, staff, approved children."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.admission.models import Offer
from backend.core import pii
from backend.core.db import db, utcnow
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.notices.models import Notice
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.schools.models import Region, RegionLevel, School
from backend.seasons.models import Season
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    consent_for,
    make_authority,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "scripts" / "verify_lottery"
PUBLIC_VALUE_SOURCE = "中国福利彩票双色球 2025年8月12日 第2025092期开奖号码"
PUBLIC_VALUE = "03 07 12 19 25 31 + 09"

Login = Callable[[str, str], dict[str, Any]]
_people = itertools.count(1)


@dataclass
class County:
    """One authority after review: school A (zone: village_in) and school B, their staff."""

    authority: Any
    season: Season
    town: Region
    village_in: Region
    village_out: Region
    school_a: School
    school_b: School
    login: Login
    usernames: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str = "bureau") -> dict[str, str]:
        """Authorization header of 'bureau', 'a' (school A staff) or 'other_bureau'."""
        if who not in self.tokens:
            self.tokens[who] = self.login(self.usernames[who], STAFF_PASSWORD)["token"]
        return bearer(self.tokens[who])


def build_county(login: Login, *, seats_a: tuple[int, int] = (1, 6),
                 seats_b: tuple[int, int] = (1, 4)) -> County:
    """The county, its registration window closed yesterday; plans classes × class size."""
    now = utcnow()
    authority = make_authority()
    town = make_region(authority, name="城关镇")
    village_in = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="东村")
    village_out = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="西村")
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(days=10),
                         closes=now - dt.timedelta(days=1))
    school_a = make_school(authority, zone=[village_in], name="示例甲小学")
    school_b = make_school(authority, zone=[village_out], name="示例乙小学")
    make_seat_plan(season, school_a, *seats_a)
    make_seat_plan(season, school_b, *seats_b)
    other = make_authority()
    staff = {"bureau": make_staff(authority), "a": make_staff(authority, school=school_a),
             "other_bureau": make_staff(other)}
    return County(authority, season, town, village_in, village_out, school_a, school_b, login,
                  {who: u.username or "" for who, u in staff.items()})


def applicant(county: County, school: School, *, name: str | None = None,
              hukou: Region | None = None, residence: Region | None = None,
              categories: list[str] | None = None, permit: bool = False,
              user: User | None = None, status: RegistrationStatus = RegistrationStatus.APPROVED,
              birth: dt.date | None = None, id_number: str | None = None) -> Registration:
    """An approved registration of a new child (and guardian) at `school`."""
    n = next(_people)
    if user is None:
        user = User(role=Role.PARENT, openid=f"o-adm-{uuid.uuid4().hex[:16]}")
        db.session.add(user)
        db.session.flush()
    guardian = db.session.scalar(select(Guardian).where(Guardian.user_id == user.id))
    if guardian is None:
        guardian_number = make_id_number(dt.date(1985, 1, 1) + dt.timedelta(days=n % 3000),
                                         900 + (n // 3000) % 90)
        guardian = Guardian(
            user_id=user.id, name="王示例", document_type=DocumentType.RESIDENT_ID,
            id_number_enc=pii.encrypt(guardian_number, "guardian.id_number"),
            id_number_index=pii.blind_index(guardian_number, "guardian.id_number"),
            relation=Relation.MOTHER,
            phone_enc=pii.encrypt("13800000042", "guardian.phone"),
            phone_index=pii.blind_index("13800000042", "guardian.phone"))
        db.session.add(guardian)
        db.session.flush()
    birth = birth or dt.date(county.season.year - 6, 1, 1) + dt.timedelta(days=n % 240)
    number = id_number or make_id_number(birth, 900 + (n // 240) % 90, male=n % 2 == 0)
    child = Child(
        guardian_id=guardian.id, name=name or f"李{'明华伟芳静丽强磊军洋'[n % 10]}{n}",
        document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(number, "child.id_number"),
        id_number_index=pii.blind_index(number, "child.id_number"),
        birth_date=birth, sex=Sex.MALE if n % 2 == 0 else Sex.FEMALE,
        hukou_region_id=(hukou or county.village_in).id,
        residence_region_id=residence.id if residence else None,
        residence_permit={"number_enc": "x", "issued_on": "2020-01-01"} if permit else None,
        categories=categories or [], consent=consent_for(guardian.id))
    db.session.add(child)
    db.session.flush()
    registration = Registration(
        season_id=county.season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=user.id, basis=Basis.HUKOU, status=status,
        ticket=f"T{uuid.uuid4().hex[:24]}")
    db.session.add(registration)
    db.session.flush()
    return registration


def freeze(client: FlaskClient, county: County, school: School, *, practice: bool = False,
           source: str = PUBLIC_VALUE_SOURCE, **extra: Any) -> Any:
    """POST a freeze as the bureau; the response."""
    return client.post("/api/v1/admin/lotteries", headers=county.auth(), json={
        "season_id": county.season.id, "school_id": school.id, "practice": practice,
        "public_value_source": source, **extra})


def draw(client: FlaskClient, county: County, lottery_id: int,
         value: str = PUBLIC_VALUE) -> Any:
    """POST the public value as the bureau; the response."""
    return client.post(f"/api/v1/admin/lotteries/{lottery_id}/draw", headers=county.auth(),
                       json={"public_value": value})


def frozen_and_drawn(client: FlaskClient, county: County, school: School) -> dict[str, Any]:
    """A real lottery of the school, frozen and drawn; the draw's response body."""
    frozen = freeze(client, county, school)
    assert frozen.status_code == 201, frozen.get_json()
    drawn = draw(client, county, frozen.get_json()["id"])
    assert drawn.status_code == 200, drawn.get_json()
    return drawn.get_json()  # type: ignore[no-any-return]


def offers_of(school: School | None = None, child_id: int | None = None) -> list[Offer]:
    """Offer rows, in id order."""
    db.session.expire_all()
    stmt = select(Offer).order_by(Offer.id)
    if school is not None:
        stmt = stmt.where(Offer.school_id == school.id)
    if child_id is not None:
        stmt = stmt.where(Offer.child_id == child_id)
    return list(db.session.scalars(stmt))


def notices_of(user_id: int, template_key: str = "admission_result") -> list[Notice]:
    """The user's outbox rows of one template, in order."""
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(
        Notice.user_id == user_id, Notice.template_key == template_key).order_by(Notice.id)))


def run_verifier(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/verify_lottery under a bare interpreter: no site-packages, no project code."""
    return subprocess.run(  # noqa: S603 - our own script on a file the test wrote
        [sys.executable, "-I", "-S", str(VERIFY), str(path), *args],
        capture_output=True, text=True, timeout=60, check=False)


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as a JSON file; the path."""
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def child_of(registration: Registration) -> Child:
    """The registration's child."""
    child = db.session.get(Child, registration.child_id)
    assert child is not None
    return child
