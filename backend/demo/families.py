"""Fictional families, registrations and announcements for the sample season.

So that the console, the public page and the mini-program have something to show on a
fresh machine. Every person here is invented: ID numbers use the obviously fictional
sequences 900–999, phones the 138-0000 range, and the names are stock examples.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from PIL import Image, ImageDraw
from sqlalchemy import select
from stdnum.cn import ric

from backend.accounts.models import Role, User
from backend.announcements.models import (
    Announcement,
    AnnouncementCategory,
    AnnouncementStatus,
)
from backend.core import pii
from backend.core.db import db
from backend.identity.models import (
    Child,
    ConsentChannel,
    DocumentType,
    Guardian,
    Relation,
    Sex,
)
from backend.identity.services import ConsentGiven
from backend.registrations.models import (
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from backend.schools.models import School, SchoolType, SchoolZone
from backend.seasons.models import Season
from backend.uploads.models import UploadKind
from backend.uploads.services import create_upload

FAMILIES = 48
OPENID_PREFIX = "demo-family-"
COUNTY_CODE = "141124"  # 临县's administrative division code
SURNAMES = "王李张刘陈杨赵黄周吴高郝薛白贺"
GIVEN = ("子涵", "欣怡", "浩然", "梓轩", "雨桐", "宇航", "诗涵", "俊杰", "若曦", "一诺",
         "晨阳", "可馨")
# The review steps a demo registration has been through, in order (a spread of states).
JOURNEYS: tuple[tuple[RegistrationStatus, ...], ...] = (
    (),
    (),
    (RegistrationStatus.UNDER_REVIEW,),
    (RegistrationStatus.UNDER_REVIEW, RegistrationStatus.APPROVED),
    (RegistrationStatus.UNDER_REVIEW, RegistrationStatus.APPROVED),
    (RegistrationStatus.UNDER_REVIEW, RegistrationStatus.RETURNED),
)
ANNOUNCEMENTS = (
    (AnnouncementCategory.POLICY, "临县2024年义务教育招生入学政策（示例）",
     "坚持免试就近入学，公办民办学校同步招生。报名先后不影响录取。"),
    (AnnouncementCategory.PROCESS, "小学一年级网上报名时间与流程（示例）",
     "家长通过微信小程序完成实名认证、添加儿童、选择划片学校并上传材料。"),
    (AnnouncementCategory.COMPLAINTS, "招生工作监督举报渠道（示例）",
     "对招生工作有意见或建议，可在小程序“投诉与申诉”中提交，教育局将在规定时限内答复。"),
)


@dataclass
class FamilyCounts:
    """What one run added."""

    families: int = 0
    registrations: int = 0
    announcements: int = 0


def _id_number(birth: dt.date, seq: int, male: bool) -> str:
    seq = 900 + (seq % 50) * 2 + (1 if male else 0)  # odd 17th digit = male (GB 11643)
    body = f"{COUNTY_CODE}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def load_demo_families(season: Season, now: dt.datetime) -> FamilyCounts:
    """Families with registrations at the sample season's public schools (idempotent)."""
    counts = FamilyCounts()
    zones = _public_zones(season.authority_id)
    if not zones:
        return counts
    known = set(db.session.scalars(select(User.openid).where(
        User.openid.like(f"{OPENID_PREFIX}%"))))
    for n in range(FAMILIES):
        openid = f"{OPENID_PREFIX}{n:03d}"
        if openid in known:
            continue
        school, village_id = zones[n % len(zones)]
        _family(n, openid, season, school, village_id, now)
        counts.families += 1
        counts.registrations += 1
    counts.announcements = _announcements(season, now)
    db.session.flush()
    return counts


def _public_zones(authority_id: int) -> list[tuple[School, int]]:
    rows = db.session.execute(
        select(School, SchoolZone.region_id).join(SchoolZone, SchoolZone.school_id == School.id)
        .where(School.authority_id == authority_id, School.type == SchoolType.PUBLIC,
               School.is_active.is_(True))
        .order_by(School.code, SchoolZone.region_id)).all()
    first: dict[int, tuple[School, int]] = {}
    for school, region_id in rows:
        first.setdefault(school.id, (school, region_id))
    return list(first.values())


def add_family(openid: str, *, guardian_name: str, guardian_number: str, relation: Relation,
               phone: str, child_name: str, child_number: str, birth: dt.date, male: bool,
               region_id: int, address: str) -> tuple[User, Child]:
    """A parent account with its binding and one child, added in the mini-program with the
    consent to store the child's data ticked."""
    user = User(role=Role.PARENT, openid=openid)
    db.session.add(user)
    db.session.flush()
    guardian = Guardian(
        user_id=user.id, name=guardian_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(guardian_number, "guardian.id_number"),
        id_number_index=pii.blind_index(guardian_number, "guardian.id_number"),
        relation=relation,
        phone_enc=pii.encrypt(phone, "guardian.phone"),
        phone_index=pii.blind_index(phone, "guardian.phone"),
    )
    db.session.add(guardian)
    db.session.flush()
    child = Child(
        guardian_id=guardian.id, name=child_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(child_number, "child.id_number"),
        id_number_index=pii.blind_index(child_number, "child.id_number"),
        birth_date=birth, sex=Sex.MALE if male else Sex.FEMALE, hukou_region_id=region_id,
        hukou_address=address,
        consent=ConsentGiven(ConsentChannel.MINI_PROGRAM).record(guardian.id),
    )
    db.session.add(child)
    db.session.flush()
    return user, child


def submitted_registration(season: Season, child: Child, school: School, user: User, *,
                           ticket: str, submitted_at: dt.datetime) -> Registration:
    """A registration as the worker writes it from a submission (status submitted)."""
    registration = Registration(
        season_id=season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=user.id, basis=Basis.HUKOU, out_of_zone=False,
        ticket=ticket, status=RegistrationStatus.SUBMITTED,
        created_at=submitted_at, updated_at=submitted_at,
    )
    registration.events.append(RegistrationEvent(
        status=RegistrationStatus.SUBMITTED, occurred_at=submitted_at,
        actor_user_id=user.id, actor_role="parent"))
    return registration


def document_image(label: str) -> bytes:
    """A placeholder photo of a document (PNG)."""
    image = Image.new("RGB", (480, 320), (246, 241, 228))
    ImageDraw.Draw(image).rectangle((16, 16, 464, 304), outline=(180, 60, 50), width=4)
    ImageDraw.Draw(image).text((40, 140), label, fill=(60, 60, 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _family(n: int, openid: str, season: Season, school: School, village_id: int,
            now: dt.datetime) -> None:
    surname = SURNAMES[n % len(SURNAMES)]
    # Six years old by the cutoff: born within the year before it.
    birth = season.age_cutoff - dt.timedelta(days=15 + (n * 7) % 340)
    male = n % 2 == 0
    user, child = add_family(
        openid, guardian_name=f"{surname}{GIVEN[(n + 3) % len(GIVEN)]}",
        guardian_number=_id_number(dt.date(1988 + n % 8, 1 + n % 12, 1 + n % 27), n,
                                   n % 2 == 0),
        relation=Relation.MOTHER if n % 2 else Relation.FATHER, phone=f"1380000{n:04d}",
        child_name=f"{surname}{GIVEN[n % len(GIVEN)]}",
        child_number=_id_number(birth, n + 7, male), birth=birth, male=male,
        region_id=village_id, address="示例村1号")
    upload = create_upload(user.id, UploadKind.HUKOU_BOOK, document_image("HUKOU SAMPLE"))
    submitted_at = now - dt.timedelta(hours=2 + n)
    registration = submitted_registration(season, child, school, user,
                                          ticket=f"TDEMO{n:05d}", submitted_at=submitted_at)
    registration.uploads = [upload]
    for step, status in enumerate(JOURNEYS[n % len(JOURNEYS)], start=1):
        returned = status is RegistrationStatus.RETURNED
        registration.events.append(RegistrationEvent(
            status=status, occurred_at=submitted_at + dt.timedelta(minutes=30 * step),
            actor_role="school_staff", reason_code="PHOTO_BLURRY" if returned else None,
            note="户口簿照片不清晰，请重新拍摄上传" if returned else None))
        registration.status = status
        if returned:
            registration.fix_deadline = now + dt.timedelta(days=3)
    db.session.add(registration)


def _announcements(season: Season, now: dt.datetime) -> int:
    admin = db.session.scalar(select(User).where(
        User.authority_id == season.authority_id, User.role == Role.BUREAU_ADMIN)
        .order_by(User.id))
    if admin is None:
        return 0
    titles = set(db.session.scalars(select(Announcement.title).where(
        Announcement.authority_id == season.authority_id)))
    added = 0
    for category, title, body in ANNOUNCEMENTS:
        if title in titles:
            continue
        db.session.add(Announcement(
            authority_id=season.authority_id, school_id=None, category=category, title=title,
            body=body, status=AnnouncementStatus.PUBLISHED,
            publish_at=now - dt.timedelta(days=1), check_result="pass",
            created_by_user_id=admin.id))
        added += 1
    return added
