"""Identity API: the guardian's real-name binding, children, disputes, audited reveals."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from backend.authorities.services import resolve_authority
from backend.core import httpcache
from backend.core.api import api
from backend.core.auth import current_user, require_roles, web_session
from backend.core.errors import ApiError
from backend.identity import services
from backend.identity.categories import CATEGORIES, PLACEMENT_WISHES, UPLOAD_KIND_NAMES
from backend.identity.consent import CONSENT_TEXT, CONSENT_TITLE, CONSENT_VERSION
from backend.identity.models import Child, ConsentChannel
from backend.identity.schemas import (
    CategoryList,
    CategoryOut,
    ChildAddIn,
    ChildList,
    ChildOut,
    ChildPatch,
    ConsentTextOut,
    DisputeAdminOut,
    DisputeIn,
    DisputeList,
    DisputeOut,
    DisputeQuery,
    DisputeResolveIn,
    FaceCompleteIn,
    FaceStartOut,
    GuardianOut,
    IdentityIn,
    RequiredDocumentOut,
)
from backend.identity.serializers import (
    child_out,
    dispute_admin_out,
    dispute_out,
    guardian_out,
)
from backend.identity.verifiers import current_verifier
from backend.seasons.models import Season
from backend.seasons.schemas import AuthorityQuery
from backend.seasons.services import current_season

bp = Blueprint("identity", __name__, url_prefix="/api/v1")
CONSENT_TEXT_CACHE = "public, max-age=300"


class PhoneIn(BaseModel):
    """A new getPhoneNumber code."""

    model_config = ConfigDict(extra="forbid")
    phone_code: str = Field(min_length=1, max_length=128)


def season_for(child: Child) -> Season | None:
    """The current season of the authority the child's household registration is in."""
    try:
        return current_season(child.hukou_region.authority_id)
    except ApiError:
        return None


@bp.post("/me/identity")
@require_roles("parent")
@api(body=IdentityIn, response=GuardianOut, status=201, errors=(409, 503))
def bind_identity(body: IdentityIn) -> GuardianOut:
    """Bind the caller to a real name, ID document and WeChat-verified phone."""
    guardian = services.bind_identity(
        current_user(), name=body.name, document_type=body.document_type,
        id_number=body.id_number, relation=body.relation, phone_code=body.phone_code,
        from_pc=web_session())
    return guardian_out(guardian)


@bp.get("/me/identity")
@require_roles("parent")
@api(response=GuardianOut, errors=(409,))
def get_identity() -> GuardianOut:
    """The caller's binding (masked)."""
    return guardian_out(services.require_guardian(current_user()))


@bp.post("/me/identity/phone")
@require_roles("parent")
@api(body=PhoneIn, response=GuardianOut, errors=(409, 503))
def update_phone(body: PhoneIn) -> GuardianOut:
    """Replace the phone with the one from a new getPhoneNumber code."""
    return guardian_out(services.update_phone(current_user(), body.phone_code))


@bp.post("/me/identity/face-verification")
@require_roles("parent")
@api(response=FaceStartOut, status=201, errors=(409, 502, 503))
def start_face_verification() -> FaceStartOut:
    """Start WeChat 人脸核身; pass verify_id to wx.requestFacialVerify()."""
    guardian = services.require_guardian(current_user())
    challenge = current_verifier().start(guardian)
    return FaceStartOut(verify_id=challenge.verify_id, expires_in=challenge.expires_in)


@bp.post("/me/identity/face-verification/complete")
@require_roles("parent")
@api(body=FaceCompleteIn, response=GuardianOut, errors=(404, 409, 410, 502, 503))
def complete_face_verification(body: FaceCompleteIn) -> GuardianOut:
    """Ask WeChat for the face check's true result; success marks the binding verified."""
    guardian = services.require_guardian(current_user())
    current_verifier().complete(guardian, body.verify_id)
    return guardian_out(guardian)


@bp.post("/me/identity/disputes")
@require_roles("parent")
@api(body=DisputeIn, response=DisputeOut, status=201, errors=(404, 409, 503))
def open_dispute(body: DisputeIn) -> DisputeOut:
    """Ask the bureau to resolve an ID number bound to another account."""
    authority = resolve_authority(body.authority)
    dispute = services.open_dispute(
        current_user(), authority_id=authority.id, name=body.name,
        document_type=body.document_type, id_number=body.id_number,
        phone_code=body.phone_code, note=body.note)
    return dispute_out(dispute)


@bp.get("/me/children")
@require_roles("parent")
@api(response=ChildList)
def list_children() -> ChildList:
    """The caller's children with eligibility for the current season."""
    return ChildList(items=[child_out(c, season_for(c))
                            for c in services.list_children(current_user())])


@bp.post("/me/children")
@require_roles("parent")
@api(body=ChildAddIn, response=ChildOut, status=201, errors=(409,))
def add_child(body: ChildAddIn) -> ChildOut:
    """Add a child with the guardian's consent to the current text (recorded with its time,
    version and channel: `pc` from the PC session, else the mini-program); birth date and sex
    come from the ID number, eligibility at once."""
    channel = ConsentChannel.PC if web_session() else ConsentChannel.MINI_PROGRAM
    consent = services.consent_from_guardian(body.guardian_consent.version,
                                             body.guardian_consent.agreed, channel)
    child = services.add_child(current_user(), body.model_dump(exclude={"guardian_consent"}),
                               consent)
    return child_out(child, season_for(child))


@bp.get("/privacy/consent-text")
@api(query=AuthorityQuery, response=ConsentTextOut, errors=(404,))
def get_consent_text(query: AuthorityQuery) -> Response:
    """The guardian's consent text and its version (what POST /me/children must name), with
    the current season's purge date; public and cacheable."""
    try:
        season = current_season(resolve_authority(query.authority).id)
    except ApiError as exc:
        if exc.code != "NO_CURRENT_SEASON":
            raise
        season = None
    body = ConsentTextOut(version=CONSENT_VERSION, title=CONSENT_TITLE, text=CONSENT_TEXT,
                          purge_personal_data_after=season.purge_personal_data_after
                          if season else None)
    response = jsonify(body.model_dump(mode="json"))
    response.headers["Cache-Control"] = CONSENT_TEXT_CACHE
    return response


@bp.get("/me/children/<int:child_id>")
@require_roles("parent")
@api(response=ChildOut, errors=(404,))
def get_child(child_id: int) -> ChildOut:
    """One of the caller's children."""
    child = services.get_child(current_user(), child_id)
    return child_out(child, season_for(child))


@bp.patch("/me/children/<int:child_id>")
@require_roles("parent")
@api(body=ChildPatch, response=ChildOut, errors=(404, 409))
def update_child(child_id: int, body: ChildPatch) -> ChildOut:
    """Change a child's name, addresses or groups (not while a registration is active)."""
    child = services.update_child(current_user(), child_id, body.model_dump(exclude_unset=True))
    return child_out(child, season_for(child))


@bp.get("/categories")
@httpcache.public_cache
@api(response=CategoryList)
def list_categories() -> CategoryList:
    """Special groups, the documents each needs, and the disability placement wishes."""
    return CategoryList(
        categories=[CategoryOut(key=key, name=name, required_documents=[
            RequiredDocumentOut(kind=k.value, name=UPLOAD_KIND_NAMES[k]) for k in kinds])
            for key, (name, kinds) in CATEGORIES.items()],
        placement_wishes=PLACEMENT_WISHES,
        document_kinds={k.value: v for k, v in UPLOAD_KIND_NAMES.items()},
    )


@bp.get("/admin/identity-disputes")
@require_roles("bureau_admin")
@api(query=DisputeQuery, response=DisputeList)
def list_disputes(query: DisputeQuery) -> DisputeList:
    """Binding disputes of the admin's authority, newest first, a page at a time."""
    disputes, total = services.list_disputes(current_user(), query.status, query.page,
                                             query.page_size)
    return DisputeList(items=[dispute_admin_out(d) for d in disputes], total=total,
                       page=query.page, page_size=query.page_size)


@bp.post("/admin/identity-disputes/<int:dispute_id>/resolve")
@require_roles("bureau_admin")
@api(body=DisputeResolveIn, response=DisputeAdminOut, errors=(404, 409))
def resolve_dispute(dispute_id: int, body: DisputeResolveIn) -> DisputeAdminOut:
    """Transfer the binding to the requester (the family's children, documents and
    registrations move with it, the old account is signed out) or reject it; audited."""
    dispute = services.resolve_dispute(current_user(), dispute_id, body.decision, body.note)
    return dispute_admin_out(dispute)
