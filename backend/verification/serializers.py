"""Data checks as responses."""

from __future__ import annotations

from typing import Any

from backend.core.timeutil import local_iso
from backend.identity.categories import UPLOAD_KIND_NAMES
from backend.verification.consent import DATA_CHECK_CONSENT_VERSION
from backend.verification.models import CheckStatus, DataCheck
from backend.verification.schemas import (
    DataCheckConsentOut,
    DataCheckOut,
    DataChecksOut,
    ProposedSchoolOut,
    ZoningProposalOut,
)
from backend.verification.services import (
    FACT_DOCUMENTS,
    FACT_NAMES,
    FamilyView,
    check_message,
)


def check_out(check: DataCheck) -> DataCheckOut:
    """One check with the family's message."""
    kind = FACT_DOCUMENTS[check.fact]
    fact: Any = check.fact.value
    status: Any = check.status.value
    return DataCheckOut(
        fact=fact, fact_name=FACT_NAMES[check.fact], document_kind=kind.value,
        document_name=UPLOAD_KIND_NAMES[kind], status=status,
        verified=check.status is CheckStatus.CONFIRMED, message=check_message(check),
        source=check.source, reference=check.reference, checked_at=local_iso(check.checked_at),
        next_attempt_at=local_iso(check.next_attempt_at)
        if check.status is CheckStatus.UNAVAILABLE else None)


def family_view_out(view: FamilyView) -> DataChecksOut:
    """The family's view of one child's checks."""
    consent = view.consent
    zoning = []
    for proposal in view.zoning:
        fact: Any = proposal.fact.value
        zoning.append(ZoningProposalOut(
            fact=fact, region_code=proposal.region_code, region_name=proposal.region_name,
            schools=[ProposedSchoolOut(code=s.code, name=s.name,
                                       type=s.type.value)
                     for s in proposal.schools]))
    return DataChecksOut(
        child_id=view.child.id,
        consent=DataCheckConsentOut(
            version=consent.version, channel=consent.channel.value,
            agreed_at=local_iso(consent.agreed_at) or "") if consent else None,
        consent_version=DATA_CHECK_CONSENT_VERSION,
        checks=[check_out(c) for c in view.checks], zoning=zoning)
