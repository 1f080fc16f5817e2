"""Reviews API: the staff queue, one registration with its documents, decisions, reasons."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from backend.accounts.models import User
from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.errors import ApiError
from backend.registrations.models import Registration
from backend.reviews import services
from backend.reviews.reasons import NOTE_REQUIRED, REASONS
from backend.reviews.schemas import (
    MAX_PER_PAGE,
    BatchApproveIn,
    BatchApproveOut,
    ReasonList,
    ReasonOut,
    ReviewIn,
    StaffRegistrationDetail,
    StaffRegistrationList,
    StaffRegistrationQuery,
)
from backend.reviews.serializers import batch_out, detail_out, summary_out
from backend.uploads.responses import document_response

bp = Blueprint("reviews", __name__, url_prefix="/api/v1")
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


@bp.get("/staff/registrations")
@require_roles(*STAFF)
@api(query=StaffRegistrationQuery, response=StaffRegistrationList, errors=(404,),
     tags=("reviews",))
def list_staff_registrations(query: StaffRegistrationQuery) -> StaffRegistrationList:
    """The review queue of the caller's school (school staff) or county (bureau), by id."""
    per_page = min(query.per_page, MAX_PER_PAGE)
    filters = services.Filters.of(query.model_dump())
    rows, total = services.list_registrations(current_user(), filters, query.page, per_page)
    verified = services.all_verified_ids([r.id for r in rows])
    return StaffRegistrationList(items=[summary_out(r, r.id in verified) for r in rows],
                                 total=total, page=query.page, per_page=per_page)


@bp.get("/staff/registrations/<int:registration_id>")
@require_roles(*STAFF)
@api(response=StaffRegistrationDetail, errors=(404,), tags=("reviews",))
def get_staff_registration(registration_id: int) -> StaffRegistrationDetail:
    """One registration: child and guardian (masked), addresses, documents, each required
    document's state (verified by a source with its reference and time, uploaded, or
    missing with the failed check's reason), timeline."""
    user = current_user()
    registration = services.staff_registration(user, registration_id)
    return _detail(user, registration)


def _detail(user: User, registration: Registration) -> StaffRegistrationDetail:
    return detail_out(registration, services.decisions(user, registration),
                      services.requirements(registration))


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
    return _detail(user, registration)


@bp.post("/admin/registrations/batch-approve")
@require_roles(*STAFF)
@api(body=BatchApproveIn, response=BatchApproveOut, errors=(404, 409), tags=("reviews",),
     headers={"Idempotency-Key": "8-64 letters/digits; the same key answers what the first "
                                 "request did and approves nothing again"})
def batch_approve(body: BatchApproveIn) -> BatchApproveOut:
    """批量通过: approve the all-verified registrations of the filter (school, season) that
    the caller may approve now, each through the transition table (a special group's goes
    on to the bureau as one approval does), with one audit row; `dry_run` says which.
    Another school's or county's filter 404 SCHOOL_NOT_FOUND / SEASON_NOT_FOUND; named ids
    outside the scope are skipped as NOT_FOUND; a malformed key 422 IDEMPOTENCY_KEY_INVALID;
    two batches racing on one key 409 CONFLICT."""
    result = services.batch_approve(
        current_user(), services.BatchFilter(school=body.school, season_id=body.season_id,
                                             year=body.year),
        items=[(i.id, i.version) for i in body.items] if body.items is not None else None,
        dry_run=body.dry_run, note=body.note,
        idempotency_key=_idempotency_key(request.headers.get("Idempotency-Key")),
        client_address=request.remote_addr)
    return batch_out(result)


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise ApiError(422, "IDEMPOTENCY_KEY_INVALID", "Idempotency-Key 须为8至64位字母或数字")
    return value


@bp.get("/staff/review-reasons")
@require_roles(*STAFF)
@api(response=ReasonList, tags=("reviews",))
def list_review_reasons() -> ReasonList:
    """The standard reasons, which decisions each explains, and the default fix window."""
    return ReasonList(
        items=[ReasonOut(code=code, label=r.label, decisions=list(r.decisions),
                         note_required=code in NOTE_REQUIRED) for code, r in REASONS.items()],
        default_fix_days=services.DEFAULT_FIX_DAYS, max_fix_days=services.MAX_FIX_DAYS)
