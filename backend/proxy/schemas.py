"""Request and response models of 代报名 (staff-entered registrations) and of the claim."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.identity.schemas import NAME_PATTERN, ChildIn, DocumentTypeName, RelationName
from backend.registrations.schemas import BasisName, StatusName, TicketOut

MAX_PER_PAGE = 100
PHONE_PATTERN = r"^1[3-9]\d{9}$"


class CounterGuardianIn(BaseModel):
    """The guardian's real-name facts, typed by staff from the documents at the counter."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=30, pattern=NAME_PATTERN)
    document_type: DocumentTypeName = "resident_id"
    id_number: str = Field(min_length=5, max_length=32)
    relation: RelationName
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN,
                              description="the family's mobile number, if it has one")


class ProxyRegistrationIn(BaseModel):
    """A registration entered at the counter (代报名) for a family without a smartphone."""

    model_config = ConfigDict(extra="forbid")
    guardian: CounterGuardianIn
    child: ChildIn = Field(description="the same fields and rules as POST /me/children "
                                       "(the consent is the field below)")
    school_code: str | None = Field(default=None, max_length=32,
                                    description="school staff: their own (may be left out); "
                                                "bureau admins: required")
    basis: BasisName
    upload_ids: list[str] = Field(
        default_factory=list, max_length=20,
        description="documents staff scanned for this family (POST /uploads as staff)")
    documents_checked: Literal[True] = Field(
        description="the family's identity documents were checked at the counter")
    guardian_consent_given: Literal[True] = Field(
        description="the guardian read the consent text of GET /privacy/consent-text at the "
                    "counter and agreed in person; recorded with the child (channel counter, "
                    "the current version, the staff member) when the child is new")


class SchoolRef(BaseModel):
    """A school by code and name."""

    code: str
    name: str


class SlipOut(BaseModel):
    """What the slip printed for the family shows (names masked, the code in full)."""

    school: SchoolRef
    child_name: str = Field(description="masked")
    guardian_name: str = Field(description="masked")
    claim_code: str = Field(description="8 characters, shown as XXXX-XXXX; single use")
    claim_code_expires_at: str


class ProxyEntryOut(TicketOut):
    """The intake's ticket (follow it at /staff/proxy-registrations/tickets/{ticket}) and
    the slip with the family's claim code."""

    slip: SlipOut


class ClaimCodeOut(BaseModel):
    """A new claim code for a family (the previous one no longer works)."""

    registration_id: int
    slip: SlipOut


class ProxyQuery(BaseModel):
    """Filters and page of the list of registrations entered at the counter."""

    model_config = ConfigDict(extra="forbid")
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")
    claimed: bool | None = Field(default=None, description="claimed from WeChat or not yet")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=10_000,
                          description=f"page size, at most {MAX_PER_PAGE} are returned")


class ProxyRegistrationSummary(BaseModel):
    """One registration entered at the counter, masked."""

    id: int
    ticket: str
    status: StatusName
    status_name: str
    school: SchoolRef
    child_name: str = Field(description="masked")
    guardian_name: str = Field(description="masked")
    entered_at: str
    entered_by_role: str
    entered_by_name: str | None
    claimed: bool
    claim_code_expires_at: str | None = Field(description="while unclaimed")
    claim_code_expired: bool


class ProxyRegistrationList(BaseModel):
    """A page of the registrations entered at the counter, newest registration id first."""

    items: list[ProxyRegistrationSummary]
    total: int
    page: int
    per_page: int


class ClaimIn(BaseModel):
    """The claim code printed on the slip the school gave the family."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32)


class ClaimedRegistration(BaseModel):
    """A registration that is now the caller's."""

    id: int
    school_name: str
    child_name: str
    status: StatusName
    status_name: str


class ClaimOut(BaseModel):
    """What the caller's account took over."""

    registrations: list[ClaimedRegistration]
    children: int
    message: str
