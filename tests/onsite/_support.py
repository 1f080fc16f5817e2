"""A county with two schools, their staff, a bureau admin and admitted families."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from backend.accounts.models import Role, User
from backend.admission.models import Offer, OfferSource, OfferStatus
from backend.core.db import db, utcnow
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.onsite.models import OnsiteSlot
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.schools.models import Region, RegionLevel, School
from backend.seasons.models import Season
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    consent_for,
    make_authority,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

Login = Callable[[str, str], dict[str, Any]]
_seq = itertools.count(1)
_GIVEN = "明华伟芳静丽强磊军洋"


@dataclass
class County:
    """One authority, its season, two schools (A: 2 × 45, B) and their staff."""

    authority: Any
    season: Season
    village: Region
    school_a: School
    school_b: School
    login: Login
    usernames: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        """Authorization header of 'a', 'b', 'bureau' or 'other_bureau'."""
        if who not in self.tokens:
            self.tokens[who] = self.login(self.usernames[who], STAFF_PASSWORD)["token"]
        return bearer(self.tokens[who])


def build_county(login: Login, *, classes: int = 2, class_size: int = 45) -> County:
    """The county, with staff of schools A and B, its bureau and another county's bureau."""
    now = utcnow()
    authority = make_authority()
    town = make_region(authority, name="示例镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例村")
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(days=20),
                         closes=now - dt.timedelta(days=10))
    school_a = make_school(authority, zone=[village], name="示例甲小学")
    school_b = make_school(authority, zone=[village], name="示例乙小学")
    make_seat_plan(season, school_a, classes=classes, class_size=class_size)
    make_seat_plan(season, school_b)
    other = make_authority()
    users = {"a": make_staff(authority, school=school_a),
             "b": make_staff(authority, school=school_b),
             "bureau": make_staff(authority), "other_bureau": make_staff(other)}
    return County(authority, season, village, school_a, school_b, login,
                  {k: u.username or "" for k, u in users.items()},
                  user_ids={k: u.id for k, u in users.items()})


def add_child(guardian: Guardian, village: Region, *, sex: str = "male",
              birth: dt.date | None = None, categories: list[str] | None = None) -> Child:
    """A child of `guardian` (no ID number: only what the tests need)."""
    n = next(_seq)
    child = Child(guardian_id=guardian.id, name=f"王{_GIVEN[n % 10]}{_GIVEN[(n // 10) % 10]}",
                  document_type=DocumentType.RESIDENT_ID, birth_date=birth or dt.date(2018, 3, 1),
                  sex=Sex(sex), hukou_region_id=village.id, categories=categories or [],
                  consent=consent_for(guardian.id))
    db.session.add(child)
    db.session.flush()
    return child


def add_guardian(user: User | None = None) -> Guardian:
    """A guardian (and parent account unless given), without personal numbers."""
    if user is None:
        user = User(role=Role.PARENT, openid=f"o-onsite-{uuid.uuid4().hex[:16]}")
        db.session.add(user)
        db.session.flush()
    guardian = Guardian(user_id=user.id, name="王示例", document_type=DocumentType.RESIDENT_ID,
                        relation=Relation.MOTHER)
    db.session.add(guardian)
    db.session.flush()
    return guardian


def admit(county: County, child: Child, school: School, *,
          status: OfferStatus = OfferStatus.CONFIRMED) -> Registration:
    """An approved registration of `child` at `school` with an offer (confirmed by default)."""
    registration = Registration(
        season_id=county.season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=child.guardian.user_id, basis=Basis.HUKOU,
        status=RegistrationStatus.APPROVED, ticket=f"T{uuid.uuid4().hex[:24]}")
    db.session.add(registration)
    db.session.flush()
    db.session.add(Offer(
        season_id=county.season.id, school_id=school.id, child_id=child.id,
        registration_id=registration.id, source=OfferSource.BUREAU_PLACEMENT,
        placement_reason="测试：直接录取", status=status,
        decided_at=None if status is OfferStatus.OFFERED else utcnow()))
    db.session.flush()
    return registration


@dataclass
class Family:
    """A signed-in parent with one admitted child."""

    token: str
    user_id: int
    child_id: int
    registration_id: int

    def auth(self) -> dict[str, str]:
        """The parent's Authorization header."""
        return bearer(self.token)


def admitted_family(login_parent: Callable[..., dict[str, Any]], county: County,
                    school: School | None = None, *,
                    status: OfferStatus = OfferStatus.CONFIRMED) -> Family:
    """A parent signed in through the simulator, with a child admitted to `school` (A)."""
    login = login_parent()
    user = db.session.get(User, login["user"]["id"])
    guardian = add_guardian(user)
    child = add_child(guardian, county.village)
    registration = admit(county, child, school or county.school_a, status=status)
    return Family(login["token"], login["user"]["id"], child.id, registration.id)


def add_slot(county: County, school: School, *, starts_in: dt.timedelta,
             minutes: int = 60, capacity: int = 10, place: str = "学校一楼大厅") -> OnsiteSlot:
    """A slot written directly (tests that need one already started or ended)."""
    starts = utcnow() + starts_in
    slot = OnsiteSlot(school_id=school.id, season_id=county.season.id, starts_at=starts,
                      ends_at=starts + dt.timedelta(minutes=minutes), place=place,
                      capacity=capacity, booked=0, version=1, note="")
    db.session.add(slot)
    db.session.flush()
    return slot


def create_slot(client: FlaskClient, county: County, who: str = "a", **body: Any) -> Any:
    """POST a slot as a staff member; tomorrow 09:00–10:00 local time by default."""
    tomorrow = (utcnow() + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    payload = {"season_id": county.season.id,
               "starts_at": tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
               .replace(tzinfo=None).isoformat(),
               "ends_at": tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
               .replace(tzinfo=None).isoformat(),
               "place": "学校一楼大厅", "capacity": 10, **body}
    return client.post("/api/v1/staff/onsite/slots", json=payload, headers=county.auth(who))
