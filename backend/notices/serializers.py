"""Notices as the API shows them: the inbox renders each from its template key and data."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from backend.core import pii
from backend.core.timeutil import local_iso
from backend.identity.models import Guardian
from backend.identity.services import GUARDIAN_PHONE
from backend.notices.models import Notice, NoticeStatus
from backend.notices.schemas import (
    STATUS_NAMES,
    FamilyOut,
    NoticeLine,
    NoticeOut,
    StaffNoticeOut,
    SubscriptionList,
    SubscriptionOut,
    TemplateList,
    TemplateOut,
)
from backend.notices.templates import Template, inbox_text


def notice_out(notice: Notice, zone: ZoneInfo) -> NoticeOut:
    """A notice with its Chinese title and body lines, times in the display zone."""
    title, lines = inbox_text(notice.template_key, notice.data or {}, zone)
    return NoticeOut(
        id=notice.id, template_key=notice.template_key, title=title,
        body="\n".join(f"{label}：{value}" for label, value in lines),
        lines=[NoticeLine(label=label, value=value) for label, value in lines],
        page=notice.page, created_at=local_iso(notice.created_at, zone.key) or "",
        read=notice.read_at is not None, wechat_sent=notice.status is NoticeStatus.SENT,
    )


def templates_out(templates: list[Template]) -> TemplateList:
    """The templates the mini-program asks the parent to subscribe to."""
    return TemplateList(items=[TemplateOut(key=t.key, template_id=t.template_id,  # type: ignore[arg-type]
                                           title=t.title) for t in templates])


def credits_out(credits: list[tuple[Template, int]]) -> SubscriptionList:
    """Remaining one-time credits per template key."""
    return SubscriptionList(items=[SubscriptionOut(
        key=t.key, template_id=t.template_id, title=t.title, credits=n)  # type: ignore[arg-type]
        for t, n in credits])


def staff_notice_out(notice: Notice, guardian: Guardian | None, zone: ZoneInfo) -> StaffNoticeOut:
    """A notice for the bureau's delivery view: the family masked, never in full."""
    title, _lines = inbox_text(notice.template_key, notice.data or {}, zone)
    data = notice.data or {}
    phone = pii.decrypt(guardian.phone_enc, GUARDIAN_PHONE) \
        if guardian is not None and guardian.phone_enc else None
    return StaffNoticeOut(
        id=notice.id, template_key=notice.template_key, title=title,
        status=notice.status.value, status_name=STATUS_NAMES[notice.status.value],
        attempts=notice.attempts, last_error=notice.last_error,
        school=str(data["school"]) if data.get("school") else None,
        # Notices carry the child's name masked already (docs/NOTICES.md); mask it again
        # in case a writer did not.
        child=pii.mask_name(str(data["child"])) if data.get("child") else None,
        created_at=local_iso(notice.created_at, zone.key) or "",
        sent_at=local_iso(notice.sent_at, zone.key), read=notice.read_at is not None,
        family=FamilyOut(user_id=notice.user_id,
                         guardian_name=pii.mask_name(guardian.name) if guardian else None,
                         guardian_phone=pii.mask_phone(phone) if phone else None),
    )
