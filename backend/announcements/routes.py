"""Announcements API: the public list and detail; staff drafts, publication and review."""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.announcements import services
from backend.announcements.models import Announcement
from backend.announcements.schemas import (
    CATEGORY_NAMES,
    STATUS_NAMES,
    AnnouncementAttachment,
    AnnouncementIn,
    AnnouncementList,
    AnnouncementNoteIn,
    AnnouncementOut,
    AnnouncementPatch,
    AnnouncementQuery,
    AnnouncementRejectIn,
    AnnouncementSchool,
    AnnouncementSummary,
    ContentCheckOut,
    StaffAnnouncementList,
    StaffAnnouncementOut,
    StaffAnnouncementQuery,
)
from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.db import commit
from backend.core.errors import ApiError
from backend.core.timeutil import local_iso
from backend.uploads import services as uploads
from backend.uploads.models import Upload
from backend.uploads.responses import document_response

bp = Blueprint("announcements", __name__, url_prefix="/api/v1")

STAFF_TAGS = ("staff-announcements",)


@bp.teardown_request
def _discard_uncommitted_files(_exc: BaseException | None) -> None:
    # An attachment written by a request whose commit failed must not stay on disk.
    uploads.discard_uncommitted_files()


# --- serialising ------------------------------------------------------------------------


def _attachments(announcement: Announcement, *, public: bool) -> list[AnnouncementAttachment]:
    base = f"/api/v1/{'' if public else 'staff/'}announcements/{announcement.id}/attachments/"
    return [AnnouncementAttachment(upload_id=u.id, content_type=u.content_type, size=u.size,
                          sha256=u.sha256, url=base + u.id) for u in announcement.attachments]


def _common(announcement: Announcement) -> dict[str, Any]:
    school = announcement.school
    return {
        "id": announcement.id, "level": "school" if school else "county",
        "authority": announcement.authority.code,
        "school": AnnouncementSchool(code=school.code, name=school.name) if school else None,
        "category": announcement.category.value,
        "category_name": CATEGORY_NAMES[announcement.category.value],
        "title": announcement.title,
    }


def _summary(announcement: Announcement) -> AnnouncementSummary:
    return AnnouncementSummary(**_common(announcement),
                               published_at=local_iso(announcement.publish_at) or "",
                               attachment_count=len(announcement.attachments))


def _public_out(announcement: Announcement) -> AnnouncementOut:
    return AnnouncementOut(**_summary(announcement).model_dump(), body=announcement.body,
                           attachments=_attachments(announcement, public=True))


def _staff_out(announcement: Announcement) -> StaffAnnouncementOut:
    status = services.effective_status(announcement).value
    check = announcement.check_result
    return StaffAnnouncementOut(
        **_common(announcement), body=announcement.body, status=status,  # type: ignore[arg-type]
        status_name=STATUS_NAMES[status], publish_at=local_iso(announcement.publish_at),
        withdrawn_at=local_iso(announcement.withdrawn_at),
        content_check=ContentCheckOut(result=check, label=announcement.check_label,
                                      message=services.CHECK_MESSAGES.get(check or "")),
        review_note=announcement.review_note,
        created_by_user_id=announcement.created_by_user_id,
        reviewed_by_user_id=announcement.reviewed_by_user_id,
        created_at=local_iso(announcement.created_at) or "",
        updated_at=local_iso(announcement.updated_at) or "",
        attachments=_attachments(announcement, public=False),
    )


def _file(upload: Upload, data: bytes, cache: str) -> Response:
    return document_response(upload, data, cache)


# --- public -----------------------------------------------------------------------------


@bp.get("/announcements")
@api(query=AnnouncementQuery, response=AnnouncementList, errors=(404,))
def list_announcements(query: AnnouncementQuery) -> AnnouncementList:
    """Published announcements (`?school=` adds the county's to the school's), newest first."""
    page = services.public_announcements(
        authority=query.authority, school=query.school, category=query.category,
        level=query.level, page=query.page, page_size=query.page_size)
    return AnnouncementList(items=[_summary(a) for a in page.items], total=page.total,
                            page=query.page, page_size=query.page_size)


@bp.get("/announcements/<int:announcement_id>")
@api(response=AnnouncementOut, errors=(404,))
def get_announcement(announcement_id: int) -> AnnouncementOut:
    """One published announcement with its text and attachments."""
    return _public_out(services.public_announcement(announcement_id))


@bp.get("/announcements/<int:announcement_id>/attachments/<upload_id>")
@api(errors=(404,), produces="*/*")
def get_public_attachment(announcement_id: int, upload_id: str) -> Response:
    """An attachment (PDF or image) of a published announcement."""
    upload, data = services.public_attachment(announcement_id, upload_id[:64])
    # Public and unchanging, but a withdrawal must take effect: a short shared cache only.
    return _file(upload, data, "public, max-age=300")


# --- staff ------------------------------------------------------------------------------


@bp.post("/staff/announcements")
@require_roles(*STAFF)
@api(body=AnnouncementIn, response=StaffAnnouncementOut, status=201, errors=(404, 422),
     tags=STAFF_TAGS)
def create_announcement(body: AnnouncementIn) -> StaffAnnouncementOut:
    """A draft: school staff for their school; the bureau for the county or any of its schools."""
    return _staff_out(services.create_announcement(
        current_user(), school_code=body.school_code, category=body.category,
        title=body.title, body=body.body, publish_at=body.publish_at))


@bp.get("/staff/announcements")
@require_roles(*STAFF)
@api(query=StaffAnnouncementQuery, response=StaffAnnouncementList, tags=STAFF_TAGS)
def list_staff_announcements(query: StaffAnnouncementQuery) -> StaffAnnouncementList:
    """Announcements the caller manages, in every state (`?status=held` for the review queue)."""
    page = services.staff_announcements(
        current_user(), status=query.status, school=query.school, category=query.category,
        level=query.level, page=query.page, page_size=query.page_size)
    return StaffAnnouncementList(items=[_staff_out(a) for a in page.items], total=page.total,
                                 page=query.page, page_size=query.page_size)


@bp.get("/staff/announcements/<int:announcement_id>")
@require_roles(*STAFF)
@api(response=StaffAnnouncementOut, errors=(404,), tags=STAFF_TAGS)
def get_staff_announcement(announcement_id: int) -> StaffAnnouncementOut:
    """One announcement the caller manages."""
    return _staff_out(services.staff_announcement(current_user(), announcement_id))


@bp.patch("/staff/announcements/<int:announcement_id>")
@require_roles(*STAFF)
@api(body=AnnouncementPatch, response=StaffAnnouncementOut, errors=(404, 409, 422),
     tags=STAFF_TAGS)
def edit_announcement(announcement_id: int, body: AnnouncementPatch) -> StaffAnnouncementOut:
    """Change an unpublished (or not yet due) announcement; it becomes a draft again."""
    return _staff_out(services.edit_announcement(
        current_user(), announcement_id, body.model_dump(exclude_unset=True)))


@bp.post("/staff/announcements/<int:announcement_id>/publish")
@require_roles(*STAFF)
@api(response=StaffAnnouncementOut, errors=(404, 409), tags=STAFF_TAGS)
def publish_announcement(announcement_id: int) -> StaffAnnouncementOut:
    """WeChat content check, then published (or scheduled); review/risky/unavailable: held."""
    return _staff_out(services.publish_announcement(current_user(), announcement_id))


@bp.post("/staff/announcements/<int:announcement_id>/withdraw")
@require_roles(*STAFF)
@api(body=AnnouncementNoteIn, response=StaffAnnouncementOut, errors=(404, 409), tags=STAFF_TAGS)
def withdraw_announcement(announcement_id: int, body: AnnouncementNoteIn) -> StaffAnnouncementOut:
    """Take it off the public list (the record stays)."""
    return _staff_out(services.withdraw_announcement(current_user(), announcement_id,
                                                     body.note))


@bp.post("/staff/announcements/<int:announcement_id>/release")
@require_roles("bureau_admin")
@api(body=AnnouncementNoteIn, response=StaffAnnouncementOut, errors=(404, 409), tags=STAFF_TAGS)
def release_announcement(announcement_id: int, body: AnnouncementNoteIn) -> StaffAnnouncementOut:
    """Bureau: publish a held announcement after reading it (audited)."""
    return _staff_out(services.release_announcement(current_user(), announcement_id,
                                                    body.note))


@bp.post("/staff/announcements/<int:announcement_id>/reject")
@require_roles("bureau_admin")
@api(body=AnnouncementRejectIn, response=StaffAnnouncementOut, errors=(404, 409), tags=STAFF_TAGS)
def reject_announcement(announcement_id: int, body: AnnouncementRejectIn) -> StaffAnnouncementOut:
    """Bureau: refuse a held announcement with a reason; its author may edit it."""
    return _staff_out(services.reject_announcement(current_user(), announcement_id,
                                                   body.note))


@bp.post("/staff/announcements/<int:announcement_id>/attachments")
@require_roles(*STAFF)
@api(response=StaffAnnouncementOut, status=201, errors=(404, 409, 413, 415, 422),
     tags=STAFF_TAGS, files=("file",))
def add_attachment(announcement_id: int) -> StaffAnnouncementOut:
    """Attach a PDF or image (multipart field `file`); the announcement becomes a draft."""
    limit = uploads.max_upload_bytes()
    try:
        file = request.files.get("file")
    except RequestEntityTooLarge as exc:
        raise uploads.too_large_error() from exc
    if file is None:
        raise ApiError(422, "VALIDATION_FAILED", "提交的信息有误，请检查后重试", details={
            "fields": [{"field": "file", "type": "missing", "message": "请选择要上传的文件"}]})
    return _staff_out(services.add_attachment(current_user(), announcement_id,
                                              file.stream.read(limit + 1)))


@bp.delete("/staff/announcements/<int:announcement_id>/attachments/<upload_id>")
@require_roles(*STAFF)
@api(response=StaffAnnouncementOut, errors=(404, 409), tags=STAFF_TAGS)
def remove_attachment(announcement_id: int, upload_id: str) -> StaffAnnouncementOut:
    """Remove an attachment; the announcement becomes a draft."""
    return _staff_out(services.remove_attachment(current_user(), announcement_id,
                                                 upload_id[:64]))


@bp.get("/staff/announcements/<int:announcement_id>/attachments/<upload_id>")
@require_roles(*STAFF)
@api(errors=(404,), produces="*/*", tags=STAFF_TAGS)
def get_staff_attachment(announcement_id: int, upload_id: str) -> Response:
    """An attachment of an announcement the caller manages, in any state."""
    upload, data = services.staff_attachment(current_user(), announcement_id, upload_id[:64])
    return _file(upload, data, "private, no-store")


# --- scheduled publication ----------------------------------------------------------------


@bp.cli.command("publish-due")
def publish_due_command() -> None:
    """Mark scheduled announcements whose time has come as published and notify families."""
    published = services.publish_due()
    commit()
    click.echo(f"published {len(published)} scheduled announcement(s)")
