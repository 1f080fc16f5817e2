"""Factory callables for models; each flushes so ids are available."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any

from backend.accounts.models import Role, User
from backend.accounts.passwords import hash_password
from backend.authorities.models import EducationAuthority
from backend.core.db import db
from backend.core.timeutil import local_datetime
from backend.schools.models import Region, RegionLevel, School, SchoolType, SchoolZone, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus

_seq = itertools.count(1)
STAFF_PASSWORD = "Correct-horse-42"


def make_authority(**kw: Any) -> EducationAuthority:
    """An education authority with a unique code."""
    n = next(_seq)
    authority = EducationAuthority(**{"code": f"auth{n}", "name": f"测试县教育局{n}",
                                      "division_code": "141124", **kw})
    db.session.add(authority)
    db.session.flush()
    return authority


def make_region(authority: EducationAuthority, *, level: RegionLevel = RegionLevel.TOWN,
                parent: Region | None = None, **kw: Any) -> Region:
    """A town (default) or a village under `parent`."""
    n = next(_seq)
    region = Region(**{"authority_id": authority.id, "code": f"R{n:05d}", "name": f"区域{n}",
                       "level": level, "parent_id": parent.id if parent else None, **kw})
    db.session.add(region)
    db.session.flush()
    return region


def make_school(authority: EducationAuthority, *, zone: list[Region] | None = None,
                **kw: Any) -> School:
    """A public school, optionally with zoned regions."""
    n = next(_seq)
    school = School(**{"authority_id": authority.id, "code": f"S{n:05d}", "name": f"测试小学{n}",
                       "type": SchoolType.PUBLIC, **kw})
    db.session.add(school)
    db.session.flush()
    for region in zone or []:
        db.session.add(SchoolZone(school_id=school.id, region_id=region.id))
    db.session.flush()
    return school


def make_season(authority: EducationAuthority, *, year: int = 2024,
                opens: dt.datetime | None = None, closes: dt.datetime | None = None,
                status: SeasonStatus = SeasonStatus.PUBLISHED, **kw: Any) -> Season:
    """A season with a registration phase (2024's window by default)."""
    opens = opens or local_datetime(year, 8, 5, 8, 0)
    closes = closes or local_datetime(year, 8, 9, 18, 0)
    season = Season(**{"authority_id": authority.id, "year": year, "name": f"{year}年小学招生",
                       "age_cutoff": dt.date(year - 6, 8, 31), "registration_opens_at": opens,
                       "registration_closes_at": closes, "status": status, **kw})
    season.phases.append(SeasonPhase(key="registration", name="平台报名", starts_at=opens,
                                     ends_at=closes))
    db.session.add(season)
    db.session.flush()
    return season


def make_seat_plan(season: Season, school: School, classes: int = 2,
                   class_size: int = 45) -> SeatPlan:
    """A seat plan of classes × class size."""
    plan = SeatPlan(season_id=season.id, school_id=school.id, classes=classes,
                    class_size=class_size)
    db.session.add(plan)
    db.session.flush()
    return plan


@functools.cache
def staff_password_hash(password: str = STAFF_PASSWORD) -> str:
    """The Argon2id hash of `password`, computed once per test run.

    Argon2 is deliberately slow (tens of milliseconds); every staff account of the run
    shares one hash of the shared test password. It still verifies like any other.
    """
    return hash_password(password)


def make_staff(authority: EducationAuthority, *, school: School | None = None,
               username: str | None = None, password: str = STAFF_PASSWORD,
               **kw: Any) -> User:
    """School staff when `school` is given, else a bureau admin; signs in with `password`.

    `kw` sets further columns (display_name, is_active …).
    """
    n = next(_seq)
    user = User(**{
        "role": Role.SCHOOL_STAFF if school else Role.BUREAU_ADMIN,
        "username": username or f"staff{n}", "password_hash": staff_password_hash(password),
        "authority_id": authority.id, "school_id": school.id if school else None, **kw,
    })
    db.session.add(user)
    db.session.flush()
    return user


# --- identity -------------------------------------------------------------------------

SAMPLE_REGION = "141124"  # Lin County's division code; sequence numbers 9xx are fictional


def make_id_number(birth: dt.date, seq: int = 901, *, male: bool = True,
                   region: str = SAMPLE_REGION) -> str:
    """A valid-checksum resident ID number from an obviously fictional sequence (9xx)."""
    from stdnum.cn import ric

    seq = seq - seq % 2 + (1 if male else 0)  # odd 17th digit = male (GB 11643)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_parent(openid: str | None = None) -> User:
    """A parent account (as after a first WeChat login)."""
    user = User(role=Role.PARENT, openid=openid or f"o-factory-{next(_seq)}")
    db.session.add(user)
    db.session.flush()
    return user


def make_guardian(user: User | None = None, *, id_number: str | None = None,
                  name: str = "张示例", phone: str | None = "13800000001",
                  face_verified: bool = False) -> Any:
    """A bound guardian with encrypted ID number and phone (face-verified: as after WeChat's
    人脸核身)."""
    from backend.core import pii
    from backend.identity.models import DocumentType, Guardian, Relation, VerificationLevel

    user = user or make_parent()
    number = id_number or make_id_number(dt.date(1990, 5, 1), 900 + next(_seq) % 90)
    guardian = Guardian(
        user_id=user.id, name=name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(number, "guardian.id_number"),
        id_number_index=pii.blind_index(number, "guardian.id_number"),
        relation=Relation.MOTHER,
        phone_enc=pii.encrypt(phone, "guardian.phone") if phone else None,
        phone_index=pii.blind_index(phone, "guardian.phone") if phone else None,
    )
    if face_verified:
        guardian.verification = VerificationLevel.FACE_VERIFIED
        guardian.verified_at = dt.datetime.now(dt.UTC)
    db.session.add(guardian)
    db.session.flush()
    return guardian


def consent_for(guardian_id: int) -> Any:
    """The consent the guardian gave in the mini-program: every child points at one."""
    from backend.identity.models import ConsentChannel
    from backend.identity.services import ConsentGiven

    return ConsentGiven(ConsentChannel.MINI_PROGRAM).record(guardian_id)


def make_child(guardian: Any, village: Region, *, birth: dt.date = dt.date(2018, 3, 1),
               name: str = "张小示", id_number: str | None = None) -> Any:
    """A child of `guardian` with household registration in `village`."""
    from backend.core import pii
    from backend.identity.models import Child, DocumentType, Sex

    number = id_number or make_id_number(birth, 900 + next(_seq) % 90)
    child = Child(
        guardian_id=guardian.id, name=name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(number, "child.id_number"),
        id_number_index=pii.blind_index(number, "child.id_number"),
        birth_date=birth, sex=Sex.MALE, hukou_region_id=village.id,
        consent=consent_for(guardian.id),
    )
    db.session.add(child)
    db.session.flush()
    return child


def make_registration(season: Season, child: Any, school: School, **kw: Any) -> Any:
    """A registration of `child` at `school` (status submitted unless given)."""
    from backend.registrations.models import Basis, Registration

    registration = Registration(**{
        "season_id": season.id, "child_id": child.id, "school_id": school.id,
        "submitted_by_user_id": child.guardian.user_id, "basis": Basis.HUKOU,
        "ticket": f"t-{next(_seq)}", **kw})
    db.session.add(registration)
    db.session.flush()
    return registration
