"""Request and response models of the class assignment API (均衡分班)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ScopeName = Literal["checked_in", "confirmed"]
StatusName = Literal["committed", "published", "cancelled"]
SexName = Literal["male", "female"]
MAX_PER_PAGE = 100


class ClassSchoolRef(BaseModel):
    """A school by code and name."""

    code: str
    name: str


# --- together requests ---------------------------------------------------------------------


class TogetherRequestIn(BaseModel):
    """Twins/siblings (same guardian) the family asked to keep in one class."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")
    registration_ids: list[Annotated[int, Field(ge=1, le=2_000_000_000)]] = Field(
        min_length=2, max_length=6, json_schema_extra={"uniqueItems": True})
    note: str = Field(default="", max_length=200)

    @field_validator("registration_ids")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("registration ids must be distinct")
        return value


class TogetherQuery(BaseModel):
    """Filters of the together-request list."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")


class TogetherMemberOut(BaseModel):
    """A child of a request (masked)."""

    registration_id: int
    child_name: str


class TogetherRequestOut(BaseModel):
    """A together request."""

    id: int
    season_id: int
    school: ClassSchoolRef
    members: list[TogetherMemberOut]
    note: str
    created_by_user_id: int
    created_at: str


class TogetherRequestList(BaseModel):
    """Together requests of a school's season."""

    items: list[TogetherRequestOut]


# --- assignments ---------------------------------------------------------------------------


class ClassCommitIn(BaseModel):
    """Freeze the input: who is assigned, the rules, and which public value will seed it."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")
    scope: ScopeName = Field(default="checked_in",
                             description="checked_in: children checked in on site (after "
                                         "every slot ended); confirmed: every confirmed offer")
    public_value_source: str = Field(
        min_length=4, max_length=200,
        description="the future public value that will seed the draw, named now "
                    "(e.g. a named lottery draw on a named date)")


class ClassDrawIn(BaseModel):
    """The public value, once known: the seed is SHA-256(commitment ‖ value)."""

    model_config = ConfigDict(extra="forbid")
    public_value: str = Field(min_length=1, max_length=200)


class ClassCancelIn(BaseModel):
    """Why a committed (not yet drawn) assignment is cancelled."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500)


class ClassCorrectionIn(BaseModel):
    """An audited change after publication: move a child, or take a child who left out."""

    model_config = ConfigDict(extra="forbid")
    registration_id: int = Field(ge=1, le=2_000_000_000)
    to_class: int | None = Field(default=None, ge=1, le=100,
                                 description="null only with reason_code left_school")
    reason_code: str = Field(max_length=40, description="see GET /staff/classes/correction-reasons")
    note: str = Field(default="", max_length=500,
                      description="for staff and the audit log; not published")


class ClassAssignmentQuery(BaseModel):
    """Filters of the staff assignment list."""

    model_config = ConfigDict(extra="forbid")
    season_id: int | None = Field(default=None, ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")


class ClassSummaryOut(BaseModel):
    """One class: size, boys, girls, special needs, mean birth month (months since year 0)."""

    class_no: int
    size: int
    male: int
    female: int
    special: int
    mean_birth_month: float | None


class ClassAssignmentOut(BaseModel):
    """An assignment: its commitment, seed and per-class summary (no personal data)."""

    id: int
    season_id: int
    season_year: int
    school: ClassSchoolRef
    status: StatusName
    scope: ScopeName
    rules_version: str
    classes: int
    class_size: int
    pupil_count: int
    commitment: str
    public_value_source: str
    public_value: str | None
    seed: str | None
    committed_at: str
    committed_by_user_id: int
    published_at: str | None
    published_by_user_id: int | None
    cancel_reason: str | None
    corrections: int
    summary: list[ClassSummaryOut] | None = Field(description="after corrections; null "
                                                              "before the draw")
    evidence_path: str


class ClassAssignmentList(BaseModel):
    """Assignments, newest first."""

    items: list[ClassAssignmentOut]


class ClassPupilOut(BaseModel):
    """A child of an assignment, as staff see it (masked name)."""

    pseudonym: str
    registration_id: int
    child_name: str
    sex: SexName
    birth: str
    special: bool
    group: str | None
    drawn_class_no: int | None
    class_no: int | None


class ClassPupilQuery(BaseModel):
    """Filters and page of an assignment's children."""

    model_config = ConfigDict(extra="forbid")
    class_no: int | None = Field(default=None, ge=0, le=100,
                                 description="current class; 0: left the school")
    sex: SexName | None = None
    special: bool | None = None
    grouped: bool | None = Field(default=None, description="in a together request group")
    corrected: bool | None = Field(default=None,
                                   description="current class differs from the drawn one")
    q: str | None = Field(default=None, max_length=40,
                          description="pseudonym, registration number or masked name (张*明)")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=10_000,
                          description=f"page size, at most {MAX_PER_PAGE} are returned")


class ClassPupilPage(BaseModel):
    """A page of an assignment's children, in the committed (pseudonym) order."""

    items: list[ClassPupilOut]
    total: int
    page: int
    per_page: int


class ClassCorrectionOut(BaseModel):
    """A correction: who, when, from where to where, why."""

    id: int
    pseudonym: str
    registration_id: int
    from_class: int | None
    to_class: int | None
    reason_code: str
    reason: str
    note: str
    corrected_by_user_id: int
    corrected_by_name: str | None = Field(default=None, description="display name")
    corrected_at: str


class ClassCorrectionList(BaseModel):
    """An assignment's corrections in the order they were made."""

    items: list[ClassCorrectionOut]


class ClassAssignmentDetail(ClassAssignmentOut):
    """An assignment with every child and every correction, for staff."""

    pupils: list[ClassPupilOut]
    correction_log: list[ClassCorrectionOut]


class ClassCorrectionReasonOut(BaseModel):
    """A correction reason."""

    code: str
    label: str


class ClassCorrectionReasonList(BaseModel):
    """The correction reasons."""

    items: list[ClassCorrectionReasonOut]


# --- public evidence -----------------------------------------------------------------------


class ClassEvidencePupil(BaseModel):
    """A child as published: pseudonymous id and the attributes the rules balance."""

    id: str
    sex: SexName
    birth: str = Field(description="YYYY-MM")
    special: bool
    group: str | None


class ClassEvidenceInput(BaseModel):
    """The committed document; its canonical JSON hashes to the commitment."""

    rules_version: str
    classes: int
    class_size: int
    pupils: list[ClassEvidencePupil]


class ClassEvidenceCorrection(BaseModel):
    """A published correction (the reason code and label; staff notes stay internal)."""

    id: str = Field(description="pseudonymous id")
    from_class: int | None
    to_class: int | None
    reason_code: str
    reason: str
    at: str


class ClassEvidence(BaseModel):
    """Everything `scripts/verify_classes` needs to recompute the assignment."""

    kind: Literal["class_assignment"] = "class_assignment"
    format: int = 1
    assignment_id: int
    status: StatusName
    school: ClassSchoolRef
    season_year: int
    scope: ScopeName
    rules_version: str
    rules: list[str]
    pseudonym_note: str
    input: ClassEvidenceInput
    commitment: str
    public_value_source: str
    public_value: str | None
    seed: str | None
    result: dict[str, int] | None = Field(description="pseudonymous id → class, as drawn")
    corrections: list[ClassEvidenceCorrection]
    corrected: bool
    final: dict[str, int | None] | None = Field(
        description="after the corrections in order; null: left the school")
    summary: list[ClassSummaryOut] | None
    committed_at: str
    published_at: str | None


class PublicClassAssignmentQuery(BaseModel):
    """The public list of a school's assignments."""

    model_config = ConfigDict(extra="forbid")
    school: str = Field(min_length=1, max_length=32, description="school code")


class PublicClassAssignmentOut(BaseModel):
    """A school's assignment in the public list."""

    id: int
    season_year: int
    status: StatusName
    commitment: str
    public_value_source: str
    published_at: str | None
    corrected: bool
    evidence_path: str


class PublicClassAssignmentList(BaseModel):
    """Committed and published assignments of a school (cancelled ones too, marked)."""

    school: ClassSchoolRef
    items: list[PublicClassAssignmentOut]


class MyClassOut(BaseModel):
    """The family's view: the child's class and how to check it."""

    registration_id: int
    school: ClassSchoolRef
    season_year: int
    class_no: int
    class_name: str
    pseudonym: str = Field(description="the child's id in the published evidence")
    assignment_id: int
    corrected: bool = Field(description="the child's class was changed after publication")
    published_at: str
    evidence_path: str
