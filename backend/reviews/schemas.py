"""Request and response models of the staff review API (every name and number masked)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.identity.schemas import CategoryName
from backend.registrations.schemas import FAIRNESS, BasisName, StatusName

# A category key, or "preferential" for any of the preferential groups (优抚对象, 华侨, 港澳台 …).
CategoryFilter = CategoryName | Literal["preferential"]
DecisionName = Literal["approve", "return", "reject"]
VerifiedFilter = Literal["all", "needs_documents"]
RequirementState = Literal["verified", "uploaded", "missing"]

BASIS_NAMES = {"hukou": "户籍", "residence": "实际居住地", "residence_permit": "居住证"}
MAX_PER_PAGE = 100


class RegistrationFilterQuery(BaseModel):
    """Filters shared by the staff list and the export."""

    model_config = ConfigDict(extra="forbid")
    status: StatusName | None = None
    basis: BasisName | None = None
    category: CategoryFilter | None = Field(
        default=None, description="a child category key, or 'preferential' for any of them")
    out_of_zone: bool | None = None
    town: str | None = Field(default=None, max_length=32,
                             description="town region code (or id): where the basis address is")
    school: str | None = Field(default=None, max_length=32,
                               description="school code (or id); bureau admins only")
    year: int | None = Field(default=None, ge=2000, le=2100, description="season year")
    q: str | None = Field(default=None, max_length=40,
                          description="registration number, ticket, surname or masked name "
                                      "(e.g. 张*明)")
    verified: VerifiedFilter | None = Field(
        default=None, description="all: every requirement confirmed by a government data "
                                  "source (no document needed); needs_documents: the others")


class StaffRegistrationQuery(RegistrationFilterQuery):
    """Filters and page of the staff list."""

    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=10_000,
                          description=f"page size, at most {MAX_PER_PAGE} are returned")


class RegionOut(BaseModel):
    """A region by code and name."""

    code: str
    name: str


class StaffRegistrationSummary(BaseModel):
    """One row of the review queue."""

    id: int
    ticket: str
    version: int = Field(description="send it back as expected_version when reviewing")
    status: StatusName
    status_name: str
    season_year: int
    school: dict[str, str | int]
    child_name: str = Field(description="masked")
    categories: list[str]
    basis: BasisName
    basis_name: str
    out_of_zone: bool
    town: RegionOut | None = Field(description="town of the address the basis names")
    needs_bureau_review: bool
    fix_deadline: str | None
    submitted_at: str
    all_verified: bool | None = Field(
        default=None, description="every requirement confirmed by a government data source "
                                  "(list rows and the detail)")


class StaffRegistrationList(BaseModel):
    """A page of registrations in the caller's scope, ordered by id (never a ranking)."""

    items: list[StaffRegistrationSummary]
    total: int
    page: int
    per_page: int
    fairness_notice: str = FAIRNESS


class CategoryOut(BaseModel):
    """A special group by key and Chinese name."""

    key: str
    name: str


class StaffChildOut(BaseModel):
    """The child, masked."""

    id: int
    name: str
    id_number: str | None
    document_type: str
    birth_date: dt.date
    sex: str
    categories: list[CategoryOut]
    disability_placement_wish: str | None


class StaffGuardianOut(BaseModel):
    """The guardian, masked."""

    name: str
    relation: str
    phone: str | None
    id_number: str | None


class AddressOut(BaseModel):
    """A region (with its town) and the street address."""

    town: RegionOut | None
    region: RegionOut
    address: str


class StaffUploadOut(BaseModel):
    """A document of the registration (read it through the uploads sub-path)."""

    upload_id: str
    kind: str
    kind_name: str
    content_type: str
    size: int
    available: bool = Field(description="false once purged")


class StaffTimelineEntry(BaseModel):
    """One step: what, when, and who (role and user id; staff see ids, parents only roles)."""

    status: StatusName
    status_name: str
    at: str
    actor_role: str
    actor_user_id: int | None
    reason_code: str | None
    reason: str | None
    note: str | None


class RequirementCheckOut(BaseModel):
    """The government data check behind a requirement (never a personal value)."""

    fact: str = Field(description="household | property | residence_permit | birth")
    fact_name: str = Field(description="e.g. 户籍信息")
    source: str | None = Field(description="the source that answered")
    reference: str | None = Field(description="the source's reference number for the query")
    checked_at: str | None
    status: Literal["pending", "confirmed", "not_found", "mismatch", "unavailable"]
    reason: str | None = Field(description="why it did not confirm (mismatch, not found …)")


class RequirementOut(BaseModel):
    """One required document: verified by a source, uploaded (look at it), or missing."""

    kind: str = Field(description="the document kind that fills it (any of `alternatives`)")
    name: str
    alternatives: list[str] = Field(description="document kinds any one of which fills it")
    state: RequirementState
    verification: RequirementCheckOut | None = Field(
        description="the confirming check (verified), or the check that did not pass and "
                    "so why the family uploaded; null when none was asked")
    upload_ids: list[str] = Field(description="the registration's documents of these kinds")


class StaffRegistrationDetail(StaffRegistrationSummary):
    """A registration for its reviewer: child, guardian, addresses, documents, timeline."""

    child: StaffChildOut
    guardian: StaffGuardianOut
    hukou: AddressOut | None
    residence: AddressOut | None
    uploads: list[StaffUploadOut]
    requirements: list[RequirementOut] = Field(
        description="per required document: verified (source, reference, time), uploaded "
                    "or missing")
    timeline: list[StaffTimelineEntry]
    decisions: list[DecisionName] = Field(description="what the caller may decide now")


class ReviewIn(BaseModel):
    """A review decision, with the state the reviewer saw (409 STALE_STATE if it changed)."""

    model_config = ConfigDict(extra="forbid")
    decision: DecisionName
    reason_code: str | None = Field(default=None, max_length=40,
                                    description="see GET /staff/review-reasons")
    note: str | None = Field(default=None, max_length=500)
    fix_deadline: dt.datetime | None = Field(
        default=None, description="return only; default 3 days; a time without offset is "
                                  "Asia/Shanghai")
    expected_status: StatusName
    expected_version: int | None = Field(default=None, ge=1,
                                         description="the version the reviewer saw")


class ReasonOut(BaseModel):
    """A standard reason."""

    code: str
    label: str
    decisions: list[str]
    note_required: bool


class ReasonList(BaseModel):
    """Standard reasons and the default fix window."""

    items: list[ReasonOut]
    default_fix_days: int
    max_fix_days: int


class BatchItemIn(BaseModel):
    """A registration as the reviewer saw it."""

    model_config = ConfigDict(extra="forbid")
    id: int = Field(ge=1, le=2_147_483_647)
    version: int = Field(ge=1, le=2_147_483_647)


class BatchApproveIn(BaseModel):
    """Approve every all-verified registration of the filter that the caller may approve
    now (at most 500 per request); `items` limits it to what the reviewer saw."""

    model_config = ConfigDict(extra="forbid")
    verified: Literal["all"] = Field(description="only registrations whose every requirement "
                                                 "a government data source confirmed")
    school: str | None = Field(default=None, max_length=32, description="school code (or id)")
    season_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    year: int | None = Field(default=None, ge=2000, le=2100, description="season year")
    items: list[BatchItemIn] | None = Field(
        default=None, max_length=500,
        description="the ids and versions the reviewer saw; a changed one is skipped")
    dry_run: bool = Field(default=False, description="only say what would be approved")
    note: str | None = Field(default=None, max_length=500)


class BatchSkippedOut(BaseModel):
    """A registration the batch did not approve, and why."""

    id: int
    reason: Literal["NOT_FOUND", "STALE_STATE", "NOT_ALL_VERIFIED", "OUTSIDE_FILTER",
                    "NOT_REVIEWABLE"]
    message: str


class BatchCandidateOut(BaseModel):
    """A registration a dry run would approve (send it back in `items`)."""

    id: int
    version: int


class BatchApproveOut(BaseModel):
    """What the batch did: approved, forwarded to the bureau (special groups approved by a
    school), skipped with reasons."""

    dry_run: bool
    replayed: bool = Field(description="the same Idempotency-Key was used before: its answer")
    approved: int
    forwarded: int
    skipped: int
    approved_ids: list[int]
    forwarded_ids: list[int]
    skipped_items: list[BatchSkippedOut]
    skipped_by_reason: dict[str, int]
    candidates: list[BatchCandidateOut] = Field(description="dry run: what would be approved")
    more: bool = Field(description="more than 500 matched: send it again for the rest")
