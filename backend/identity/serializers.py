"""Identity objects as responses: every ID number and phone masked."""

from __future__ import annotations

from backend.accounts.models import User
from backend.core import pii
from backend.core.db import db
from backend.core.timeutil import local_iso
from backend.identity import services
from backend.identity.categories import UPLOAD_KIND_NAMES, required_uploads
from backend.identity.eligibility import eligibility
from backend.identity.models import Child, Guardian, IdentityDispute
from backend.identity.schemas import (
    AddressOut,
    ChildOut,
    ConsentOut,
    DisputeAdminOut,
    DisputeOut,
    EligibilityOut,
    GuardianOut,
    RegionOut,
    RequiredDocumentOut,
)
from backend.schools.models import Region
from backend.seasons.models import Season


def _masked(token: str | None, purpose: str, mask: type | object) -> str | None:
    if not token:
        return None
    return mask(pii.decrypt(token, purpose))  # type: ignore[operator]


def guardian_out(guardian: Guardian) -> GuardianOut:
    """The guardian's own binding, masked."""
    return GuardianOut(
        name=guardian.name,
        document_type=guardian.document_type.value,
        id_number=_masked(guardian.id_number_enc, services.GUARDIAN_ID, pii.mask_id_number)
        or "",
        relation=guardian.relation.value,
        phone=_masked(guardian.phone_enc, services.GUARDIAN_PHONE, pii.mask_phone),
        verification=guardian.verification.value,
        verified_at=local_iso(guardian.verified_at),
    )


def _address(region: Region | None, address: str) -> AddressOut | None:
    if region is None:
        return None
    town = region.parent.name if region.parent else None
    return AddressOut(region=RegionOut(code=region.code, name=region.name, town=town),
                      address=address)


def child_out(child: Child, season: Season | None) -> ChildOut:
    """A child for its guardian, with eligibility for `season` explained."""
    result = eligibility(child.birth_date, season.year if season else None,
                         season.age_cutoff if season else None)
    permit = child.residence_permit
    disability = child.disability
    hukou = _address(child.hukou_region, child.hukou_address)
    if hukou is None:  # hukou_region_id is NOT NULL: cannot happen
        raise RuntimeError(f"child {child.id} has no household region")
    return ChildOut(
        id=child.id, name=child.name,
        document_type=child.document_type.value,
        id_number=_masked(child.id_number_enc, services.CHILD_ID, pii.mask_id_number) or "",
        birth_date=child.birth_date, sex=child.sex.value,
        hukou=hukou,
        residence=_address(child.residence_region, child.residence_address),
        residence_permit={
            "number": _masked(permit.get("number_enc"), services.PERMIT_NUMBER,
                              pii.mask_id_number),
            "issued_on": permit.get("issued_on"), "expires_on": permit.get("expires_on"),
            "issuing_city": permit.get("issuing_city"),
        } if permit else None,
        categories=child.categories,  # type: ignore[arg-type]
        disability={
            "placement_wish": disability.get("placement_wish"),
            "placement_wish_name": disability.get("placement_wish_name"),
            "note": disability.get("note"),
        } if disability else None,
        required_documents=[RequiredDocumentOut(kind=k.value, name=UPLOAD_KIND_NAMES[k])
                            for k in required_uploads(child.categories)],
        eligibility=EligibilityOut(eligible=result.eligible, reason=result.reason,
                                   season_year=result.season_year,
                                   age_cutoff=result.age_cutoff),
    )


def consent_out(child: Child) -> ConsentOut:
    """The consent recorded for a child: version, time (Beijing) and channel."""
    consent = child.consent
    return ConsentOut(child_id=child.id, version=consent.version,
                      agreed_at=local_iso(consent.agreed_at), channel=consent.channel.value)


def dispute_out(dispute: IdentityDispute) -> DisputeOut:
    """A dispute with masked number and phone; the claimed name masked too."""
    view = services.dispute_view(dispute)
    return DisputeOut(
        id=dispute.id, status=dispute.status.value,
        claimed_name=pii.mask_name(dispute.claimed_name), id_number=view.id_number_masked,
        contact_phone=view.phone_masked, note=dispute.note,
        resolution_note=dispute.resolution_note,
        created_at=local_iso(dispute.created_at) or "",
        resolved_at=local_iso(dispute.resolved_at),
        requester_user_id=dispute.requester_user_id, bound_user_id=dispute.guardian.user_id,
    )


def dispute_admin_out(dispute: IdentityDispute) -> DisputeAdminOut:
    """A dispute for the bureau: both sides masked, and what a transfer would move."""
    guardian = dispute.guardian
    phone = pii.decrypt(guardian.phone_enc, services.GUARDIAN_PHONE) \
        if guardian.phone_enc else None
    requester = db.session.get(User, dispute.requester_user_id)
    return DisputeAdminOut(
        **dispute_out(dispute).model_dump(),
        bound_name=pii.mask_name(guardian.name),
        bound_phone=pii.mask_phone(phone) if phone else None,
        children=len(guardian.children),
        requester_bound=requester is not None and services.guardian_of(requester) is not None,
        resolved_by_user_id=dispute.resolved_by_user_id,
    )
