"""Request and response models of the complaints API (监督举报)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TypeName = Literal["complaint", "appeal", "report"]
StatusName = Literal["submitted", "assigned", "answered", "closed"]

TYPE_NAMES = {"complaint": "投诉", "appeal": "申诉", "report": "举报"}
STATUS_NAMES = {"submitted": "已提交", "assigned": "处理中", "answered": "已答复",
                "closed": "已办结"}
PAGE_SIZE_MAX = 50


class ComplaintIn(BaseModel):
    """A complaint, appeal or report about a school and/or one of the family's registrations."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: TypeName
    school_code: str | None = Field(default=None, max_length=32)
    registration_id: int | None = Field(default=None, ge=1,
                                        description="the decision appealed against")
    text: str = Field(min_length=5, max_length=2000)
    anonymous: bool = Field(default=False,
                            description="hide the family from the school (not the bureau)")
    upload_ids: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=10, description="documents from POST /uploads")


class ComplaintAssignIn(BaseModel):
    """Who handles it: a staff account of the authority or of the school concerned."""

    model_config = ConfigDict(extra="forbid")
    assignee_user_id: int = Field(ge=1)


class ComplaintAnswerIn(BaseModel):
    """The answer the family will read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    answer: str = Field(min_length=2, max_length=5000)


class ComplaintCloseIn(BaseModel):
    """Closing remark, shown in the history."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(default="", max_length=500)


class AdminComplaintQuery(BaseModel):
    """Filters of the bureau's list."""

    model_config = ConfigDict(extra="forbid")
    status: StatusName | None = None
    school: str | None = Field(default=None, max_length=32, description="school code")
    type: TypeName | None = None
    overdue: bool | None = Field(default=None, description="open and past the answer deadline")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=PAGE_SIZE_MAX)


class StaffComplaintQuery(BaseModel):
    """Filters of a handler's own assignments."""

    model_config = ConfigDict(extra="forbid")
    status: StatusName | None = None
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=PAGE_SIZE_MAX)


class ComplaintSchool(BaseModel):
    """The school concerned."""

    code: str
    name: str


class ComplaintAttachment(BaseModel):
    """A document the family attached."""

    upload_id: str
    content_type: str
    size: int
    url: str


class ComplaintEventOut(BaseModel):
    """One step: what happened, when and by whom (a role, never a name)."""

    status: StatusName
    status_name: str
    at: str
    actor_role: str
    note: str | None


class ComplaintOut(BaseModel):
    """A complaint as the family that filed it sees it, with the answer and history."""

    id: int
    type: TypeName
    type_name: str
    status: StatusName
    status_name: str
    school: ComplaintSchool
    registration_id: int | None
    text: str
    anonymous: bool
    attachments: list[ComplaintAttachment]
    filed_at: str
    due_at: str
    answer: str | None
    answered_at: str | None
    closed_at: str | None
    history: list[ComplaintEventOut]


class ComplaintList(BaseModel):
    """The caller's complaints, newest first."""

    items: list[ComplaintOut]


class Complainant(BaseModel):
    """Who filed it, masked; absent for a school handler when the complaint is anonymous."""

    user_id: int
    name: str | None
    phone: str | None


class ComplaintRegistration(BaseModel):
    """The registration (decision) concerned, masked."""

    id: int
    status: str
    child_name: str


class StaffComplaintOut(BaseModel):
    """A complaint as its handlers see it (personal data masked)."""

    id: int
    type: TypeName
    type_name: str
    status: StatusName
    status_name: str
    school: ComplaintSchool
    text: str
    anonymous: bool
    complainant: Complainant | None
    registration: ComplaintRegistration | None
    attachments: list[ComplaintAttachment]
    filed_at: str
    due_at: str
    overdue: bool
    assignee_user_id: int | None
    answer: str | None
    answered_at: str | None
    closed_at: str | None
    history: list[ComplaintEventOut]


class StaffComplaintList(BaseModel):
    """A page of complaints, oldest deadline first."""

    items: list[StaffComplaintOut]
    total: int
    page: int
    page_size: int
