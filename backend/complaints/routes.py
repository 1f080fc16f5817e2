"""Complaints API (监督举报): families file and follow; the bureau assigns, answers, closes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from backend.accounts.models import Role, User
from backend.complaints import services
from backend.complaints.models import Complaint
from backend.complaints.schemas import (
    STATUS_NAMES,
    TYPE_NAMES,
    AdminComplaintQuery,
    Complainant,
    ComplaintAnswerIn,
    ComplaintAssignIn,
    ComplaintAttachment,
    ComplaintCloseIn,
    ComplaintEventOut,
    ComplaintIn,
    ComplaintList,
    ComplaintOut,
    ComplaintRegistration,
    ComplaintSchool,
    StaffComplaintList,
    StaffComplaintOut,
    StaffComplaintQuery,
)
from backend.core import pii
from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.db import utcnow
from backend.core.timeutil import local_iso
from backend.uploads.responses import document_response

bp = Blueprint("complaints", __name__, url_prefix="/api/v1")

ADMIN_TAGS = ("admin-complaints",)
STAFF_TAGS = ("staff-complaints",)


# --- serialising ------------------------------------------------------------------------


def _history(complaint: Complaint) -> list[ComplaintEventOut]:
    return [ComplaintEventOut(status=e.status.value, status_name=STATUS_NAMES[e.status.value],
                              at=local_iso(e.occurred_at) or "", actor_role=e.actor_role,
                              note=e.note) for e in complaint.events]


def _common(complaint: Complaint) -> dict[str, Any]:
    return {
        "id": complaint.id, "type": complaint.type.value,
        "type_name": TYPE_NAMES[complaint.type.value], "status": complaint.status.value,
        "status_name": STATUS_NAMES[complaint.status.value],
        "school": ComplaintSchool(code=complaint.school.code, name=complaint.school.name),
        # Free text is shown with any ID or mobile number in it masked, to everyone.
        "text": pii.mask_free_text(complaint.text), "anonymous": complaint.anonymous,
        "filed_at": local_iso(complaint.created_at) or "",
        "due_at": local_iso(complaint.due_at) or "",
        "answer": pii.mask_free_text(complaint.answer) if complaint.answer else None,
        "answered_at": local_iso(complaint.answered_at),
        "closed_at": local_iso(complaint.closed_at), "history": _history(complaint),
    }


def _family_out(complaint: Complaint) -> ComplaintOut:
    return ComplaintOut(
        **_common(complaint), registration_id=complaint.registration_id,
        attachments=[ComplaintAttachment(upload_id=u.id, content_type=u.content_type,
                                         size=u.size, url=f"/api/v1/uploads/{u.id}")
                     for u in complaint.attachments])


def _staff_out(viewer: User, complaint: Complaint) -> StaffComplaintOut:
    visible = services.sees_complainant(viewer, complaint)
    registration = complaint.registration if visible else None
    prefix = "admin" if viewer.role is Role.BUREAU_ADMIN else "staff"
    return StaffComplaintOut(
        **_common(complaint),
        complainant=Complainant(user_id=complaint.user_id,
                                **services.complainant(complaint)) if visible else None,
        registration=ComplaintRegistration(
            id=registration.id, status=registration.status.value,
            child_name=pii.mask_name(registration.child.name)) if registration else None,
        attachments=[ComplaintAttachment(
            upload_id=u.id, content_type=u.content_type, size=u.size,
            url=f"/api/v1/{prefix}/complaints/{complaint.id}/attachments/{u.id}")
            for u in complaint.attachments] if visible else [],
        overdue=services.is_overdue(complaint, utcnow()),
        assignee_user_id=complaint.assignee_user_id,
    )


def _staff_list(viewer: User, page: services.Page, number: int,
                size: int) -> StaffComplaintList:
    return StaffComplaintList(items=[_staff_out(viewer, c) for c in page.items],
                              total=page.total, page=number, page_size=size)


def _file(upload_id: str, complaint_id: int) -> Response:
    upload, data = services.attachment(current_user(), complaint_id, upload_id[:64],
                                       request.remote_addr)
    return document_response(upload, data)


# --- families ---------------------------------------------------------------------------


@bp.post("/complaints")
@require_roles("parent")
@api(body=ComplaintIn, response=ComplaintOut, status=201, errors=(404, 409, 422))
def file_complaint(body: ComplaintIn) -> ComplaintOut:
    """File a complaint, appeal or report (optionally anonymous to the school)."""
    return _family_out(services.file_complaint(
        current_user(), type=body.type, school_code=body.school_code,
        registration_id=body.registration_id, text=body.text, anonymous=body.anonymous,
        upload_ids=body.upload_ids))


@bp.get("/complaints")
@require_roles("parent")
@api(response=ComplaintList)
def list_my_complaints() -> ComplaintList:
    """The caller's complaints with their answers, newest first."""
    return ComplaintList(items=[_family_out(c) for c in services.my_complaints(current_user())])


@bp.get("/complaints/<int:complaint_id>")
@require_roles("parent")
@api(response=ComplaintOut, errors=(404,))
def get_my_complaint(complaint_id: int) -> ComplaintOut:
    """One of the caller's complaints with the answer and its history."""
    return _family_out(services.my_complaint(current_user(), complaint_id))


# --- the bureau -------------------------------------------------------------------------


@bp.get("/admin/complaints")
@require_roles("bureau_admin")
@api(query=AdminComplaintQuery, response=StaffComplaintList, tags=ADMIN_TAGS)
def list_complaints(query: AdminComplaintQuery) -> StaffComplaintList:
    """Complaints of the authority (filters: status, school, type, overdue)."""
    admin = current_user()
    page = services.admin_complaints(admin, status=query.status, school=query.school,
                                     type=query.type, overdue=query.overdue, page=query.page,
                                     page_size=query.page_size)
    return _staff_list(admin, page, query.page, query.page_size)


@bp.get("/admin/complaints/<int:complaint_id>")
@require_roles("bureau_admin")
@api(response=StaffComplaintOut, errors=(404,), tags=ADMIN_TAGS)
def get_complaint(complaint_id: int) -> StaffComplaintOut:
    """One complaint of the authority (personal data masked)."""
    admin = current_user()
    return _staff_out(admin, services.handled_complaint(admin, complaint_id))


@bp.post("/admin/complaints/<int:complaint_id>/assign")
@require_roles("bureau_admin")
@api(body=ComplaintAssignIn, response=StaffComplaintOut, errors=(404, 409, 422),
     tags=ADMIN_TAGS)
def assign_complaint(complaint_id: int, body: ComplaintAssignIn) -> StaffComplaintOut:
    """Assign to a staff account of the authority or of the school concerned."""
    admin = current_user()
    return _staff_out(admin, services.assign_complaint(admin, complaint_id,
                                                       body.assignee_user_id))


@bp.post("/admin/complaints/<int:complaint_id>/answer")
@require_roles("bureau_admin")
@api(body=ComplaintAnswerIn, response=StaffComplaintOut, errors=(404, 409), tags=ADMIN_TAGS)
def answer_complaint(complaint_id: int, body: ComplaintAnswerIn) -> StaffComplaintOut:
    """Answer it; the family reads the answer with the complaint."""
    admin = current_user()
    return _staff_out(admin, services.answer_complaint(admin, complaint_id, body.answer))


@bp.post("/admin/complaints/<int:complaint_id>/close")
@require_roles("bureau_admin")
@api(body=ComplaintCloseIn, response=StaffComplaintOut, errors=(404, 409), tags=ADMIN_TAGS)
def close_complaint(complaint_id: int, body: ComplaintCloseIn) -> StaffComplaintOut:
    """Close an answered complaint."""
    admin = current_user()
    return _staff_out(admin, services.close_complaint(admin, complaint_id, body.note))


@bp.get("/admin/complaints/<int:complaint_id>/attachments/<upload_id>")
@require_roles("bureau_admin")
@api(errors=(404,), produces="*/*", tags=ADMIN_TAGS)
def get_complaint_attachment(complaint_id: int, upload_id: str) -> Response:
    """A document the family attached (audited)."""
    return _file(upload_id, complaint_id)


# --- assigned handlers --------------------------------------------------------------------


@bp.get("/staff/complaints")
@require_roles(*STAFF)
@api(query=StaffComplaintQuery, response=StaffComplaintList, tags=STAFF_TAGS)
def list_assigned_complaints(query: StaffComplaintQuery) -> StaffComplaintList:
    """Complaints assigned to the caller."""
    user = current_user()
    page = services.assigned_complaints(user, status=query.status, page=query.page,
                                        page_size=query.page_size)
    return _staff_list(user, page, query.page, query.page_size)


@bp.get("/staff/complaints/<int:complaint_id>")
@require_roles(*STAFF)
@api(response=StaffComplaintOut, errors=(404,), tags=STAFF_TAGS)
def get_assigned_complaint(complaint_id: int) -> StaffComplaintOut:
    """One complaint assigned to the caller (the family hidden when anonymous)."""
    user = current_user()
    return _staff_out(user, services.handled_complaint(user, complaint_id))


@bp.post("/staff/complaints/<int:complaint_id>/answer")
@require_roles(*STAFF)
@api(body=ComplaintAnswerIn, response=StaffComplaintOut, errors=(404, 409), tags=STAFF_TAGS)
def answer_assigned_complaint(complaint_id: int, body: ComplaintAnswerIn) -> StaffComplaintOut:
    """The assignee answers."""
    user = current_user()
    return _staff_out(user, services.answer_complaint(user, complaint_id, body.answer))


@bp.get("/staff/complaints/<int:complaint_id>/attachments/<upload_id>")
@require_roles(*STAFF)
@api(errors=(404,), produces="*/*", tags=STAFF_TAGS)
def get_assigned_attachment(complaint_id: int, upload_id: str) -> Response:
    """A document of an assigned complaint (not for the school when anonymous; audited)."""
    return _file(upload_id, complaint_id)
