"""Staff review: the queue in the caller's scope, one registration, its documents, decisions.

School staff see their own school's registrations and bureau admins their authority's;
anything else is 404, exactly like a registration that does not exist. Every decision goes
through the transition table (`registrations/transitions.py`), compare-and-set on the status
and version the reviewer saw, and writes its timeline event, its notice and its audit event
in the request's one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.audit.services import client_fingerprint, record_audit
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.pii import DecryptionError, mask_name
from backend.core.timeutil import local_iso, zone
from backend.identity.models import Child
from backend.notices.services import add_notice
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.registrations.requirements import (
    Requirement,
    all_verified,
    has_category,
    requirements_of,
)
from backend.registrations.transitions import (
    PREFERENTIAL_CATEGORIES,
    Action,
    Actor,
    StaleState,
    TransitionNotAllowed,
    allowed,
    apply,
    decisions_for,
    review_action,
)
from backend.reviews.reasons import NOTE_REQUIRED, REASONS
from backend.schools.models import Region, RegionLevel, School
from backend.seasons.models import Season
from backend.uploads import storage
from backend.uploads.models import Upload
from backend.verification.services import checks_for_children

logger = logging.getLogger(__name__)

DEFAULT_FIX_DAYS = 3
MAX_FIX_DAYS = 30
_NUMBER = re.compile(r"[0-9]{1,9}")  # an id; longer numbers are beyond the column's range
_TICKET = re.compile(r"[A-Za-z0-9_-]{6,40}")
# What mask_name shows: the first character, stars, and (three or more) the last one.
_MASKED_NAME = re.compile(r"[^*]\*+[^*]?")


@dataclass(frozen=True)
class Filters:
    """Filters of the staff list and the export (None: any)."""

    status: str | None = None
    basis: str | None = None
    category: str | None = None
    out_of_zone: bool | None = None
    town: str | None = None
    school: str | None = None
    year: int | None = None
    q: str | None = None
    verified: str | None = None  # "all": every requirement confirmed by a source

    @classmethod
    def of(cls, values: dict[str, Any]) -> Filters:
        """The filters among `values` (e.g. a validated query string), ignoring the rest."""
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    def used(self) -> dict[str, Any]:
        """The filters that were set (for the audit log)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _not_found() -> ApiError:
    return ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")


def actor_of(user: User) -> Actor:
    """The reviewer's side of the transition table."""
    if user.role is Role.SCHOOL_STAFF:
        return Actor.SCHOOL
    if user.role is Role.BUREAU_ADMIN:
        return Actor.BUREAU
    raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")


def _by_code_or_id(model: type[Region] | type[School], value: str) -> ColumnElement[bool]:
    condition = model.code == value
    if _NUMBER.fullmatch(value):
        condition = or_(condition, model.id == int(value))
    return condition


def resolve_school(user: User, value: str) -> School:
    """A school filter: one of the caller's (another school's code is 404 to school staff)."""
    school = db.session.scalar(select(School).where(
        _by_code_or_id(School, value), scope.covers_school(user, School.id)).limit(1))
    if school is None:
        raise scope.not_found()
    return school


def _resolve_town(user: User, value: str) -> Region:
    town = db.session.scalar(select(Region).where(
        _by_code_or_id(Region, value), scope.covers_authority(user, Region.authority_id),
        Region.level == RegionLevel.TOWN).limit(1))
    if town is None:
        raise ApiError(404, "TOWN_NOT_FOUND", "未找到该乡镇")
    return town


def _has_category(category: str) -> ColumnElement[bool]:
    keys = sorted(PREFERENTIAL_CATEGORIES) if category == "preferential" else [category]
    return or_(*(has_category(key) for key in keys))


def _search(q: str) -> ColumnElement[bool]:
    """Registration number, ticket, surname, or a masked name as staff see it (张*明)."""
    q = q.strip()
    conditions: list[ColumnElement[bool]] = []
    if _NUMBER.fullmatch(q):
        conditions.append(Registration.id == int(q))
    if _TICKET.fullmatch(q):
        conditions.append(Registration.ticket.like(_escape_like(q) + "%", escape="\\"))
    if _MASKED_NAME.fullmatch(q):
        # Only what the mask shows can be searched: one "_" per hidden character.
        conditions.append(Child.name.like(_escape_like(q).replace("*", "_"), escape="\\"))
    elif len(q) == 1 and not q.isascii():
        conditions.append(func.substr(Child.name, 1, 1) == q)
    return or_(*conditions) if conditions else false()


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def criteria(user: User, filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses for a query over Registration joined with Child and School."""
    where: list[ColumnElement[bool]] = [scope.covers_school(user, Registration.school_id)]
    if filters.status:
        where.append(Registration.status == RegistrationStatus(filters.status))
    if filters.basis:
        where.append(Registration.basis == Basis(filters.basis))
    if filters.category:
        where.append(_has_category(filters.category))
    if filters.out_of_zone is not None:
        where.append(Registration.out_of_zone.is_(filters.out_of_zone))
    if filters.school:
        where.append(Registration.school_id == resolve_school(user, filters.school).id)
    if filters.town:
        town = _resolve_town(user, filters.town)
        in_town = select(Region.id).where(or_(Region.parent_id == town.id, Region.id == town.id))
        # The town of the address the registration's basis names (户籍 or 实际居住地).
        where.append(or_(
            and_(Registration.basis == Basis.HUKOU, Child.hukou_region_id.in_(in_town)),
            and_(Registration.basis != Basis.HUKOU, Child.residence_region_id.in_(in_town))))
    if filters.year:
        where.append(Registration.season_id.in_(
            select(Season.id).where(Season.year == filters.year)))
    if filters.q:
        where.append(_search(filters.q))
    if filters.verified == "all":
        where.append(all_verified())
    elif filters.verified == "needs_documents":
        where.append(not_(all_verified()))
    return where


def registrations_query(user: User, filters: Filters) -> Select[Registration]:
    """Registrations in the caller's scope matching the filters, in id order.

    Ordered by id only: nothing here ranks by time (报名先后不影响录取).
    """
    return (select(Registration)
            .join(Child, Registration.child_id == Child.id)
            .join(School, Registration.school_id == School.id)
            .where(*criteria(user, filters))
            .order_by(Registration.id))


def list_registrations(user: User, filters: Filters, page: int,
                       per_page: int) -> tuple[list[Registration], int]:
    """One page of the queue and the total count."""
    stmt = registrations_query(user, filters)
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).with_only_columns(Registration.id).subquery())) or 0
    rows = db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page).options(
        selectinload(Registration.school), selectinload(Registration.season),
        selectinload(Registration.child).selectinload(Child.hukou_region)
        .selectinload(Region.parent),
        selectinload(Registration.child).selectinload(Child.residence_region)
        .selectinload(Region.parent)))
    return list(rows), total


def staff_registration(user: User, registration_id: int, *, lock: bool = False) -> Registration:
    """One registration in the caller's scope (404 otherwise); `lock` for a decision."""
    registration = db.session.get(Registration, registration_id, with_for_update=lock,
                                  populate_existing=lock)
    if registration is None or not scope.may_see_school(user, registration.school):
        raise _not_found()
    return registration


def decisions(user: User, registration: Registration) -> list[str]:
    """What the caller may decide on this registration now."""
    return decisions_for(registration.status, actor_of(user),
                         list(registration.child.categories or []))


def read_document(user: User, registration_id: int, upload_id: str,
                  client_address: str | None) -> tuple[Upload, bytes]:
    """A document of a registration in scope, decrypted; every read is audited."""
    registration = staff_registration(user, registration_id)
    upload = next((u for u in registration.uploads if u.id == upload_id), None)
    if upload is None or upload.purged_at is not None or upload.storage_name is None:
        raise ApiError(404, "UPLOAD_NOT_FOUND", "未找到该材料")
    try:
        data = storage.read_decrypted(upload.storage_name, upload.id)
    except (OSError, DecryptionError) as exc:
        logger.error("upload file unreadable upload_id=%s error=%s", upload.id,
                     type(exc).__name__)
        raise ApiError(404, "UPLOAD_NOT_FOUND", "未找到该材料") from exc
    record_audit(db.session, action="upload.view", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="upload", object_id=upload.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"registration_id": registration.id, "kind": upload.kind.value})
    return upload, data


# --- decisions ----------------------------------------------------------------------------


def default_fix_deadline(now: dt.datetime, zone_name: str | None = None) -> dt.datetime:
    """The end of the day DEFAULT_FIX_DAYS days from now, local time."""
    local_day = now.astimezone(zone(zone_name)).date() + dt.timedelta(days=DEFAULT_FIX_DAYS)
    return dt.datetime.combine(local_day, dt.time(23, 59, 59),
                               tzinfo=zone(zone_name)).astimezone(dt.UTC)


def _fix_deadline(given: dt.datetime | None, now: dt.datetime,
                  zone_name: str) -> dt.datetime:
    if given is None:
        return default_fix_deadline(now, zone_name)
    deadline = (given if given.tzinfo else given.replace(tzinfo=zone(zone_name))).astimezone(
        dt.UTC)
    if deadline <= now:
        raise ApiError(422, "FIX_DEADLINE_IN_PAST", "修改期限须晚于当前时间")
    if deadline > now + dt.timedelta(days=MAX_FIX_DAYS):
        raise ApiError(422, "FIX_DEADLINE_TOO_FAR", f"修改期限不能超过{MAX_FIX_DAYS}天")
    return deadline


def _check_reason(decision: str, reason_code: str | None, note: str | None,
                  fix_deadline: dt.datetime | None) -> None:
    if decision != "return" and fix_deadline is not None:
        raise ApiError(422, "FIX_DEADLINE_NOT_APPLICABLE", "只有退回修改时才能设置修改期限")
    if decision == "approve":
        if reason_code is not None:
            raise ApiError(422, "REASON_NOT_APPLICABLE", "审核通过不需要选择原因")
        return
    if reason_code is None:
        raise ApiError(422, "REASON_REQUIRED",
                       "请选择退回原因" if decision == "return" else "请选择不通过的原因")
    reason = REASONS.get(reason_code)
    if reason is None:
        raise ApiError(422, "UNKNOWN_REASON", "原因代码无效，请从标准原因中选择")
    if decision not in reason.decisions:
        raise ApiError(422, "REASON_NOT_APPLICABLE", "该原因不适用于此审核结果",
                       details={"decisions": list(reason.decisions)})
    if reason_code in NOTE_REQUIRED and not note:
        raise ApiError(422, "NOTE_REQUIRED", "选择“其他原因”时请填写说明")


def _reason_text(reason_code: str | None, note: str | None) -> str:
    label = REASONS[reason_code].label if reason_code in REASONS else ""
    return f"{label}：{note}" if label and note else (label or note or "")


def _notify(registration: Registration, action: Action, event_id: int,
            reason_code: str | None, note: str | None, zone_name: str) -> None:
    """The family's notice, in this transaction; none for a hand-over to the bureau.

    WeChat's one-time subscribe credits are scarce: a family is told what it must do (fix
    something) and the result, not each internal step (the timeline shows those).
    """
    data: dict[str, Any] = {"school": registration.school.name,
                            "child": mask_name(registration.child.name)}
    if action is Action.RETURN:
        template = "correction_requested"
        data |= {"reason": _reason_text(reason_code, note),
                 # ISO with the local offset; the sender writes it the way WeChat wants.
                 "deadline": local_iso(registration.fix_deadline, zone_name)}
    elif action is Action.APPROVE:
        template = "review_result"
        data |= {"result": "审核通过", "note": note or "请留意后续通知"}
    elif action is Action.REJECT:
        template = "review_result"
        data |= {"result": "未通过", "note": _reason_text(reason_code, note)}
    else:
        return
    add_notice(db.session(), user_id=registration.submitted_by_user_id, template_key=template,
               data=data, dedupe_key=f"registration.review:{registration.id}:{event_id}",
               page=f"pages/registrations/detail?id={registration.id}")


def _decide(user: User, registration: Registration, actor: Actor, decision: str, *,
            reason_code: str | None, note: str | None, fix_deadline: dt.datetime | None,
            zone_name: str, now: dt.datetime) -> Action:
    """One decision through the transition table, compare-and-set, with its timeline steps
    and the family's notice (sent after the commit); the caller audits it."""
    version = registration.version
    if allowed(registration.status, actor, Action.START_REVIEW):
        # 审核: the first decision on a submitted registration starts the review (one request,
        # two timeline steps), so the family sees when review began.
        apply(db.session(), registration, Action.START_REVIEW, actor, actor_user_id=user.id,
              expected_version=version, now=now)
        version = registration.version
    action = review_action(decision, actor, list(registration.child.categories or []))
    event = apply(db.session(), registration, action, actor, actor_user_id=user.id,
                  expected_version=version, reason_code=reason_code, note=note,
                  fix_deadline=fix_deadline, now=now)
    _notify(registration, action, event.id, reason_code, note, zone_name)
    return action


def review_registration(user: User, registration_id: int, *, decision: str,
                        reason_code: str | None, note: str | None,
                        fix_deadline: dt.datetime | None, expected_status: str,
                        expected_version: int | None, client_address: str | None,
                        now: dt.datetime | None = None) -> Registration:
    """Approve, return for correction or reject, from the state the reviewer saw."""
    now = now or utcnow()
    registration = staff_registration(user, registration_id, lock=True)
    if registration.status.value != expected_status or (
            expected_version is not None and expected_version != registration.version):
        raise StaleState()
    actor = actor_of(user)
    categories = list(registration.child.categories or [])
    if decision not in decisions_for(registration.status, actor, categories):
        raise TransitionNotAllowed(registration.status)
    note = (note or "").strip() or None
    _check_reason(decision, reason_code, note, fix_deadline)
    zone_name = registration.school.authority.timezone
    deadline = _fix_deadline(fix_deadline, now, zone_name) if decision == "return" else None

    before = registration.status
    _decide(user, registration, actor, decision, reason_code=reason_code, note=note,
            fix_deadline=deadline, zone_name=zone_name, now=now)
    record_audit(db.session, action="registration.review", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="registration",
                 object_id=registration.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"decision": decision, "from": before.value,
                          "to": registration.status.value, "reason_code": reason_code,
                          "version": registration.version})
    logger.info("registration reviewed registration_id=%s actor_user_id=%s decision=%s "
                "status=%s", registration.id, user.id, decision, registration.status.value)
    return registration


# --- data checks: requirements, and approving what sources confirmed ----------------------


def requirements(registration: Registration) -> list[Requirement]:
    """Each requirement of the registration: verified by a source, uploaded, or missing."""
    checks = checks_for_children([registration.child_id]).get(registration.child_id, [])
    return requirements_of(registration, checks)


def all_verified_ids(registration_ids: list[int]) -> set[int]:
    """Which of these registrations have every requirement confirmed by a source."""
    if not registration_ids:
        return set()
    return set(db.session.scalars(
        select(Registration.id).join(Child, Registration.child_id == Child.id)
        .where(Registration.id.in_(registration_ids), all_verified())))


MAX_BATCH = 500
# Why a registration named or found was not approved (code → what the reviewer reads).
SKIP_REASONS = {
    "NOT_FOUND": "未找到该报名记录",
    "STALE_STATE": "该报名已被他人处理或家长已修改",
    "NOT_ALL_VERIFIED": "尚有材料未经核验，需逐条审核",
    "OUTSIDE_FILTER": "不在本次筛选范围内",
    "NOT_REVIEWABLE": "该报名当前状态不能由您通过",
}


@dataclass(frozen=True)
class BatchFilter:
    """Which registrations a batch approval is about (always: all verified)."""

    school: str | None = None
    season_id: int | None = None
    year: int | None = None


@dataclass
class BatchResult:
    """What a batch approval did (or, dry run, would do)."""

    approved: list[int]
    forwarded: list[int]  # special groups a school approved: the bureau reviews them next
    skipped: list[tuple[int, str]]  # (registration id, reason code)
    candidates: list[tuple[int, int]]  # (id, version) a dry run would approve
    more: bool  # more than MAX_BATCH matched: run it again for the rest
    dry_run: bool = False
    replayed: bool = False


def _approvable(actor: Actor) -> list[RegistrationStatus]:
    # From the transition table: the statuses this reviewer's approval moves on.
    return [s for s in RegistrationStatus if "approve" in decisions_for(s, actor, [])]


def _batch_key(user: User, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{user.id}:{idempotency_key}".encode()).hexdigest()
    return f"batch-approve:{digest[:50]}"


def _replay(event_key: str) -> BatchResult | None:
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_key == event_key))
    if event is None:
        return None
    d = event.details
    return BatchResult(approved=list(d.get("approved_ids", [])),
                       forwarded=list(d.get("forwarded_ids", [])),
                       skipped=[(int(i), str(r)) for i, r in d.get("skipped", [])],
                       candidates=[], more=bool(d.get("more")), replayed=True)


def batch_approve(user: User, where: BatchFilter, *, items: list[tuple[int, int]] | None,
                  dry_run: bool, note: str | None, idempotency_key: str | None,
                  client_address: str | None, now: dt.datetime | None = None) -> BatchResult:
    """Approve the registrations in the caller's scope whose every requirement a source
    confirmed and that the caller may approve now, each through the transition table
    (compare-and-set, timeline, notice after the commit), with ONE audit row for the action.

    `items` (id, version) are what the reviewer saw: anything changed since is skipped.
    A repeat approves nothing twice: approved ones are no longer approvable, and the same
    Idempotency-Key answers what the first request did.
    """
    now = now or utcnow()
    actor = actor_of(user)
    event_key = _batch_key(user, idempotency_key) if idempotency_key else None
    if event_key and not dry_run:
        replayed = _replay(event_key)
        if replayed is not None:
            return replayed
    filters = Filters(school=where.school, year=where.year, verified="all")
    season = scope.season(user, where.season_id) if where.season_id is not None else None
    matching = registrations_query(user, filters).where(
        Registration.status.in_(_approvable(actor)))
    if season is not None:
        matching = matching.where(Registration.season_id == season.id)
    skipped: list[tuple[int, str]] = []
    more = False
    if items is not None:
        versions = dict(items)
        # Locked in id order (two batches never wait on each other in a cycle).
        found = {r.id: r for r in db.session.scalars(
            select(Registration).where(Registration.id.in_(list(versions)),
                                       scope.covers_school(user, Registration.school_id))
            .order_by(Registration.id).with_for_update(of=Registration)
            .execution_options(populate_existing=True))}
        eligible = set(db.session.scalars(matching.with_only_columns(Registration.id).where(
            Registration.id.in_(list(found))).order_by(None)))
        verified = all_verified_ids(list(found))
        chosen = []
        for registration_id in sorted(versions):
            registration = found.get(registration_id)
            if registration is None:
                skipped.append((registration_id, "NOT_FOUND"))
            elif registration.version != versions[registration_id]:
                skipped.append((registration_id, "STALE_STATE"))
            elif registration_id not in verified:
                skipped.append((registration_id, "NOT_ALL_VERIFIED"))
            elif registration_id not in eligible:
                reason = ("NOT_REVIEWABLE" if registration.status not in _approvable(actor)
                          else "OUTSIDE_FILTER")
                skipped.append((registration_id, reason))
            else:
                chosen.append(registration)
    else:
        chosen = list(db.session.scalars(
            matching.limit(MAX_BATCH + 1).with_for_update(of=Registration)
            .execution_options(populate_existing=True)))
        more = len(chosen) > MAX_BATCH
        chosen = chosen[:MAX_BATCH]
    if dry_run:
        return BatchResult(approved=[], forwarded=[], skipped=skipped, more=more, dry_run=True,
                           candidates=[(r.id, r.version) for r in chosen])

    approved: list[int] = []
    forwarded: list[int] = []
    note = (note or "").strip() or None
    for registration in chosen:
        # The same move as one approval: a special group's goes on to the bureau (BUREAU_REVIEW).
        action = _decide(user, registration, actor, "approve", reason_code=None, note=note,
                         fix_deadline=None, zone_name=registration.school.authority.timezone,
                         now=now)
        (forwarded if action is Action.FORWARD else approved).append(registration.id)
    record_audit(db.session, action="registration.batch_approve", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="registration_batch",
                 client_fingerprint=client_fingerprint(client_address), event_key=event_key,
                 details={"filter": {"verified": "all", **{
                              k: v for k, v in asdict(where).items() if v is not None}},
                          "named": len(items) if items is not None else None,
                          "approved": len(approved), "forwarded": len(forwarded),
                          "skipped_by_reason": dict(Counter(r for _i, r in skipped)),
                          "approved_ids": approved, "forwarded_ids": forwarded,
                          "skipped": [[i, r] for i, r in skipped], "more": more})
    logger.info("registrations batch-approved actor_user_id=%s approved=%s forwarded=%s "
                "skipped=%s", user.id, len(approved), len(forwarded), len(skipped))
    return BatchResult(approved=approved, forwarded=forwarded, skipped=skipped,
                       candidates=[], more=more)
