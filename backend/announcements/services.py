"""Announcements: drafts, the content check, publication, withdrawal and the public list.

阳光招生 (BRIEF §2 rule 8): policy, zones, conditions, materials, process and time points,
contacts, the complaint channel and petition address, the implementation plan and the
new-student list are published here, by the bureau for the county and by each school.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from backend.accounts import scope
from backend.accounts.models import User
from backend.announcements.models import (
    Announcement,
    AnnouncementCategory,
    AnnouncementStatus,
)
from backend.audit.services import record_audit
from backend.authorities.services import resolve_authority
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.jobs import enqueue_after_commit
from backend.schools.models import School
from backend.seasons.services import current_season
from backend.uploads import services as uploads
from backend.uploads.models import Upload, UploadKind
from backend.wechat.client import WeChatError, WeChatUnavailable, wechat

logger = logging.getLogger(__name__)

S = AnnouncementStatus
FANOUT_JOB = "announcement.fanout"
MAX_ATTACHMENTS = 10
# msg_sec_check v2 takes at most 2,500 characters: longer text is checked in overlapping
# pieces, so a word cut by a piece boundary is still seen whole in the next piece.
SEC_CHECK_CHARS = 2500
SEC_CHECK_OVERLAP = 50
# scene 3 (论坛): text published to everyone.
SEC_CHECK_SCENE = 3

# Every move an announcement can make: action → (states it may start from, state it ends
# in). None: decided by the content check and publish_at (published, scheduled or held).
# A scheduled announcement whose time has come counts as published (see effective_status).
TRANSITIONS: dict[str, tuple[frozenset[AnnouncementStatus], AnnouncementStatus | None]] = {
    "edit": (frozenset({S.DRAFT, S.REJECTED, S.HELD, S.SCHEDULED}), S.DRAFT),
    "publish": (frozenset({S.DRAFT}), None),
    "release": (frozenset({S.HELD}), None),
    "reject": (frozenset({S.HELD}), S.REJECTED),
    "withdraw": (frozenset({S.DRAFT, S.REJECTED, S.HELD, S.SCHEDULED, S.PUBLISHED}),
                 S.WITHDRAWN),
    # Run by `flask announcements publish-due` on scheduled ones whose time has come.
    "publish_due": (frozenset({S.SCHEDULED}), S.PUBLISHED),
}

CHECK_MESSAGES = {
    "pass": "内容安全检测通过",
    "review": "内容安全检测建议人工审核，需教育局管理员审核后发布",
    "risky": "内容安全检测发现风险内容，需教育局管理员审核",
    "unavailable": "微信内容安全检测暂时不可用，需教育局管理员审核后发布",
    "unchecked": "未配置内容安全检测账号，需教育局管理员审核后发布",
    "error": "内容安全检测未能完成，需教育局管理员审核后发布",
}


def _not_found() -> ApiError:
    return ApiError(404, "ANNOUNCEMENT_NOT_FOUND", "未找到该公告")


# --- states ---------------------------------------------------------------------------


def effective_status(announcement: Announcement,
                     now: dt.datetime | None = None) -> AnnouncementStatus:
    """The status as the public sees it: a scheduled announcement is published once due."""
    now = now or utcnow()
    if (announcement.status is S.SCHEDULED and announcement.publish_at is not None
            and announcement.publish_at <= now):
        return S.PUBLISHED
    return announcement.status


def _visible(now: dt.datetime) -> ColumnElement[bool]:
    # Published, or scheduled and due: the public sees it from publish_at to the second,
    # whether or not `flask announcements publish-due` has run yet.
    return and_(Announcement.status.in_([S.PUBLISHED, S.SCHEDULED]),
                Announcement.publish_at <= now)


def _status_filter(status: AnnouncementStatus, now: dt.datetime) -> ColumnElement[bool]:
    if status is S.PUBLISHED:
        return _visible(now)
    if status is S.SCHEDULED:
        return and_(Announcement.status == S.SCHEDULED, Announcement.publish_at > now)
    return Announcement.status == status


def _move(announcement: Announcement, action: str, now: dt.datetime) -> AnnouncementStatus:
    """Check the transition table; returns the fixed target (or the current state if None)."""
    sources, target = TRANSITIONS[action]
    current = effective_status(announcement, now)
    if current not in sources:
        raise ApiError(409, "ANNOUNCEMENT_STATE_CONFLICT", "公告当前状态不允许此操作，请刷新后重试",
                       details={"status": current.value, "action": action})
    return target or current


# --- content rules and the WeChat content check ----------------------------------------


def _refuse_personal_data(*texts: str) -> None:
    # Published lists leak when they carry ID or mobile numbers (BRIEF §5); the new-student
    # list is published masked, contacts use office numbers.
    if any(pii.mask_free_text(text) != text for text in texts):
        raise ApiError(422, "PERSONAL_DATA_IN_TEXT",
                       "公告不能包含完整的身份证号或手机号，请删除或打码后再提交（咨询电话请使用办公电话）")


@dataclass(frozen=True)
class ContentVerdict:
    """What the content check said: a result word and WeChat's label (or errcode)."""

    result: str
    label: int | None

    @property
    def passed(self) -> bool:
        """Only a clean pass publishes without an admin."""
        return self.result == "pass"


def _pieces(text: str) -> list[str]:
    step = SEC_CHECK_CHARS - SEC_CHECK_OVERLAP
    return [text[start:start + SEC_CHECK_CHARS]
            for start in range(0, max(len(text) - SEC_CHECK_OVERLAP, 1), step)]


def check_content(title: str, body: str) -> ContentVerdict:
    """Run WeChat msg_sec_check v2 over title and body; anything but a pass holds it."""
    openid = current_app.config.get("CONTENT_CHECK_OPENID") or ""
    if not openid:
        return ContentVerdict("unchecked", None)
    try:
        for number, piece in enumerate(_pieces(body)):
            result = wechat.msg_sec_check(openid=openid, content=piece, scene=SEC_CHECK_SCENE,
                                          title=title if number == 0 else None)
            if result.suggest != "pass":
                suggest = result.suggest if result.suggest in ("review", "risky") else "review"
                return ContentVerdict(suggest, result.label)
    except WeChatUnavailable:
        return ContentVerdict("unavailable", None)
    except WeChatError as exc:
        # 40003: the checking account has not opened the mini-program in the last two hours.
        logger.warning("content check failed errcode=%s", exc.errcode)
        return ContentVerdict("error", exc.errcode)
    return ContentVerdict("pass", None)


# --- scope -----------------------------------------------------------------------------


def _scoped(user: User) -> Select[Announcement]:
    # School staff: their own school's announcements only; bureau admins: their authority's.
    return select(Announcement).where(
        scope.covers_owner(user, Announcement.school_id, Announcement.authority_id))


def staff_announcement(user: User, announcement_id: int, *, lock: bool = False) -> Announcement:
    """One announcement the caller may manage (anything else: 404, like a missing one)."""
    stmt = _scoped(user).where(Announcement.id == announcement_id)
    if lock:
        stmt = stmt.with_for_update()
    announcement = db.session.scalar(stmt.execution_options(populate_existing=True))
    if announcement is None:
        raise _not_found()
    return announcement


def _target_school(user: User, school_code: str | None) -> School | None:
    """The school a new announcement belongs to (None: the county's own)."""
    if scope.is_school_staff(user) or school_code is not None:
        return scope.school_or_own(user, school_code)
    return None


def _audit(user: User | None, action: str, announcement: Announcement, **details: object) -> None:
    record_audit(db.session, action=action, actor_user_id=user.id if user else None,
                 actor_role=user.role.value if user else "system",
                 object_type="announcement", object_id=announcement.id,
                 details={"school_id": announcement.school_id, **details})


# --- staff actions ----------------------------------------------------------------------


def create_announcement(user: User, *, school_code: str | None, category: str, title: str,
                        body: str, publish_at: dt.datetime | None) -> Announcement:
    """A new draft of the caller's school (school staff) or of the county or a school (bureau)."""
    school = _target_school(user, school_code)
    _refuse_personal_data(title, body)
    announcement = Announcement(
        authority_id=scope.authority_id(user), school_id=school.id if school else None,
        category=AnnouncementCategory(category), title=title.strip(), body=body,
        status=S.DRAFT, publish_at=publish_at, created_by_user_id=user.id)
    db.session.add(announcement)
    db.session.flush()
    _audit(user, "announcement.create", announcement)
    logger.info("announcement drafted announcement_id=%s user_id=%s", announcement.id, user.id)
    return announcement


def edit_announcement(user: User, announcement_id: int, changes: dict[str, object]) -> Announcement:
    """Change a draft, rejected, held or not-yet-due scheduled one; it becomes a draft again."""
    announcement = staff_announcement(user, announcement_id, lock=True)
    now = utcnow()
    announcement.status = _move(announcement, "edit", now)
    if "category" in changes and changes["category"] is not None:
        announcement.category = AnnouncementCategory(changes["category"])
    if changes.get("title") is not None:
        announcement.title = str(changes["title"]).strip()
    if changes.get("body") is not None:
        announcement.body = str(changes["body"])
    if "publish_at" in changes:
        publish_at = changes["publish_at"]
        announcement.publish_at = publish_at if isinstance(publish_at, dt.datetime) else None
    _refuse_personal_data(announcement.title, announcement.body)
    # The text changed: the last check and review no longer apply to it.
    announcement.check_result = announcement.check_label = None
    _audit(user, "announcement.edit", announcement, fields=sorted(changes))
    return announcement


def _make_public(announcement: Announcement, now: dt.datetime) -> None:
    """Scheduled when publish_at is still ahead; otherwise published now and fanned out."""
    if announcement.publish_at is not None and announcement.publish_at > now:
        announcement.status = S.SCHEDULED
        return
    announcement.status = S.PUBLISHED
    announcement.publish_at = now
    fan_out_after_commit(announcement)


def fan_out_after_commit(announcement: Announcement) -> None:
    """Queue the in-app/WeChat notices to the families concerned, once the change commits."""
    try:
        season = current_season(announcement.authority_id)
    except ApiError:
        return  # no season: no families to tell
    enqueue_after_commit(FANOUT_JOB, {"announcement_id": announcement.id,
                                      "season_id": season.id})


def publish_announcement(user: User, announcement_id: int) -> Announcement:
    """Check the text with WeChat, then publish (or schedule); any doubt holds it for an admin."""
    announcement = staff_announcement(user, announcement_id, lock=True)
    now = utcnow()
    _move(announcement, "publish", now)
    verdict = check_content(announcement.title, announcement.body)
    announcement.check_result, announcement.check_label = verdict.result, verdict.label
    announcement.reviewed_by_user_id = announcement.review_note = None
    if verdict.passed:
        _make_public(announcement, now)
    else:
        announcement.status = S.HELD
    _audit(user, "announcement.publish", announcement, status=announcement.status.value,
           check=verdict.result, label=verdict.label)
    logger.info("announcement publish announcement_id=%s status=%s check=%s",
                announcement.id, announcement.status.value, verdict.result)
    return announcement


def release_announcement(admin: User, announcement_id: int, note: str) -> Announcement:
    """An admin of the authority publishes a held announcement after reading it."""
    announcement = staff_announcement(admin, announcement_id, lock=True)
    now = utcnow()
    _move(announcement, "release", now)
    announcement.reviewed_by_user_id = admin.id
    announcement.review_note = note or None
    _make_public(announcement, now)
    _audit(admin, "announcement.release", announcement, status=announcement.status.value,
           check=announcement.check_result)
    return announcement


def reject_announcement(admin: User, announcement_id: int, note: str) -> Announcement:
    """An admin refuses a held announcement; its author may edit it and try again."""
    announcement = staff_announcement(admin, announcement_id, lock=True)
    announcement.status = _move(announcement, "reject", utcnow())
    announcement.reviewed_by_user_id = admin.id
    announcement.review_note = note
    _audit(admin, "announcement.reject", announcement, check=announcement.check_result)
    return announcement


def withdraw_announcement(user: User, announcement_id: int, note: str) -> Announcement:
    """Take an announcement off the public list; the record stays."""
    announcement = staff_announcement(user, announcement_id, lock=True)
    now = utcnow()
    previous = effective_status(announcement, now)
    announcement.status = _move(announcement, "withdraw", now)
    announcement.withdrawn_at = now
    _audit(user, "announcement.withdraw", announcement, previous=previous.value,
           note=note or None)
    return announcement


def publish_due(now: dt.datetime | None = None) -> list[int]:
    """Mark scheduled announcements whose time has come as published and fan them out."""
    now = now or utcnow()
    sources, _ = TRANSITIONS["publish_due"]
    due = list(db.session.scalars(
        select(Announcement).where(Announcement.status.in_(sources),
                                   Announcement.publish_at <= now)
        .order_by(Announcement.id).with_for_update(skip_locked=True)))
    for announcement in due:
        announcement.status = S.PUBLISHED
        _audit(None, "announcement.publish_due", announcement)
        fan_out_after_commit(announcement)
    return [a.id for a in due]


# --- attachments ------------------------------------------------------------------------


def add_attachment(user: User, announcement_id: int, data: bytes) -> Announcement:
    """Store a PDF or image (cleaned like every upload) and attach it; it becomes a draft."""
    announcement = staff_announcement(user, announcement_id, lock=True)
    announcement.status = _move(announcement, "edit", utcnow())
    if len(announcement.attachments) >= MAX_ATTACHMENTS:
        raise ApiError(409, "TOO_MANY_ATTACHMENTS", f"每条公告最多 {MAX_ATTACHMENTS} 个附件")
    upload = uploads.create_upload(user.id, UploadKind.OTHER, data)
    announcement.attachments.append(upload)
    announcement.check_result = announcement.check_label = None
    _audit(user, "announcement.edit", announcement, attachment_added=upload.id)
    return announcement


def remove_attachment(user: User, announcement_id: int, upload_id: str) -> Announcement:
    """Detach and delete an attachment; the announcement becomes a draft again."""
    announcement = staff_announcement(user, announcement_id, lock=True)
    announcement.status = _move(announcement, "edit", utcnow())
    upload = _attachment(announcement, upload_id)
    announcement.attachments.remove(upload)
    db.session.flush()
    uploads.delete_upload(upload.owner_user_id, upload.id)
    _audit(user, "announcement.edit", announcement, attachment_removed=upload_id)
    return announcement


def _attachment(announcement: Announcement, upload_id: str) -> Upload:
    upload = next((u for u in announcement.attachments if u.id == upload_id), None)
    if upload is None:
        raise ApiError(404, "UPLOAD_NOT_FOUND", "附件不存在或已删除")
    return upload


def staff_attachment(user: User, announcement_id: int, upload_id: str) -> tuple[Upload, bytes]:
    """An attachment of an announcement the caller manages, in any state."""
    upload = _attachment(staff_announcement(user, announcement_id), upload_id)
    return upload, uploads.stored_bytes(upload)


def public_attachment(announcement_id: int, upload_id: str) -> tuple[Upload, bytes]:
    """An attachment of a published announcement, for anyone."""
    upload = _attachment(public_announcement(announcement_id), upload_id)
    return upload, uploads.stored_bytes(upload)


# --- lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of announcements and the total that match."""

    items: list[Announcement]
    total: int


def _page(stmt: Select[Announcement], page: int, page_size: int,
          *order: ColumnElement[Any]) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.options(selectinload(Announcement.school), selectinload(Announcement.attachments),
                     selectinload(Announcement.authority))
        .order_by(*order, Announcement.id.desc())
        .offset((page - 1) * page_size).limit(page_size))
    return Page(items=list(items), total=total)


def _level(stmt: Select[Announcement], level: str | None) -> Select[Announcement]:
    if level == "county":
        return stmt.where(Announcement.school_id.is_(None))
    if level == "school":
        return stmt.where(Announcement.school_id.is_not(None))
    return stmt


def public_announcements(*, authority: str | None, school: str | None, category: str | None,
                         level: str | None, page: int, page_size: int) -> Page:
    """Published announcements; with a school: that school's and its county's, newest first."""
    stmt = select(Announcement).where(_visible(utcnow()))
    if school is not None:
        found = db.session.scalar(select(School).where(School.code == school))
        if found is None:
            raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校")
        # Families who scan a school's QR code need the county's policy as well.
        stmt = stmt.where(or_(
            Announcement.school_id == found.id,
            and_(Announcement.school_id.is_(None),
                 Announcement.authority_id == found.authority_id)))
    else:
        stmt = stmt.where(Announcement.authority_id == resolve_authority(authority).id)
    if category is not None:
        stmt = stmt.where(Announcement.category == AnnouncementCategory(category))
    return _page(_level(stmt, level), page, page_size, Announcement.publish_at.desc())


def public_announcement(announcement_id: int) -> Announcement:
    """One published announcement (drafts, held and withdrawn ones: 404)."""
    announcement = db.session.scalar(select(Announcement).where(
        Announcement.id == announcement_id, _visible(utcnow())))
    if announcement is None:
        raise _not_found()
    return announcement


def staff_announcements(user: User, *, status: str | None, school: str | None,
                        category: str | None, level: str | None, page: int,
                        page_size: int) -> Page:
    """Announcements the caller manages, in every state, newest first."""
    stmt = _scoped(user)
    if status is not None:
        stmt = stmt.where(_status_filter(AnnouncementStatus(status), utcnow()))
    if school is not None:
        stmt = stmt.join(School, School.id == Announcement.school_id).where(School.code == school)
    if category is not None:
        stmt = stmt.where(Announcement.category == AnnouncementCategory(category))
    return _page(_level(stmt, level), page, page_size)
