"""代报名 API: staff enter a family at the counter, follow the ticket, list what they entered
and issue a new claim code; the family claims it from WeChat."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, current_user_id, require_roles
from backend.core.ratelimit import address_key, limiter
from backend.proxy import services
from backend.proxy.schemas import (
    MAX_PER_PAGE,
    ClaimCodeOut,
    ClaimIn,
    ClaimOut,
    ProxyEntryOut,
    ProxyQuery,
    ProxyRegistrationIn,
    ProxyRegistrationList,
)
from backend.proxy.serializers import claim_out, entry_out, slip_out, summaries_out
from backend.registrations.schemas import TicketOut
from backend.uploads.routes import parse_upload_request, upload_out
from backend.uploads.schemas import UploadForm, UploadOut
from backend.uploads.services import discard_uncommitted_files

bp = Blueprint("proxy", __name__, url_prefix="/api/v1")
TAGS = ("proxy",)


@bp.teardown_request
def _discard_uncommitted_files(_exc: BaseException | None) -> None:
    discard_uncommitted_files()  # a scan whose request failed leaves no file behind


@bp.post("/staff/proxy-registrations")
@require_roles(*STAFF)
@api(body=ProxyRegistrationIn, response=ProxyEntryOut, status=202,
     errors=(404, 409, 422, 503), tags=TAGS,
     headers={"Idempotency-Key": "8-64 letters/digits; the same key returns the same ticket"})
def enter_registration(body: ProxyRegistrationIn) -> Callable[[], ProxyEntryOut]:
    """Register a child for a family at the counter (documents checked): the same intake as
    the mini-program; 202 with the ticket and the family's claim code."""
    entry = services.enter_registration(
        current_user(), guardian=body.guardian.model_dump(), child=body.child.model_dump(),
        school_code=body.school_code, basis=body.basis, upload_ids=body.upload_ids,
        idempotency_key=request.headers.get("Idempotency-Key", ""))
    return lambda: entry_out(entry)  # the ticket is queued once the family is committed


@bp.post("/staff/proxy-registrations/uploads")
@require_roles(*STAFF)
@api(response=UploadOut, status=201, errors=(413, 415, 422), form=UploadForm, files=("file",),
     tags=TAGS)
def upload_scan() -> UploadOut:
    """A document scanned at the counter for the family being entered (multipart `file`
    and `kind`); name it in upload_ids and the registration hands it over to the family."""
    kind, data = parse_upload_request()
    return upload_out(services.scan_document(current_user(), kind, data))


@bp.get("/staff/proxy-registrations")
@require_roles(*STAFF)
@api(query=ProxyQuery, response=ProxyRegistrationList, errors=(404,), tags=TAGS)
def list_proxy_registrations(query: ProxyQuery) -> ProxyRegistrationList:
    """Registrations entered at the counter in the caller's scope, claimed or not (masked)."""
    per_page = min(query.per_page, MAX_PER_PAGE)
    rows, total = services.list_entered(current_user(), school_code=query.school,
                                        claimed=query.claimed, page=query.page,
                                        per_page=per_page)
    return ProxyRegistrationList(items=summaries_out(rows), total=total, page=query.page,
                                 per_page=per_page)


@bp.get("/staff/proxy-registrations/tickets/<ticket>")
@require_roles(*STAFF)
@api(response=TicketOut, errors=(404,), tags=TAGS)
def get_proxy_ticket(ticket: str) -> TicketOut:
    """Follow the ticket of an entry: queued → accepted (with the id) or rejected (why)."""
    return TicketOut(**services.entered_ticket(current_user(), ticket[:64]))


@bp.post("/staff/proxy-registrations/<int:registration_id>/claim-code")
@require_roles(*STAFF)
@api(response=ClaimCodeOut, errors=(404, 409), tags=TAGS)
def reissue_claim_code(registration_id: int) -> ClaimCodeOut:
    """A new claim code for the family (the old one stops working), for a new slip."""
    registration, slip = services.reissue_code(current_user(), registration_id)
    return ClaimCodeOut(registration_id=registration.id, slip=slip_out(slip))


def _caller_key() -> str:
    return f"u:{current_user_id()}"


@bp.post("/me/claims")
@require_roles("parent")
@limiter.limit(lambda: current_app.config["CLAIM_LIMIT_PER_CALLER"], key_func=_caller_key)
@limiter.limit(lambda: current_app.config["CLAIM_LIMIT_PER_ADDRESS"], key_func=address_key)
@api(body=ClaimIn, response=ClaimOut, errors=(404, 409, 410, 429), tags=TAGS)
def claim_family(body: ClaimIn) -> ClaimOut:
    """Take over what a school registered for the family at the counter (the claim code on
    the slip): binding, children, registrations, documents and notices."""
    return claim_out(services.claim_family(current_user(), body.code))
