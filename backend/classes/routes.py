"""Classes API (均衡分班): together requests, commit → draw, correction, evidence, my class.

| method | path | who |
|---|---|---|
| POST / GET | /staff/classes/together-requests | staff: twins/siblings to keep together |
| DELETE | /staff/classes/together-requests/{id} | staff: before the input is frozen |
| POST | /staff/classes/assignments | staff: freeze the input, publish the commitment |
| GET | /staff/classes/assignments | staff: assignments in scope |
| GET | /staff/classes/assignments/{id} | staff: every child (masked) and corrections |
| GET | /staff/classes/assignments/{id}/pupils | staff: a filtered page of its children |
| GET | /staff/classes/assignments/{id}/corrections | staff: its correction log |
| POST | /staff/classes/assignments/{id}/draw | staff: seed with the public value, publish |
| POST | /staff/classes/assignments/{id}/cancel | staff: before the draw |
| POST | /staff/classes/assignments/{id}/corrections | bureau admin: audited change |
| GET | /staff/classes/correction-reasons | staff: the reason codes |
| GET | /classes/assignments?school= | public: a school's assignments |
| GET | /classes/assignments/{id}/evidence | public: the file scripts/verify_classes checks |
| GET | /registrations/{id}/class | parent: the child's class |
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from backend.classes import services
from backend.classes.models import ClassAssignment, ClassCorrection, TogetherRequest
from backend.classes.schemas import (
    MAX_PER_PAGE,
    ClassAssignmentDetail,
    ClassAssignmentList,
    ClassAssignmentOut,
    ClassAssignmentQuery,
    ClassCancelIn,
    ClassCommitIn,
    ClassCorrectionIn,
    ClassCorrectionList,
    ClassCorrectionOut,
    ClassCorrectionReasonList,
    ClassCorrectionReasonOut,
    ClassDrawIn,
    ClassEvidence,
    ClassPupilOut,
    ClassPupilPage,
    ClassPupilQuery,
    ClassSchoolRef,
    ClassSummaryOut,
    MyClassOut,
    PublicClassAssignmentList,
    PublicClassAssignmentOut,
    PublicClassAssignmentQuery,
    TogetherMemberOut,
    TogetherQuery,
    TogetherRequestIn,
    TogetherRequestList,
    TogetherRequestOut,
)
from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.pii import mask_name
from backend.core.timeutil import local_iso
from backend.onsite.services import zone_name

bp = Blueprint("classes", __name__, url_prefix="/api/v1")
TAGS = ("classes",)


def _school(assignment: ClassAssignment) -> ClassSchoolRef:
    return ClassSchoolRef(code=assignment.school.code, name=assignment.school.name)


def assignment_out(assignment: ClassAssignment) -> ClassAssignmentOut:
    """An assignment without personal data."""
    tz = zone_name(assignment.school)
    rows = services.summary(assignment)
    status: Any = assignment.status.value
    scope: Any = assignment.scope.value
    return ClassAssignmentOut(
        id=assignment.id, season_id=assignment.season_id,
        season_year=services.season_year(assignment), school=_school(assignment),
        status=status, scope=scope, rules_version=assignment.rules_version,
        classes=assignment.classes, class_size=assignment.class_size,
        pupil_count=assignment.pupil_count, commitment=assignment.commitment,
        public_value_source=assignment.public_value_source,
        public_value=assignment.public_value, seed=assignment.seed,
        committed_at=local_iso(assignment.committed_at, tz) or "",
        committed_by_user_id=assignment.committed_by_user_id,
        published_at=local_iso(assignment.published_at, tz),
        published_by_user_id=assignment.published_by_user_id,
        cancel_reason=assignment.cancel_reason, corrections=assignment.corrections,
        summary=None if rows is None else [ClassSummaryOut(**r) for r in rows],
        evidence_path=services.evidence_path(assignment.id))


def correction_out(correction: ClassCorrection, pseudonym: str, registration_id: int,
                   tz: str, names: dict[int, str] | None = None) -> ClassCorrectionOut:
    """A correction for staff (with the internal note)."""
    return ClassCorrectionOut(
        corrected_by_name=(names or {}).get(correction.corrected_by_user_id),
        id=correction.id, pseudonym=pseudonym, registration_id=registration_id,
        from_class=correction.from_class, to_class=correction.to_class,
        reason_code=correction.reason_code,
        reason=services.CORRECTION_REASONS[correction.reason_code], note=correction.note,
        corrected_by_user_id=correction.corrected_by_user_id,
        corrected_at=local_iso(correction.corrected_at, tz) or "")


def assignment_detail(assignment: ClassAssignment) -> ClassAssignmentDetail:
    """An assignment with its children (masked) and its corrections."""
    tz = zone_name(assignment.school)
    who = services.placement_registrations(assignment.id)
    return ClassAssignmentDetail(
        **assignment_out(assignment).model_dump(),
        pupils=[ClassPupilOut(**row) for row in services.staff_pupils(assignment)],
        correction_log=[correction_out(c, *who[c.placement_id], tz)
                        for c in services.corrections_of(assignment.id)])


def together_out(request_: TogetherRequest) -> TogetherRequestOut:
    """A together request (masked names)."""
    return TogetherRequestOut(
        id=request_.id, season_id=request_.season_id,
        school=ClassSchoolRef(code=request_.school.code, name=request_.school.name),
        members=[TogetherMemberOut(registration_id=m.registration_id,
                                   child_name=mask_name(m.registration.child.name))
                 for m in request_.members],
        note=request_.note, created_by_user_id=request_.created_by_user_id,
        created_at=local_iso(request_.created_at) or "")


# --- together requests ---------------------------------------------------------------------


@bp.post("/staff/classes/together-requests")
@require_roles(*STAFF)
@api(body=TogetherRequestIn, response=TogetherRequestOut, status=201,
     errors=(404, 409, 422), tags=TAGS)
def create_together_request(body: TogetherRequestIn) -> TogetherRequestOut:
    """Record a family's request that its twins/siblings (same guardian) share a class."""
    created = services.create_together_request(
        current_user(), season_id=body.season_id, school_code=body.school,
        registration_ids=body.registration_ids, note=body.note, address=request.remote_addr)
    return together_out(created)


@bp.get("/staff/classes/together-requests")
@require_roles(*STAFF)
@api(query=TogetherQuery, response=TogetherRequestList, errors=(404,), tags=TAGS)
def list_together_requests(query: TogetherQuery) -> TogetherRequestList:
    """A school's together requests in a season."""
    _school_row, rows = services.together_requests(current_user(), query.season_id,
                                                   query.school)
    return TogetherRequestList(items=[together_out(r) for r in rows])


@bp.delete("/staff/classes/together-requests/<int:request_id>")
@require_roles(*STAFF)
@api(status=204, errors=(404, 409), tags=TAGS)
def delete_together_request(request_id: int) -> None:
    """Withdraw a together request (only before the input is frozen)."""
    services.delete_together_request(current_user(), request_id, request.remote_addr)


# --- assignments ---------------------------------------------------------------------------


@bp.post("/staff/classes/assignments")
@require_roles(*STAFF)
@api(body=ClassCommitIn, response=ClassAssignmentOut, status=201, errors=(404, 409, 422), tags=TAGS)
def commit_assignment(body: ClassCommitIn) -> ClassAssignmentOut:
    """Freeze who is assigned (after check-in closes) and publish the commitment."""
    assignment = services.commit_assignment(
        current_user(), season_id=body.season_id, school_code=body.school, scope=body.scope,
        public_value_source=body.public_value_source, address=request.remote_addr)
    return assignment_out(assignment)


@bp.get("/staff/classes/assignments")
@require_roles(*STAFF)
@api(query=ClassAssignmentQuery, response=ClassAssignmentList, errors=(404,), tags=TAGS)
def list_assignments(query: ClassAssignmentQuery) -> ClassAssignmentList:
    """Assignments of the caller's school (or authority), newest first."""
    return ClassAssignmentList(items=[assignment_out(a) for a in services.staff_assignments(
        current_user(), query.season_id, query.school)])


@bp.get("/staff/classes/assignments/<int:assignment_id>")
@require_roles(*STAFF)
@api(response=ClassAssignmentDetail, errors=(404,), tags=TAGS)
def get_assignment(assignment_id: int) -> ClassAssignmentDetail:
    """One assignment: every child (masked) with its classes, and every correction."""
    return assignment_detail(services.staff_assignment(current_user(), assignment_id))


@bp.get("/staff/classes/assignments/<int:assignment_id>/pupils")
@require_roles(*STAFF)
@api(query=ClassPupilQuery, response=ClassPupilPage, errors=(404,), tags=TAGS)
def list_assignment_pupils(assignment_id: int, query: ClassPupilQuery) -> ClassPupilPage:
    """A filtered page of the assignment's children (masked) with drawn and current class."""
    per_page = min(query.per_page, MAX_PER_PAGE)
    filters = services.PupilFilters(class_no=query.class_no, sex=query.sex,
                                    special=query.special, grouped=query.grouped,
                                    corrected=query.corrected, q=query.q)
    rows, total = services.pupil_page(services.staff_assignment(current_user(), assignment_id),
                                      filters, query.page, per_page)
    return ClassPupilPage(items=[ClassPupilOut(**row) for row in rows], total=total,
                          page=query.page, per_page=per_page)


@bp.get("/staff/classes/assignments/<int:assignment_id>/corrections")
@require_roles(*STAFF)
@api(response=ClassCorrectionList, errors=(404,), tags=TAGS)
def list_assignment_corrections(assignment_id: int) -> ClassCorrectionList:
    """The assignment's corrections in order: who, when, from, to, reason and note."""
    assignment = services.staff_assignment(current_user(), assignment_id)
    tz = zone_name(assignment.school)
    who = services.placement_registrations(assignment.id)
    corrections = services.corrections_of(assignment.id)
    names = services.staff_names({c.corrected_by_user_id for c in corrections})
    return ClassCorrectionList(items=[correction_out(c, *who[c.placement_id], tz, names)
                                      for c in corrections])


@bp.post("/staff/classes/assignments/<int:assignment_id>/draw")
@require_roles(*STAFF)
@api(body=ClassDrawIn, response=ClassAssignmentOut, errors=(404, 409, 422), tags=TAGS)
def draw_assignment(assignment_id: int, body: ClassDrawIn) -> ClassAssignmentOut:
    """Enter the named public value: the classes are computed and published at once."""
    return assignment_out(services.draw_assignment(current_user(), assignment_id,
                                                   body.public_value, request.remote_addr))


@bp.post("/staff/classes/assignments/<int:assignment_id>/cancel")
@require_roles(*STAFF)
@api(body=ClassCancelIn, response=ClassAssignmentOut, errors=(404, 409), tags=TAGS)
def cancel_assignment(assignment_id: int, body: ClassCancelIn) -> ClassAssignmentOut:
    """Cancel a committed assignment before its draw, with a reason (audited)."""
    return assignment_out(services.cancel_assignment(current_user(), assignment_id,
                                                     body.reason, request.remote_addr))


@bp.post("/staff/classes/assignments/<int:assignment_id>/corrections")
@require_roles("bureau_admin")
@api(body=ClassCorrectionIn, response=ClassAssignmentDetail, status=201, errors=(404, 409, 422),
     tags=TAGS)
def correct_placement(assignment_id: int, body: ClassCorrectionIn) -> ClassAssignmentDetail:
    """Change one child's class after publication (reason code; audited; evidence marked)."""
    services.correct_placement(
        current_user(), assignment_id, registration_id=body.registration_id,
        to_class=body.to_class, reason_code=body.reason_code, note=body.note,
        address=request.remote_addr)
    return assignment_detail(services.staff_assignment(current_user(), assignment_id))


@bp.get("/staff/classes/correction-reasons")
@require_roles(*STAFF)
@api(response=ClassCorrectionReasonList, tags=TAGS)
def list_correction_reasons() -> ClassCorrectionReasonList:
    """The reason codes a correction may give (published with it)."""
    return ClassCorrectionReasonList(items=[ClassCorrectionReasonOut(code=code, label=label)
                             for code, label in services.CORRECTION_REASONS.items()])


# --- public and families -------------------------------------------------------------------


@bp.get("/classes/assignments")
@api(query=PublicClassAssignmentQuery, response=PublicClassAssignmentList, errors=(404,), tags=TAGS)
def list_public_assignments(query: PublicClassAssignmentQuery) -> PublicClassAssignmentList:
    """A school's class assignments: commitments, status, evidence links (no personal data)."""
    school, rows = services.public_assignments(query.school)
    items = []
    for a in rows:
        status: Any = a.status.value
        items.append(PublicClassAssignmentOut(
            id=a.id, season_year=services.season_year(a), status=status,
            commitment=a.commitment, public_value_source=a.public_value_source,
            published_at=local_iso(a.published_at, zone_name(school)),
            corrected=a.corrections > 0, evidence_path=services.evidence_path(a.id)))
    return PublicClassAssignmentList(school=ClassSchoolRef(code=school.code, name=school.name),
                                items=items)


@bp.get("/classes/assignments/<int:assignment_id>/evidence")
@api(response=ClassEvidence, errors=(404,), tags=TAGS)
def get_evidence(assignment_id: int) -> ClassEvidence:
    """The public evidence: committed input, commitment, public value, seed, result, corrections."""
    assignment = services.public_assignment(assignment_id)
    return ClassEvidence.model_validate(services.evidence(assignment,
                                                          zone_name(assignment.school)))


@bp.get("/registrations/<int:registration_id>/class")
@require_roles("parent")
@api(response=MyClassOut, errors=(404,), tags=TAGS)
def get_my_class(registration_id: int) -> MyClassOut:
    """The child's class once published, with the child's id in the evidence."""
    placement, assignment = services.my_class(current_user(), registration_id)
    class_no = placement.class_no or 0
    return MyClassOut(
        registration_id=registration_id, school=_school(assignment),
        season_year=services.season_year(assignment), class_no=class_no,
        class_name=services.class_name(class_no), pseudonym=placement.pseudonym,
        assignment_id=assignment.id, corrected=services.was_corrected(placement),
        published_at=local_iso(assignment.published_at, zone_name(assignment.school)) or "",
        evidence_path=services.evidence_path(assignment.id))
