"""Request and response models of the registrations API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.identity.schemas import CategoryOut, RequiredDocumentOut

BasisName = Literal["hukou", "residence", "residence_permit"]
StatusName = Literal["submitted", "under_review", "returned", "bureau_review", "approved",
                     "rejected", "withdrawn"]

STATUS_NAMES = {
    "submitted": "已受理", "under_review": "审核中", "returned": "退回修改",
    "bureau_review": "待教育局复核", "approved": "审核通过", "rejected": "未通过",
    "withdrawn": "已撤回",
}
FAIRNESS = "报名先后不影响录取"


class SubmitIn(BaseModel):
    """A registration: which child, which school, on what basis, with which documents."""

    model_config = ConfigDict(extra="forbid")
    child_id: int = Field(ge=1)
    school_code: str = Field(min_length=1, max_length=32)
    basis: BasisName
    upload_ids: list[str] = Field(default_factory=list, max_length=20)


class EditIn(BaseModel):
    """A change to a submitted or returned registration: basis and documents."""

    model_config = ConfigDict(extra="forbid")
    basis: BasisName
    upload_ids: list[str] = Field(default_factory=list, max_length=20)


class TicketOut(BaseModel):
    """The intake's answer: a ticket to follow; order of submission never matters."""

    ticket: str
    state: Literal["queued", "accepted", "rejected"]
    position: int | None = Field(description="approximate place in the queue while queued")
    registration_id: int | None = None
    error: dict[str, str] | None = None
    fairness_notice: str = FAIRNESS


class TimelineEntry(BaseModel):
    """One step: what happened, when, and by whom (a role, never a staff name)."""

    status: StatusName
    status_name: str
    at: str
    actor_role: str
    reason_code: str | None
    reason: str | None = Field(default=None, description="the reason code's Chinese label")
    note: str | None


class CorrectionOut(BaseModel):
    """What a returned registration needs fixed, and by when (PATCH it before then)."""

    reason_code: str | None
    reason: str | None
    note: str | None
    fix_deadline: str | None


class RegistrationOut(BaseModel):
    """A registration as its family sees it."""

    id: int
    ticket: str
    status: StatusName
    status_name: str
    season_year: int
    school: dict[str, str]
    child: dict[str, int | str]
    basis: BasisName
    out_of_zone: bool
    submitted_at: str
    uploads: list[dict[str, str]]
    timeline: list[TimelineEntry]
    can_withdraw: bool
    correction: CorrectionOut | None = None
    fairness_notice: str = FAIRNESS


class RegistrationList(BaseModel):
    """The caller's registrations, newest first."""

    items: list[RegistrationOut]
    fairness_notice: str = FAIRNESS


class DocumentRequirementOut(RequiredDocumentOut):
    """A document a basis needs; for one child (`?child_id=`), whether government data
    already verified it."""

    verified: bool | None = Field(
        default=None, description="only with ?child_id: true when a confirmed data check "
                                  "stands in for this document (no upload needed)")
    verification: str | None = Field(
        default=None, description="only with ?child_id: the check's message, e.g. "
                                  "已由户籍信息核验，无需上传 or why it did not pass")


class BasisRequirementOut(BaseModel):
    """The documents one basis needs."""

    basis: BasisName
    documents: list[list[DocumentRequirementOut]] = Field(
        description="every group is required; any one document of a group fills it")


class RequirementsQuery(BaseModel):
    """Optionally one of the caller's children (parent login): the answer then says per
    document whether it is already verified, and is private."""

    model_config = ConfigDict(extra="forbid")
    child_id: int | None = Field(default=None, ge=1, le=2_000_000_000)


class RequirementsOut(BaseModel):
    """What a registration must carry: per basis, plus what each special group adds."""

    bases: list[BasisRequirementOut]
    categories: list[CategoryOut]
    document_kinds: dict[str, str] = Field(description="every upload kind's Chinese label")
    verified_documents: dict[str, str] | None = Field(
        default=None, description="only with ?child_id: upload kind → message, for every "
                                  "kind a confirmed data check stands in for (the special "
                                  "groups' documents included)")
