"""Request and response models of the announcements API."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CategoryName = Literal["policy", "zones", "conditions", "materials", "process", "contacts",
                       "complaints", "plan", "admitted_list", "other"]
StatusName = Literal["draft", "scheduled", "held", "published", "rejected", "withdrawn"]
LevelName = Literal["county", "school"]

CATEGORY_NAMES: dict[str, str] = {
    "policy": "招生政策", "zones": "划片范围", "conditions": "入学条件", "materials": "报名材料",
    "process": "报名流程与时间", "contacts": "咨询电话", "complaints": "监督举报渠道（含信访地址）",
    "plan": "实施方案", "admitted_list": "新生名单", "other": "其他",
}
STATUS_NAMES: dict[str, str] = {
    "draft": "草稿", "scheduled": "定时发布", "held": "待人工审核", "published": "已发布",
    "rejected": "未通过审核", "withdrawn": "已撤回",
}
TITLE_MAX = 100
BODY_MAX = 20_000
PAGE_SIZE_MAX = 50


class AnnouncementIn(BaseModel):
    """A new announcement (a draft): county-level when a bureau admin gives no school."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    school_code: str | None = Field(
        default=None, max_length=32,
        description="the school it belongs to; school staff may omit it (their own school)")
    category: CategoryName
    title: str = Field(min_length=2, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    publish_at: AwareDatetime | None = Field(
        default=None, description="publish later (ISO 8601 with offset); empty: at once")


class AnnouncementPatch(BaseModel):
    """Changes to a draft, rejected, held or scheduled announcement (it becomes a draft)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: CategoryName | None = None
    title: str | None = Field(default=None, min_length=2, max_length=TITLE_MAX)
    body: str | None = Field(default=None, min_length=1, max_length=BODY_MAX)
    publish_at: AwareDatetime | None = None


class AnnouncementNoteIn(BaseModel):
    """An optional reason (withdraw, release)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(default="", max_length=500)


class AnnouncementRejectIn(BaseModel):
    """Why a held announcement may not be published."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(min_length=2, max_length=500)


class AnnouncementQuery(BaseModel):
    """Filters of the public list."""

    model_config = ConfigDict(extra="forbid")
    authority: str | None = Field(default=None, max_length=32, description="authority code")
    school: str | None = Field(
        default=None, max_length=32,
        description="school code: that school's announcements and the county's")
    category: CategoryName | None = None
    level: LevelName | None = Field(default=None, description="county or school only")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=PAGE_SIZE_MAX)


class StaffAnnouncementQuery(BaseModel):
    """Filters of the staff list (school staff always see their own school's only)."""

    model_config = ConfigDict(extra="forbid")
    status: StatusName | None = None
    school: str | None = Field(default=None, max_length=32, description="school code")
    category: CategoryName | None = None
    level: LevelName | None = None
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=PAGE_SIZE_MAX)


class AnnouncementSchool(BaseModel):
    """A school by code and name."""

    code: str
    name: str


class AnnouncementAttachment(BaseModel):
    """A file attached to an announcement."""

    upload_id: str
    content_type: str
    size: int
    sha256: str
    url: str = Field(description="where to download it")


class AnnouncementSummary(BaseModel):
    """An announcement in the public list."""

    id: int
    level: LevelName
    authority: str = Field(description="authority code")
    school: AnnouncementSchool | None
    category: CategoryName
    category_name: str
    title: str
    published_at: str
    attachment_count: int


class AnnouncementOut(AnnouncementSummary):
    """A published announcement with its text and attachments."""

    body: str
    attachments: list[AnnouncementAttachment]


class AnnouncementList(BaseModel):
    """A page of announcements, newest first."""

    items: list[AnnouncementSummary]
    total: int
    page: int
    page_size: int


class ContentCheckOut(BaseModel):
    """The last WeChat content check and what it means."""

    result: str | None = Field(
        description="pass, review, risky, unavailable, unchecked (no checking account), error")
    label: int | None
    message: str | None


class StaffAnnouncementOut(BaseModel):
    """An announcement as staff see it, with its state and the content check."""

    id: int
    level: LevelName
    authority: str
    school: AnnouncementSchool | None
    category: CategoryName
    category_name: str
    title: str
    body: str
    status: StatusName
    status_name: str
    publish_at: str | None
    withdrawn_at: str | None
    content_check: ContentCheckOut
    review_note: str | None
    created_by_user_id: int
    reviewed_by_user_id: int | None
    created_at: str
    updated_at: str
    attachments: list[AnnouncementAttachment]


class StaffAnnouncementList(BaseModel):
    """A page of announcements for staff, newest first."""

    items: list[StaffAnnouncementOut]
    total: int
    page: int
    page_size: int

