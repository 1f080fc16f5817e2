"""代报名: staff register a child at the counter for a family without a smartphone, through
the same intake and worker as the mini-program; the family claims it later from its own
WeChat with the code printed on a slip. Plain values in, models out; never commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.accounts import scope
from backend.accounts.models import User
from backend.accounts.services import create_family_account
from backend.audit.services import record_audit
from backend.core import pii
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.identity import services as identity
from backend.identity.models import Child, ConsentChannel, Guardian
from backend.proxy.models import ClaimCode
from backend.registrations import intake
from backend.registrations import services as registrations
from backend.registrations.intake import Receipt
from backend.registrations.models import Registration
from backend.schools.models import School
from backend.uploads.models import Upload, UploadKind
from backend.uploads.services import create_upload, transfer_uploads

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: a code read off paper and typed on a phone is typed right.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_PURPOSE = "proxy.claim_code"
# The child's details a reused family may correct (ChildPatch's fields).
CHILD_CHANGES = ("name", "hukou", "residence", "residence_permit", "categories", "disability")


@dataclass(frozen=True)
class Slip:
    """What the family takes home: the school, the masked names, the claim code."""

    school: School
    child_name: str
    guardian_name: str
    code: str
    expires_at: dt.datetime


@dataclass
class Entry:
    """A registration entered at the counter: its slip, and its receipt once queued."""

    slip: Slip
    family_user_id: int
    receipt: Receipt | None = None


@dataclass(frozen=True)
class Claimed:
    """What a claim moved to the caller's account."""

    registrations: list[Registration] = field(default_factory=list)
    children: int = 0


# --- errors ----------------------------------------------------------------------------------


def _registration_not_found() -> ApiError:
    return ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")


@contextmanager
def _fields_of(prefix: str) -> Iterator[None]:
    """An identity error about one field (e.g. id_number) names the form's field in full,
    in the shape of a validation error, so the console shows it next to that field."""
    try:
        yield
    except ApiError as exc:
        named = (exc.details or {}).get("field")
        if named:
            full = f"{prefix}.{named}"
            exc.details = {**(exc.details or {}), "field": full, "fields": [
                {"field": full, "type": exc.code, "message": exc.message}]}
        raise


# --- claim codes -----------------------------------------------------------------------------


def _normalise(code: str) -> str | None:
    """The code as issued (upper case, no spaces or hyphens), or None if it cannot be one."""
    value = re.sub(r"[\s\-]", "", code or "").upper()
    if len(value) != CODE_LENGTH or any(c not in ALPHABET for c in value):
        return None
    return value


def shown(code: str) -> str:
    """The code as printed: two groups of four (K7MQ-4XPD)."""
    return f"{code[:4]}-{code[4:]}"


def _issue_code(family: User, staff: User, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A new code for the family (the old one stops working at once); stored hashed."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + dt.timedelta(days=int(current_app.config["CLAIM_CODE_DAYS"]))
    row = db.session.scalar(select(ClaimCode).where(ClaimCode.family_user_id == family.id)
                            .with_for_update())
    if row is None:
        row = ClaimCode(family_user_id=family.id)
        db.session.add(row)
    row.code_index = pii.blind_index(code, CODE_PURPOSE)
    row.expires_at, row.issued_at, row.issued_by_user_id = expires_at, now, staff.id
    db.session.flush()
    return code, expires_at


def _slip(staff: User, family: User, guardian: Guardian, child: Child, school: School,
          now: dt.datetime) -> Slip:
    code, expires_at = _issue_code(family, staff, now)
    return Slip(school=school, child_name=pii.mask_name(child.name),
                guardian_name=pii.mask_name(guardian.name), code=shown(code),
                expires_at=expires_at)


# --- entering a family at the counter --------------------------------------------------------


def scan_document(staff: User, kind: UploadKind, data: bytes) -> Upload:
    """Store a document scanned at the counter; staff hold it until the entry names it."""
    upload = create_upload(staff.id, kind, data)
    record_audit(db.session, action="proxy.document_scanned", actor_user_id=staff.id,
                 actor_role=staff.role.value, object_type="upload", object_id=upload.id,
                 details={"kind": kind.value})
    return upload


def _unclaimed(user: User) -> bool:
    return user.is_staff_created and user.is_active


def _family(staff: User, holder: Guardian | None, guardian: dict[str, Any]) -> User:
    """The family account: new, or the one staff entered before for this ID number."""
    if holder is None:
        family = create_family_account(staff)
        try:
            with _fields_of("guardian"):
                identity.bind_identity_at_counter(
                    family, name=guardian["name"], document_type=guardian["document_type"],
                    id_number=guardian["id_number"], relation=guardian["relation"],
                    phone=guardian.get("phone"))
        except ApiError as exc:
            if exc.code != "IDENTITY_ALREADY_BOUND":
                raise
            # Bound a moment ago (a colleague at the next counter, or the family itself).
            raise ApiError(409, "FAMILY_JUST_ENTERED",
                           "该家长的证件号码刚刚已被登记，请重新提交一次") from exc
        return family
    if not _unclaimed(holder.user):
        # The family has its own WeChat account: it registers there (or with its phone at
        # the counter), so one family never has two accounts.
        raise ApiError(409, "FAMILY_HAS_WECHAT",
                       "该家长已用微信实名登记（或已认领代报名），请家长在小程序中自行报名；"
                       "如家长不会操作，可请家长带手机到校，由老师协助在家长手机上办理")
    if holder.name != guardian["name"].strip():
        raise ApiError(409, "GUARDIAN_NAME_MISMATCH",
                       "该证件号码此前已登记为另一姓名，请核对家长姓名和证件号码",
                       details={"field": "guardian.name", "fields": [
                           {"field": "guardian.name", "type": "GUARDIAN_NAME_MISMATCH",
                            "message": "与此前登记的姓名不一致"}]})
    return holder.user


def _child(staff: User, family: User, guardian: Guardian, data: dict[str, Any]) -> Child:
    """The child: added to the family with the consent the guardian gave at the counter, or
    (entered before, its consent recorded then) its details brought up to date unless a
    registration holds them."""
    with _fields_of("child"):
        known = identity.child_in_family(guardian, data["document_type"], data["id_number"])
        if known is None:
            consent = identity.ConsentGiven(ConsentChannel.COUNTER, recorded_by_user_id=staff.id)
            return identity.add_child(family, data, consent)
        try:
            return identity.update_child(family, known.id,
                                         {k: data.get(k) for k in CHILD_CHANGES})
        except ApiError as exc:
            # A submission in flight or an active registration: the intake answers below.
            if exc.code != "CHILD_LOCKED":
                raise
            return known


def enter_registration(staff: User, *, guardian: dict[str, Any], child: dict[str, Any],
                       school_code: str | None, basis: str, upload_ids: list[str],
                       idempotency_key: str) -> Entry:
    """Enter a family and register its child through the parents' intake (202 semantics).

    The family, the child and the documents are written in this transaction; the queued
    message follows once they are committed (after-commit, essential). A retry with the
    same Idempotency-Key gets the same ticket and a fresh claim code.
    """
    school = scope.school_or_own(staff, school_code)
    intake.require_idempotency_key(idempotency_key)
    now = utcnow()
    with _fields_of("guardian"):
        holder = identity.find_guardian(guardian["document_type"], guardian["id_number"])
    family = _family(staff, holder, guardian)
    bound = identity.require_guardian(family)
    if holder is not None:
        earlier = intake.earlier_receipt(family.id, idempotency_key)
        if earlier is not None:
            with _fields_of("child"):
                known = identity.child_in_family(bound, child["document_type"],
                                                 child["id_number"])
            if known is not None:
                slip = _slip(staff, family, bound, known, school, now)
                _audit_code(staff, family, known.id, "retry")
                return Entry(slip=slip, family_user_id=family.id, receipt=earlier)
    entered = _child(staff, family, bound, child)
    # Documents staff scanned for this family become the family's; the intake then checks
    # them exactly as a parent's (owned by the family, covering what the basis needs).
    transfer_uploads(staff.id, family.id, only=upload_ids)
    pending = intake.prepare_entered(
        family.id, entered_by_user_id=staff.id, entered_by_role=staff.role.value,
        idempotency_key=idempotency_key, child_id=entered.id, school_code=school.code,
        basis=basis, upload_ids=upload_ids, now=now)
    entry = Entry(slip=_slip(staff, family, bound, entered, school, now),
                  family_user_id=family.id)
    record_audit(db.session, action="proxy.family_entered", actor_user_id=staff.id,
                 actor_role=staff.role.value, object_type="child", object_id=entered.id,
                 details={"family_user_id": family.id, "school_id": school.id,
                          "ticket": pending.ticket, "family_reused": holder is not None,
                          "uploads": len(upload_ids), "documents_checked": True,
                          "guardian_consent": {"channel": entered.consent.channel.value,
                                               "version": entered.consent.version}})

    def queue() -> None:
        entry.receipt = intake.queue_entered(pending)

    after_commit(queue, essential=True)
    logger.info("registration entered at the counter staff_id=%s child_id=%s ticket=%s",
                staff.id, entered.id, pending.ticket)
    return entry


def _audit_code(staff: User, family: User, object_id: int, why: str,
                object_type: str = "child") -> None:
    record_audit(db.session, action="proxy.claim_code_issued", actor_user_id=staff.id,
                 actor_role=staff.role.value, object_type=object_type, object_id=object_id,
                 details={"family_user_id": family.id, "reason": why})


# --- following, listing, a new code ----------------------------------------------------------


def entered_ticket(staff: User, ticket: str) -> dict[str, Any]:
    """A ticket of a registration entered at the counter, for staff of its school."""
    known = intake.ticket_school(ticket)
    if known is None:
        registration = db.session.scalar(select(Registration).where(
            Registration.ticket == ticket, Registration.entered_by_user_id.is_not(None)))
        known = ((registration.submitted_by_user_id, registration.school_id)
                 if registration is not None else None)
    if known is None or not scope.may_see_school(staff, db.session.get(School, known[1])):
        raise ApiError(404, "TICKET_NOT_FOUND", "未找到该报名回执")
    return registrations.ticket_status(known[0], ticket)


def list_entered(staff: User, *, school_code: str | None, claimed: bool | None, page: int,
                 per_page: int) -> tuple[list[Registration], int]:
    """Registrations entered at the counter in the caller's scope, newest id first."""
    stmt = select(Registration).where(Registration.entered_by_user_id.is_not(None),
                                      scope.covers_school(staff, Registration.school_id))
    if school_code:
        stmt = stmt.where(Registration.school_id == scope.school_or_own(staff, school_code).id)
    if claimed is not None:
        family = select(User.id).where(User.created_by_user_id.is_not(None),
                                       User.is_active.is_(True))
        member = Registration.submitted_by_user_id.in_(family)
        stmt = stmt.where(~member if claimed else member)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(
        stmt.order_by(Registration.id.desc()).offset((page - 1) * per_page).limit(per_page)
        .options(selectinload(Registration.child).selectinload(Child.guardian),
                 selectinload(Registration.school))))
    return rows, total


def claim_codes_of(user_ids: set[int]) -> dict[int, ClaimCode]:
    """The live claim code of each family account among `user_ids`."""
    if not user_ids:
        return {}
    return {c.family_user_id: c for c in db.session.scalars(
        select(ClaimCode).where(ClaimCode.family_user_id.in_(user_ids),
                                ClaimCode.claimed_at.is_(None)))}


def users_by_id(user_ids: set[int]) -> dict[int, User]:
    """Users by id (submitters and the staff who entered, for a page of rows)."""
    if not user_ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}


def reissue_code(staff: User, registration_id: int) -> tuple[Registration, Slip]:
    """A new claim code for the family of a registration entered at the counter."""
    registration = db.session.get(Registration, registration_id)
    if (registration is None or registration.entered_by_user_id is None
            or not scope.may_see_school(staff, registration.school)):
        raise _registration_not_found()
    family = db.session.get(User, registration.submitted_by_user_id)
    if family is None or not _unclaimed(family):
        raise ApiError(409, "ALREADY_CLAIMED", "家长已在微信中认领此报名，无需再生成认领码")
    guardian = identity.require_guardian(family)
    slip = _slip(staff, family, guardian, registration.child, registration.school, utcnow())
    _audit_code(staff, family, registration.id, "reissued", object_type="registration")
    logger.info("claim code reissued staff_id=%s registration_id=%s", staff.id,
                registration.id)
    return registration, slip


# --- the family claims it from WeChat ----------------------------------------------------------


def _claim_code(code: str) -> ClaimCode:
    normal = _normalise(code)
    row = db.session.scalar(select(ClaimCode).where(
        ClaimCode.code_index == pii.blind_index(normal, CODE_PURPOSE)).with_for_update()
    ) if normal else None
    if row is None:
        raise ApiError(404, "CLAIM_CODE_NOT_FOUND",
                       "认领码不正确，请核对学校给您的纸条上的 8 位认领码")
    if row.claimed_at is not None:
        raise ApiError(410, "CLAIM_CODE_USED", "该认领码已使用过；如不是您本人认领，请联系报名学校")
    if row.expires_at <= utcnow():
        raise ApiError(410, "CLAIM_CODE_EXPIRED", "该认领码已过期，请联系报名学校重新生成")
    return row


def claim_family(user: User, code: str) -> Claimed:
    """Move the family a school entered (binding, children, registrations, documents,
    notices) to the caller's WeChat account; the code is used up."""
    row = _claim_code(code)
    family = db.session.get(User, row.family_user_id)
    guardian = identity.guardian_of(family) if family is not None else None
    if family is None or guardian is None or not _unclaimed(family):
        raise ApiError(410, "CLAIM_CODE_USED", "该认领码已使用过；如不是您本人认领，请联系报名学校")
    # One person, one binding: an account bound to someone (necessarily another ID
    # number: a number binds once) cannot take over this family.
    if identity.guardian_of(user) is not None:
        raise ApiError(409, "CLAIM_IDENTITY_CONFLICT",
                       "您的微信账号已实名登记为另一位家长，不能认领此报名。"
                       "请纸条上登记的家长用本人微信认领，或联系报名学校")
    now = utcnow()
    identity.transfer_binding(guardian, user.id)
    family.is_active = False
    row.claimed_at, row.claimed_by_user_id = now, user.id
    db.session.flush()
    child_ids = [c.id for c in guardian.children]
    moved = list(db.session.scalars(select(Registration).where(
        Registration.child_id.in_(child_ids), Registration.submitted_by_user_id == user.id)
        .order_by(Registration.id))) if child_ids else []
    record_audit(db.session, action="proxy.family_claimed", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="user", object_id=family.id,
                 details={"child_ids": child_ids,
                          "registration_ids": [r.id for r in moved]})
    logger.info("family claimed user_id=%s family_user_id=%s", user.id, family.id)
    return Claimed(registrations=moved, children=len(child_ids))
