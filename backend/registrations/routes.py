"""Registrations API: submit (queued), follow the ticket, read, withdraw; staff reveal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from backend.core import httpcache
from backend.core.api import api
from backend.core.auth import (
    admit,
    current_user,
    current_user_id,
    require_roles,
    require_session,
)
from backend.core.timeutil import local_iso
from backend.identity.categories import CATEGORIES, UPLOAD_KIND_NAMES
from backend.identity.schemas import CategoryOut, RequiredDocumentOut, RevealIn, RevealOut
from backend.registrations import intake, reveal, services
from backend.registrations.materials import BASIS_UPLOADS
from backend.registrations.models import Registration, RegistrationStatus
from backend.registrations.schemas import (
    STATUS_NAMES,
    BasisRequirementOut,
    CorrectionOut,
    DocumentRequirementOut,
    EditIn,
    RegistrationList,
    RegistrationOut,
    RequirementsOut,
    RequirementsQuery,
    SubmitIn,
    TicketOut,
    TimelineEntry,
)
from backend.reviews import reasons
from backend.uploads.models import UploadKind
from backend.verification import services as verification
from backend.verification.models import CheckStatus, DataCheck
from backend.verification.services import check_message

bp = Blueprint("registrations", __name__, url_prefix="/api/v1")

# The tables below change only with a release.
REQUIREMENTS_CACHE = "public, max-age=3600"


def registration_out(registration: Registration) -> RegistrationOut:
    """A registration with its timeline, for its family."""
    status: Any = registration.status.value
    return RegistrationOut(
        id=registration.id, ticket=registration.ticket, status=status,
        status_name=STATUS_NAMES[status], season_year=registration.season.year,
        school={"code": registration.school.code, "name": registration.school.name},
        child={"id": registration.child.id, "name": registration.child.name},
        basis=registration.basis.value,
        out_of_zone=registration.out_of_zone,
        submitted_at=local_iso(registration.created_at) or "",
        uploads=[{"upload_id": u.id, "kind": u.kind.value} for u in registration.uploads],
        timeline=[TimelineEntry(
            status=e.status.value,
            status_name=STATUS_NAMES[e.status.value],
            at=local_iso(e.occurred_at) or "", actor_role=e.actor_role,
            reason_code=e.reason_code, reason=reasons.label(e.reason_code),
            note=e.note) for e in registration.events],
        can_withdraw=services.can_withdraw(registration),
        correction=_correction(registration),
    )


def _correction(registration: Registration) -> CorrectionOut | None:
    """The latest return's reason and the fix deadline, while the registration is returned."""
    if registration.status is not RegistrationStatus.RETURNED:
        return None
    returned = [e for e in registration.events if e.status is RegistrationStatus.RETURNED]
    last = returned[-1] if returned else None
    return CorrectionOut(
        reason_code=last.reason_code if last else None,
        reason=reasons.label(last.reason_code) if last else None,
        note=last.note if last else None, fix_deadline=local_iso(registration.fix_deadline))


def _document(kind: UploadKind, checks: dict[str, DataCheck] | None = None
              ) -> DocumentRequirementOut:
    check = (checks or {}).get(kind.value)
    return DocumentRequirementOut(
        kind=kind.value, name=UPLOAD_KIND_NAMES[kind],
        verified=None if checks is None else bool(
            check and check.status is CheckStatus.CONFIRMED),
        verification=check_message(check) if check else None)


def _requirements(checks: dict[str, DataCheck] | None = None) -> RequirementsOut:
    return RequirementsOut(
        bases=[BasisRequirementOut(
            basis=basis.value,
            documents=[[_document(k, checks) for k in group] for group in groups])
            for basis, groups in BASIS_UPLOADS.items()],
        categories=[CategoryOut(key=key, name=name, required_documents=[
            RequiredDocumentOut(kind=k.value, name=UPLOAD_KIND_NAMES[k]) for k in kinds])
            for key, (name, kinds) in CATEGORIES.items()],
        document_kinds={k.value: name for k, name in UPLOAD_KIND_NAMES.items()},
        verified_documents=None if checks is None else {
            kind: check_message(c) for kind, c in checks.items()
            if c.status is CheckStatus.CONFIRMED})


@httpcache.public_cache
def _public_requirements() -> Response:
    # The same for everyone: kept and revalidated like the catalogue.
    response = jsonify(_requirements().model_dump(mode="json", exclude_none=True))
    response.headers["Cache-Control"] = REQUIREMENTS_CACHE
    return response


@require_roles("parent")
def _child_requirements(child_id: int) -> Response:
    # One family's answer: never kept by a shared cache.
    checks = verification.verified_documents(current_user(), child_id)
    response = jsonify(_requirements(checks).model_dump(mode="json"))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/registrations/requirements")
@api(query=RequirementsQuery, response=RequirementsOut, errors=(401, 403, 404))
def get_requirements(query: RequirementsQuery) -> Response:
    """Documents each basis needs and those each special group adds, as the intake checks;
    public and cacheable. With `child_id` (one of the caller's children, parent login:
    401/403, 404 CHILD_NOT_FOUND) each document says whether government data already
    verified it (`verified`, `verification`)."""
    if query.child_id is None:
        return _public_requirements()
    return _child_requirements(query.child_id)


def submitter(view: Callable[..., Any]) -> Callable[..., Any]:
    """The parent's session, both rate-limit windows and the facts the body names, read in
    one Redis round trip before the body is validated; the facts go to the view as `cached`.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        info, cached = intake.read_submitter(
            limits=("SUBMIT_LIMIT_PER_CALLER", "SUBMIT_LIMIT_PER_ADDRESS"))
        admit(info, ("parent",))
        return view(*args, cached=cached, **kwargs)

    wrapper._api_roles = ("parent",)  # type: ignore[attr-defined]
    return wrapper


@bp.post("/registrations")
@submitter
@api(body=SubmitIn, response=TicketOut, status=202, errors=(404, 409, 429, 503),
     headers={"Idempotency-Key": "8-64 letters/digits; the same key returns the same ticket"})
def submit_registration(body: SubmitIn, cached: dict[str, Any]) -> TicketOut:
    """Queue a registration (header Idempotency-Key); 202 with a ticket to follow."""
    receipt = intake.submit(
        current_user_id(), idempotency_key=request.headers.get("Idempotency-Key", ""),
        child_id=body.child_id, school_code=body.school_code, basis=body.basis,
        upload_ids=body.upload_ids, cached=cached)
    return TicketOut(ticket=receipt.ticket, state=receipt.state,  # type: ignore[arg-type]
                     position=receipt.position)


@bp.patch("/registrations/<int:registration_id>")
@require_session("parent", limits=("SUBMIT_LIMIT_PER_CALLER",))
@api(body=EditIn, response=TicketOut, status=202, errors=(404, 409, 429, 503),
     headers={"Idempotency-Key": "8-64 letters/digits; the same key returns the same ticket"})
def edit_registration(registration_id: int, body: EditIn) -> TicketOut:
    """Queue a change of basis or documents (e.g. a fix the school asked for)."""
    receipt = intake.submit_edit(
        current_user_id(), registration_id,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
        basis=body.basis, upload_ids=body.upload_ids)
    return TicketOut(ticket=receipt.ticket, state=receipt.state,  # type: ignore[arg-type]
                     position=receipt.position)


def follower(view: Callable[..., Any]) -> Callable[..., Any]:
    """The parent's session, the ticket's state and the queue's progress, read in one Redis
    round trip (families poll every few seconds at the opening hour); they go to the view
    as `read`."""

    @functools.wraps(view)
    def wrapper(ticket: str) -> Any:
        info, state, processed = intake.read_follower(ticket[:64])
        admit(info, ("parent",))
        return view(ticket, read=(state, processed))

    wrapper._api_roles = ("parent",)  # type: ignore[attr-defined]
    return wrapper


@bp.get("/registrations/tickets/<ticket>")
@follower
@api(response=TicketOut, errors=(404,))
def get_ticket(ticket: str, read: tuple[dict[bytes, bytes], bytes | None]) -> TicketOut:
    """Follow a ticket: queued (with position) → accepted (with id) or rejected (why)."""
    return TicketOut(**services.ticket_status(current_user_id(), ticket[:64], read))


@bp.get("/registrations")
@require_roles("parent")
@api(response=RegistrationList)
def list_registrations() -> RegistrationList:
    """The caller's registrations with their timelines."""
    return RegistrationList(items=[registration_out(r)
                                   for r in services.my_registrations(current_user())])


@bp.get("/registrations/<int:registration_id>")
@require_roles("parent")
@api(response=RegistrationOut, errors=(404,))
def get_registration(registration_id: int) -> RegistrationOut:
    """One registration with its status timeline."""
    return registration_out(services.my_registration(current_user(), registration_id))


@bp.post("/registrations/<int:registration_id>/withdraw")
@require_roles("parent")
@api(response=RegistrationOut, errors=(404, 409))
def withdraw_registration(registration_id: int) -> RegistrationOut:
    """Withdraw while the window is open and review has not started."""
    return registration_out(services.withdraw(current_user(), registration_id))


@bp.post("/staff/children/<int:child_id>/reveal")
@require_roles("school_staff", "bureau_admin")
@api(body=RevealIn, response=RevealOut, errors=(404,))
def reveal_child(child_id: int, body: RevealIn) -> RevealOut:
    """Show one child's full record to staff who may see it; written to the audit log."""
    return reveal.reveal_child(current_user(), child_id, body.reason, request.remote_addr)
