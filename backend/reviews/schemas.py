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


class StaffRegistrationDetail(StaffRegistrationSummary):
    """A registration for its reviewer: child, guardian, addresses, documents, timeline."""

    child: StaffChildOut
    guardian: StaffGuardianOut
    hukou: AddressOut | None
    residence: AddressOut | None
    uploads: list[StaffUploadOut]
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
