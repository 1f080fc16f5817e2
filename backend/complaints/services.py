"""Complaints, appeals and reports (监督举报, BRIEF §2 rule 9): filed, assigned, answered, closed.

Every step is audited with ids and roles only; the text a family wrote is never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import selectinload

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.audit.services import client_fingerprint, record_audit
from backend.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    ComplaintType,
)
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.identity.models import Guardian
from backend.identity.services import GUARDIAN_PHONE, require_guardian
from backend.registrations.services import my_registration
from backend.schools.models import School
from backend.uploads import services as uploads
from backend.uploads.models import Upload

logger = logging.getLogger(__name__)

C = ComplaintStatus
# A family may have this many complaints waiting for an answer at once (no flooding).
MAX_OPEN_PER_FAMILY = 10

# Every move a complaint can make: action → (states it may start from, state it ends in).
TRANSITIONS: dict[str, tuple[frozenset[ComplaintStatus], ComplaintStatus]] = {
    "assign": (frozenset({C.SUBMITTED, C.ASSIGNED}), C.ASSIGNED),
    "answer": (frozenset({C.SUBMITTED, C.ASSIGNED}), C.ANSWERED),
    "close": (frozenset({C.ANSWERED}), C.CLOSED),
}


def _not_found() -> ApiError:
    return ApiError(404, "COMPLAINT_NOT_FOUND", "未找到该投诉举报记录")


def _move(complaint: Complaint, action: str, actor: User, note: str | None = None) -> None:
    """Apply one row of the transition table and add the step to the history (409 if stale)."""
    sources, target = TRANSITIONS[action]
    if complaint.status not in sources:
        raise ApiError(409, "COMPLAINT_STATE_CONFLICT", "该投诉举报的状态已变化，请刷新后重试",
                       details={"status": complaint.status.value, "action": action})
    complaint.status = target
    complaint.events.append(ComplaintEvent(status=target, actor_user_id=actor.id,
                                           actor_role=actor.role.value, note=note))


def _audit(actor: User, action: str, complaint: Complaint, **details: object) -> None:
    record_audit(db.session, action=action, actor_user_id=actor.id,
                 actor_role=actor.role.value, object_type="complaint", object_id=complaint.id,
                 details={"school_id": complaint.school_id, **details})


def is_overdue(complaint: Complaint, now: dt.datetime) -> bool:
    """Still waiting for an answer after its deadline."""
    return complaint.status in OPEN_STATUSES and complaint.due_at < now


def _overdue(now: dt.datetime) -> ColumnElement[bool]:
    return and_(Complaint.status.in_(OPEN_STATUSES), Complaint.due_at < now)


# --- families ---------------------------------------------------------------------------


def _owned_uploads(user: User, upload_ids: list[str]) -> list[Upload]:
    wanted = list(dict.fromkeys(upload_ids))
    if not wanted:
        return []
    found = list(db.session.scalars(select(Upload).where(
        Upload.id.in_(wanted), Upload.owner_user_id == user.id, Upload.purged_at.is_(None),
        Upload.storage_name.is_not(None))))
    if len(found) != len(wanted):
        # Someone else's document looks exactly like a missing one.
        raise ApiError(404, "UPLOAD_NOT_FOUND", "材料不存在或已删除")
    return found


def file_complaint(user: User, *, type: str, school_code: str | None,
                   registration_id: int | None, text: str, anonymous: bool,
                   upload_ids: list[str]) -> Complaint:
    """File a complaint; the answer is due COMPLAINT_ANSWER_DAYS later."""
    # Real-name (实名): the bureau must be able to reach the family, even when anonymous.
    require_guardian(user)
    registration = my_registration(user, registration_id) if registration_id else None
    school = registration.school if registration else None
    if school_code is not None:
        named = db.session.scalar(select(School).where(School.code == school_code))
        if named is None:
            raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校")
        if school is not None and named.id != school.id:
            raise ApiError(422, "COMPLAINT_SCHOOL_MISMATCH", "所选学校与报名记录的学校不一致")
        school = named
    if school is None:
        raise ApiError(422, "COMPLAINT_SUBJECT_REQUIRED", "请选择投诉举报涉及的学校或报名记录")
    waiting = db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.user_id == user.id, Complaint.status.in_(OPEN_STATUSES))) or 0
    if waiting >= MAX_OPEN_PER_FAMILY:
        raise ApiError(409, "TOO_MANY_OPEN_COMPLAINTS",
                       "您有多件投诉举报正在办理中，请等待答复后再提交")
    now = utcnow()
    complaint = Complaint(
        authority_id=school.authority_id, user_id=user.id, school_id=school.id,
        registration_id=registration.id if registration else None, type=ComplaintType(type),
        text=text, anonymous=anonymous, status=C.SUBMITTED,
        due_at=now + dt.timedelta(days=int(current_app.config["COMPLAINT_ANSWER_DAYS"])),
        attachments=_owned_uploads(user, upload_ids),
    )
    complaint.events.append(ComplaintEvent(status=C.SUBMITTED, occurred_at=now,
                                           actor_user_id=user.id, actor_role="parent"))
    db.session.add(complaint)
    db.session.flush()
    _audit(user, "complaint.file", complaint, type=type, anonymous=anonymous,
           registration_id=complaint.registration_id)
    logger.info("complaint filed complaint_id=%s user_id=%s", complaint.id, user.id)
    return complaint


def my_complaints(user: User) -> list[Complaint]:
    """The caller's complaints, newest first."""
    return list(db.session.scalars(
        select(Complaint).where(Complaint.user_id == user.id)
        .options(selectinload(Complaint.events), selectinload(Complaint.attachments),
                 selectinload(Complaint.school))
        .order_by(Complaint.id.desc())))


def my_complaint(user: User, complaint_id: int) -> Complaint:
    """One of the caller's complaints (anyone else's: 404)."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or complaint.user_id != user.id:
        raise _not_found()
    return complaint


# --- handlers ---------------------------------------------------------------------------


def _load(stmt: Select[Complaint], lock: bool) -> Complaint:
    if lock:
        stmt = stmt.with_for_update()
    complaint = db.session.scalar(stmt.execution_options(populate_existing=True))
    if complaint is None:
        raise _not_found()
    return complaint


def handled_complaint(user: User, complaint_id: int, *, lock: bool = False) -> Complaint:
    """A complaint the caller may handle: the bureau's own authority, else only assignments."""
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if user.role is Role.BUREAU_ADMIN:
        stmt = stmt.where(scope.covers_authority(user, Complaint.authority_id))
    else:
        stmt = stmt.where(Complaint.assignee_user_id == user.id)
    return _load(stmt, lock)


def complainant(complaint: Complaint) -> dict[str, str | None]:
    """The family's name and phone, masked (for those who may see who filed it)."""
    guardian = db.session.scalar(select(Guardian).where(Guardian.user_id == complaint.user_id))
    if guardian is None:
        return {"name": None, "phone": None}
    phone = pii.decrypt(guardian.phone_enc, GUARDIAN_PHONE) if guardian.phone_enc else None
    return {"name": pii.mask_name(guardian.name), "phone": pii.mask_phone(phone) if phone else None}


def sees_complainant(user: User, complaint: Complaint) -> bool:
    """The bureau always; a school handler only when the family did not ask for anonymity."""
    return user.role is Role.BUREAU_ADMIN or not complaint.anonymous


@dataclass(frozen=True)
class Page:
    """One page of complaints and the total that match."""

    items: list[Complaint]
    total: int


def _page(stmt: Select[Complaint], page: int, page_size: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.options(selectinload(Complaint.events), selectinload(Complaint.attachments),
                     selectinload(Complaint.school), selectinload(Complaint.registration))
        .order_by(Complaint.due_at, Complaint.id)
        .offset((page - 1) * page_size).limit(page_size))
    return Page(items=list(items), total=total)


def admin_complaints(admin: User, *, status: str | None, school: str | None,
                     type: str | None, overdue: bool | None, page: int,
                     page_size: int) -> Page:
    """Complaints of the admin's authority, nearest deadline first."""
    stmt = select(Complaint).where(scope.covers_authority(admin, Complaint.authority_id))
    if status is not None:
        stmt = stmt.where(Complaint.status == ComplaintStatus(status))
    if school is not None:
        stmt = stmt.join(School, School.id == Complaint.school_id).where(School.code == school)
    if type is not None:
        stmt = stmt.where(Complaint.type == ComplaintType(type))
    if overdue is not None:
        condition = _overdue(utcnow())
        stmt = stmt.where(condition if overdue else ~condition)
    return _page(stmt, page, page_size)


def assigned_complaints(user: User, *, status: str | None, page: int, page_size: int) -> Page:
    """The complaints assigned to the caller."""
    stmt = select(Complaint).where(Complaint.assignee_user_id == user.id)
    if status is not None:
        stmt = stmt.where(Complaint.status == ComplaintStatus(status))
    return _page(stmt, page, page_size)


def assign_complaint(admin: User, complaint_id: int, assignee_user_id: int) -> Complaint:
    """Give a complaint to a staff account of the authority or of the school concerned."""
    complaint = handled_complaint(admin, complaint_id, lock=True)
    assignee = db.session.get(User, assignee_user_id)
    allowed = (
        assignee is not None and assignee.is_active
        and assignee.authority_id == complaint.authority_id
        and (assignee.role is Role.BUREAU_ADMIN
             or (assignee.role is Role.SCHOOL_STAFF
                 and assignee.school_id == complaint.school_id)))
    if assignee is None or not allowed:
        raise ApiError(422, "ASSIGNEE_NOT_ALLOWED",
                       "只能指派给本教育局或被投诉学校的在职工作人员")
    _move(complaint, "assign", admin)
    complaint.assignee_user_id = assignee.id
    _audit(admin, "complaint.assign", complaint, assignee_user_id=assignee.id,
           assignee_role=assignee.role.value)
    return complaint


def answer_complaint(user: User, complaint_id: int, answer: str) -> Complaint:
    """The assignee or the bureau answers; the family reads it in GET /complaints/{id}."""
    complaint = handled_complaint(user, complaint_id, lock=True)
    _move(complaint, "answer", user)
    complaint.answer = answer
    complaint.answered_at = utcnow()
    _audit(user, "complaint.answer", complaint,
           late=complaint.answered_at > complaint.due_at)
    return complaint


def close_complaint(admin: User, complaint_id: int, note: str) -> Complaint:
    """The bureau closes an answered complaint."""
    complaint = handled_complaint(admin, complaint_id, lock=True)
    _move(complaint, "close", admin, note or None)
    complaint.closed_at = utcnow()
    _audit(admin, "complaint.close", complaint)
    return complaint


def attachment(user: User, complaint_id: int, upload_id: str,
               address: str | None) -> tuple[Upload, bytes]:
    """A document of a complaint the caller handles (hidden from the school when anonymous)."""
    complaint = handled_complaint(user, complaint_id)
    upload = next((u for u in complaint.attachments if u.id == upload_id), None)
    if upload is None or not sees_complainant(user, complaint):
        raise ApiError(404, "UPLOAD_NOT_FOUND", "材料不存在或已删除")
    data = uploads.stored_bytes(upload)
    record_audit(db.session, action="upload.view", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="upload", object_id=upload.id,
                 client_fingerprint=client_fingerprint(address),
                 details={"complaint_id": complaint.id})
    return upload, data
