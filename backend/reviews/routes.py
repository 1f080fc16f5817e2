"""Reviews API: the staff queue, one registration with its documents, decisions, reasons."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.reviews import services
from backend.reviews.reasons import NOTE_REQUIRED, REASONS
from backend.reviews.schemas import (
    MAX_PER_PAGE,
    ReasonList,
    ReasonOut,
    ReviewIn,
    StaffRegistrationDetail,
    StaffRegistrationList,
    StaffRegistrationQuery,
)
from backend.reviews.serializers import detail_out, summary_out
from backend.uploads.responses import document_response

bp = Blueprint("reviews", __name__, url_prefix="/api/v1")


@bp.get("/staff/registrations")
@require_roles(*STAFF)
@api(query=StaffRegistrationQuery, response=StaffRegistrationList, errors=(404,),
     tags=("reviews",))
def list_staff_registrations(query: StaffRegistrationQuery) -> StaffRegistrationList:
    """The review queue of the caller's school (school staff) or county (bureau), by id."""
    per_page = min(query.per_page, MAX_PER_PAGE)
    filters = services.Filters.of(query.model_dump())
    rows, total = services.list_registrations(current_user(), filters, query.page, per_page)
    return StaffRegistrationList(items=[summary_out(r) for r in rows], total=total,
                                 page=query.page, per_page=per_page)


@bp.get("/staff/registrations/<int:registration_id>")
@require_roles(*STAFF)
@api(response=StaffRegistrationDetail, errors=(404,), tags=("reviews",))
def get_staff_registration(registration_id: int) -> StaffRegistrationDetail:
    """One registration: child and guardian (masked), addresses, documents, timeline."""
    user = current_user()
    registration = services.staff_registration(user, registration_id)
    return detail_out(registration, services.decisions(user, registration))


@bp.get("/staff/registrations/<int:registration_id>/uploads/<upload_id>")
@require_roles(*STAFF)
@api(errors=(404,), tags=("reviews",), produces="*/*")
def get_registration_document(registration_id: int, upload_id: str) -> Response:
    """A document of the registration, decrypted for its reviewer (audited)."""
    upload, data = services.read_document(current_user(), registration_id, upload_id[:64],
                                          request.remote_addr)
    return document_response(upload, data)


@bp.post("/staff/registrations/<int:registration_id>/review")
@require_roles(*STAFF)
@api(body=ReviewIn, response=StaffRegistrationDetail, errors=(404, 409), tags=("reviews",))
def review_registration(registration_id: int, body: ReviewIn) -> StaffRegistrationDetail:
    """Approve, return for correction (reason + deadline) or reject (reason); 409 if stale."""
    user = current_user()
    registration = services.review_registration(
        user, registration_id, decision=body.decision, reason_code=body.reason_code,
        note=body.note, fix_deadline=body.fix_deadline, expected_status=body.expected_status,
        expected_version=body.expected_version, client_address=request.remote_addr)
    return detail_out(registration, services.decisions(user, registration))


@bp.get("/staff/review-reasons")
@require_roles(*STAFF)
@api(response=ReasonList, tags=("reviews",))
def list_review_reasons() -> ReasonList:
    """The standard reasons, which decisions each explains, and the default fix window."""
    return ReasonList(
        items=[ReasonOut(code=code, label=r.label, decisions=list(r.decisions),
                         note_required=code in NOTE_REQUIRED) for code, r in REASONS.items()],
        default_fix_days=services.DEFAULT_FIX_DAYS, max_fix_days=services.MAX_FIX_DAYS)
