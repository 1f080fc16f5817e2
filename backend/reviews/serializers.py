"""Registrations as reviewers see them: names, ID numbers and phones masked."""

from __future__ import annotations

from typing import Any

from backend.core import pii
from backend.core.timeutil import local_iso
from backend.identity import services as identity
from backend.identity.categories import CATEGORIES, PLACEMENT_WISHES, UPLOAD_KIND_NAMES
from backend.identity.models import Child
from backend.registrations.models import Basis, Registration
from backend.registrations.requirements import Requirement
from backend.registrations.schemas import STATUS_NAMES
from backend.registrations.transitions import needs_bureau_review
from backend.reviews.reasons import label
from backend.reviews.schemas import (
    BASIS_NAMES,
    AddressOut,
    BatchApproveOut,
    BatchCandidateOut,
    BatchSkippedOut,
    CategoryOut,
    RegionOut,
    RequirementCheckOut,
    RequirementOut,
    StaffChildOut,
    StaffGuardianOut,
    StaffRegistrationDetail,
    StaffRegistrationSummary,
    StaffTimelineEntry,
    StaffUploadOut,
)
from backend.reviews.services import SKIP_REASONS, BatchResult
from backend.schools.models import Region
from backend.verification.services import FACT_NAMES, not_passed_reason


def masked(token: str | None, purpose: str, mask: Any) -> str | None:
    """Decrypt and mask one value (None once purged)."""
    if not token:
        return None
    try:
        return str(mask(pii.decrypt(token, purpose)))
    except pii.DecryptionError:
        return None


def _ref(region: Region | None) -> RegionOut | None:
    return RegionOut(code=region.code, name=region.name) if region else None


def basis_region(registration: Registration) -> Region | None:
    """The village/community of the address the registration's basis names."""
    child = registration.child
    if registration.basis is Basis.HUKOU:
        return child.hukou_region
    return child.residence_region


def town_of(region: Region | None) -> Region | None:
    """The town a village belongs to (a town is its own)."""
    if region is None:
        return None
    return region.parent or region


def summary_fields(registration: Registration) -> dict[str, Any]:
    """The queue row's fields."""
    status: Any = registration.status.value
    categories = list(registration.child.categories or [])
    return {
        "id": registration.id, "ticket": registration.ticket, "version": registration.version,
        "status": status, "status_name": STATUS_NAMES[status],
        "season_year": registration.season.year,
        "school": {"id": registration.school.id, "code": registration.school.code,
                   "name": registration.school.name},
        "child_name": pii.mask_name(registration.child.name),
        "categories": categories,
        "basis": registration.basis.value, "basis_name": BASIS_NAMES[registration.basis.value],
        "out_of_zone": registration.out_of_zone,
        "town": _ref(town_of(basis_region(registration))),
        "needs_bureau_review": needs_bureau_review(categories),
        "fix_deadline": local_iso(registration.fix_deadline),
        "submitted_at": local_iso(registration.created_at) or "",
    }


def summary_out(registration: Registration,
                all_verified: bool | None = None) -> StaffRegistrationSummary:
    """One row of the review queue."""
    return StaffRegistrationSummary(**summary_fields(registration), all_verified=all_verified)


def requirement_out(requirement: Requirement) -> RequirementOut:
    """One requirement with the check behind it (source, reference, time or reason)."""
    check = requirement.check
    status: Any = check.status.value if check else None
    return RequirementOut(
        kind=requirement.kind.value, name=UPLOAD_KIND_NAMES[requirement.kind],
        alternatives=[k.value for k in requirement.kinds],
        state=requirement.state,  # type: ignore[arg-type]
        verification=RequirementCheckOut(
            fact=check.fact.value, fact_name=FACT_NAMES[check.fact], source=check.source,
            reference=check.reference, checked_at=local_iso(check.checked_at),
            status=status, reason=not_passed_reason(check)) if check else None,
        upload_ids=requirement.upload_ids)


def _address(region: Region | None, address: str) -> AddressOut | None:
    if region is None:
        return None
    return AddressOut(town=_ref(region.parent), region=RegionOut(code=region.code,
                                                                 name=region.name),
                      address=address)


def _child(child: Child) -> StaffChildOut:
    wish = (child.disability or {}).get("placement_wish")
    return StaffChildOut(
        id=child.id, name=pii.mask_name(child.name),
        id_number=masked(child.id_number_enc, identity.CHILD_ID, pii.mask_id_number),
        document_type=child.document_type.value, birth_date=child.birth_date,
        sex=child.sex.value,
        categories=[CategoryOut(key=k, name=CATEGORIES[k][0]) for k in child.categories or []
                    if k in CATEGORIES],
        disability_placement_wish=PLACEMENT_WISHES.get(wish) if wish else None,
    )


def detail_out(registration: Registration, decisions: list[str],
               requirements: list[Requirement]) -> StaffRegistrationDetail:
    """A registration for its reviewer, masked, with documents, each requirement's state
    and the full timeline."""
    child = registration.child
    guardian = child.guardian
    return StaffRegistrationDetail(
        **summary_fields(registration),
        all_verified=all(r.state == "verified" for r in requirements),
        requirements=[requirement_out(r) for r in requirements],
        child=_child(child),
        guardian=StaffGuardianOut(
            name=pii.mask_name(guardian.name), relation=guardian.relation.value,
            phone=masked(guardian.phone_enc, identity.GUARDIAN_PHONE, pii.mask_phone),
            id_number=masked(guardian.id_number_enc, identity.GUARDIAN_ID,
                             pii.mask_id_number)),
        hukou=_address(child.hukou_region, child.hukou_address),
        residence=_address(child.residence_region, child.residence_address),
        uploads=[StaffUploadOut(
            upload_id=u.id, kind=u.kind.value, kind_name=UPLOAD_KIND_NAMES[u.kind],
            content_type=u.content_type, size=u.size,
            available=u.purged_at is None and u.storage_name is not None)
            for u in registration.uploads],
        timeline=[StaffTimelineEntry(
            status=e.status.value,
            status_name=STATUS_NAMES[e.status.value], at=local_iso(e.occurred_at) or "",
            actor_role=e.actor_role, actor_user_id=e.actor_user_id,
            reason_code=e.reason_code, reason=label(e.reason_code), note=e.note)
            for e in registration.events],
        decisions=decisions,  # type: ignore[arg-type]
    )


def batch_out(result: BatchResult) -> BatchApproveOut:
    """What a batch approval did, with the reason of each skip."""
    reasons: dict[str, int] = {}
    for _id, reason in result.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    return BatchApproveOut(
        dry_run=result.dry_run, replayed=result.replayed, approved=len(result.approved),
        forwarded=len(result.forwarded), skipped=len(result.skipped),
        approved_ids=result.approved, forwarded_ids=result.forwarded,
        skipped_items=[BatchSkippedOut(id=i, reason=r,  # type: ignore[arg-type]
                                       message=SKIP_REASONS[r]) for i, r in result.skipped],
        skipped_by_reason=reasons,
        candidates=[BatchCandidateOut(id=i, version=v) for i, v in result.candidates],
        more=result.more)
