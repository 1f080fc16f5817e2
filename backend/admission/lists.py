"""Published lists (阳光招生): the admitted list per school, the look-up, the registry export.

The public list shows masked names and pseudonymous ids only. The look-up answers one
question — is the child with this ID number ending and this birth date admitted at this
school? — with yes or no, so it reveals nothing a family does not already know, and it is
rate-limited per address. The student-registry export (学籍) carries full data and is the
bureau's alone, audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.admission.models import ListPublication, Offer, OfferSource, OfferStatus
from backend.admission.services import pseudonym
from backend.audit.services import client_fingerprint, record_audit
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.exports.services import RELATION_NAMES, SEX_NAMES, ExportFile, write_sheet
from backend.identity import services as identity
from backend.identity.models import Child, Guardian
from backend.registrations.models import Registration
from backend.schools.models import Region, School, SeatPlan
from backend.seasons.models import Season

logger = logging.getLogger(__name__)

SOURCE_NAMES = {"lottery": "派位/直升", "waitlist": "候补递补", "bureau_placement": "统筹安排"}
DOCUMENT_NAMES = {"resident_id": "居民身份证", "hmt_residence_permit": "港澳台居民居住证",
                  "hk_macau_permit": "港澳居民来往内地通行证",
                  "taiwan_permit": "台湾居民来往大陆通行证", "foreign_passport": "外国护照",
                  "foreign_permanent_residence": "外国人永久居留身份证"}


def publish_list(user: User, season_id: int, school_id: int, *, client_address: str | None,
                 now: dt.datetime | None = None) -> ListPublication:
    """Publish (once) the school's admitted list for the season; it stays current after."""
    if user.role is not Role.BUREAU_ADMIN:
        raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    publication = db.session.scalar(select(ListPublication).where(
        ListPublication.season_id == season.id, ListPublication.school_id == school.id))
    if publication is None:
        publication = ListPublication(season_id=season.id, school_id=school.id,
                                      published_at=now or utcnow(),
                                      published_by_user_id=user.id)
        db.session.add(publication)
        db.session.flush()
        record_audit(db.session, action="admission.list_publish", actor_user_id=user.id,
                     actor_role=user.role.value, object_type="school", object_id=school.id,
                     client_fingerprint=client_fingerprint(client_address),
                     details={"season_id": season.id})
    return publication


def list_status(user: User, season_id: int) -> dict[str, Any]:
    """Each school in scope: confirmed and open offers, and when its list was published."""
    season = scope.season(user, season_id)
    schools = list(db.session.scalars(select(School).where(
        scope.covers_school(user, School.id)).order_by(School.code)))
    counts: dict[tuple[int, OfferStatus], int] = {
        (school_id, status): n for school_id, status, n in db.session.execute(
            select(Offer.school_id, Offer.status, func.count())
            .where(Offer.season_id == season.id,
                   Offer.status.in_([OfferStatus.CONFIRMED, OfferStatus.OFFERED]))
            .group_by(Offer.school_id, Offer.status))}
    published = dict(db.session.execute(
        select(ListPublication.school_id, ListPublication.published_at)
        .where(ListPublication.season_id == season.id)).all())
    seats = {plan.school_id: plan.seats for plan in db.session.scalars(
        select(SeatPlan).where(SeatPlan.season_id == season.id))}
    return {"season": season, "items": [
        {"school": s, "seats": seats.get(s.id),
         "confirmed": counts.get((s.id, OfferStatus.CONFIRMED), 0),
         "offered": counts.get((s.id, OfferStatus.OFFERED), 0),
         "published_at": published.get(s.id)} for s in schools]}


def _published(season_id: int, school_code: str) -> tuple[School, ListPublication]:
    school = db.session.scalar(select(School).where(School.code == school_code))
    publication = None if school is None else db.session.scalar(select(ListPublication).where(
        ListPublication.season_id == season_id, ListPublication.school_id == school.id))
    if school is None or publication is None:
        raise ApiError(404, "LIST_NOT_PUBLISHED", "该校录取名单尚未公布")
    return school, publication


def public_list(season_id: int, school_code: str) -> dict[str, Any]:
    """The published admitted list: confirmed offers, masked names, pseudonymous ids."""
    school, publication = _published(season_id, school_code)
    season = db.session.get(Season, season_id)
    offers = list(db.session.scalars(
        select(Offer).where(Offer.season_id == season_id, Offer.school_id == school.id,
                            Offer.status == OfferStatus.CONFIRMED)
        .options(joinedload(Offer.child))))
    rows = sorted(({"pseudonym": pseudonym(season_id, o.child_id),
                    "masked_name": pii.mask_name(o.child.name),
                    "source": o.source.value} for o in offers),
                  key=lambda r: r["pseudonym"])
    return {"school": school, "season": season, "published_at": publication.published_at,
            "items": rows}


def lookup(season_id: int, school_code: str, id_last4: str, birth_date: dt.date) -> bool:
    """Whether a child with this ID ending and birth date is on the school's published list."""
    school, _publication = _published(season_id, school_code)
    wanted = id_last4.upper()
    tokens = db.session.scalars(
        select(Child.id_number_enc).join(Offer, Offer.child_id == Child.id)
        .where(Offer.season_id == season_id, Offer.school_id == school.id,
               Offer.status == OfferStatus.CONFIRMED, Child.birth_date == birth_date))
    for token in tokens:
        if not token:
            continue
        try:
            number = pii.decrypt(token, identity.CHILD_ID)
        except pii.DecryptionError:
            continue
        if number[-4:].upper() == wanted:
            return True
    return False


COLUMNS = [("学校代码", "school_code"), ("学校", "school"), ("个人编号", "pseudonym"),
           ("儿童姓名", "child_name"), ("性别", "sex"), ("出生日期", "birth_date"),
           ("证件类型", "document_type"), ("证件号码", "id_number"),
           ("户籍地", "hukou"), ("实际居住地", "residence"), ("监护人姓名", "guardian_name"),
           ("与儿童关系", "relation"), ("监护人电话", "guardian_phone"),
           ("录取方式", "source"), ("确认时间", "confirmed_at")]


def _decrypted(token: str | None, purpose: str) -> str:
    if not token:
        return ""
    try:
        return pii.decrypt(token, purpose)
    except pii.DecryptionError:
        return ""


def _place(regions: dict[int, tuple[str, int | None]], region_id: int | None,
           address: str) -> str:
    if region_id is None or region_id not in regions:
        return address
    name, parent_id = regions[region_id]
    parts = [regions[parent_id][0]] if parent_id in regions else []
    return " ".join([*parts, name, *([address] if address else [])])


def registry_export(user: User, season_id: int, school_id: int | None, *,
                    client_address: str | None, now: dt.datetime | None = None) -> ExportFile:
    """学籍: the confirmed admissions of the season (one school or all) in full, audited.

    The registry follows the lottery result and the actual confirmation (BRIEF §2 rule 6).
    """
    if user.role is not Role.BUREAU_ADMIN:
        raise ApiError(403, "FORBIDDEN", "学籍导出仅限教育局管理员")
    now = now or utcnow()
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id) if school_id is not None else None
    zone_name = user.authority.timezone if user.authority else None
    regions = {r.id: (r.name, r.parent_id) for r in db.session.execute(
        select(Region.id, Region.name, Region.parent_id))}
    stmt = (select(Offer, Child, Guardian, School)
            .join(Child, Offer.child_id == Child.id)
            .join(Guardian, Child.guardian_id == Guardian.id)
            .join(School, Offer.school_id == School.id)
            .join(Registration, Offer.registration_id == Registration.id)
            .where(Offer.season_id == season.id, Offer.status == OfferStatus.CONFIRMED,
                   scope.covers_school(user, Offer.school_id))
            .order_by(School.code, Offer.id)
            .execution_options(yield_per=500))
    if school is not None:
        stmt = stmt.where(Offer.school_id == school.id)

    def rows() -> Iterator[dict[str, Any]]:
        for offer, child, guardian, row_school in db.session.execute(stmt):
            yield {
                "school_code": row_school.code, "school": row_school.name,
                "pseudonym": pseudonym(season.id, child.id), "child_name": child.name,
                "sex": SEX_NAMES.get(child.sex.value, ""),
                "birth_date": child.birth_date.isoformat(),
                "document_type": DOCUMENT_NAMES.get(child.document_type.value, ""),
                "id_number": _decrypted(child.id_number_enc, identity.CHILD_ID),
                "hukou": _place(regions, child.hukou_region_id, child.hukou_address),
                "residence": _place(regions, child.residence_region_id,
                                    child.residence_address),
                "guardian_name": guardian.name,
                "relation": RELATION_NAMES.get(guardian.relation.value, ""),
                "guardian_phone": _decrypted(guardian.phone_enc, identity.GUARDIAN_PHONE),
                "source": SOURCE_NAMES[offer.source.value],
                "confirmed_at": (offer.decided_at.astimezone(zone(zone_name))
                                 .strftime("%Y-%m-%d %H:%M") if offer.decided_at else ""),
            }

    handle, size, count = write_sheet("新生学籍", COLUMNS, rows())
    record_audit(db.session, action="admission.registry_export", actor_user_id=user.id,
                 actor_role=user.role.value,
                 object_type="school" if school else "season",
                 object_id=school.id if school else season.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"season_id": season.id, "rows": count})
    logger.info("registry exported actor_user_id=%s season_id=%s school_id=%s rows=%s",
                user.id, season.id, school.id if school else None, count)
    stamp = now.astimezone(zone(zone_name)).strftime("%Y%m%d-%H%M")
    code, name = (school.code, school.name) if school else (f"season{season.id}", season.name)
    return ExportFile(file=handle, size=size, rows=count,
                      filename=f"registry-{code}-{stamp}.xlsx",
                      display_name=f"新生学籍-{name}-{stamp}.xlsx")


def source_name(source: OfferSource) -> str:
    """Chinese name of how a seat came to the child."""
    return SOURCE_NAMES[source.value]
