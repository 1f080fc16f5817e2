"""Announcements (阳光招生 publicity): county- or school-level, checked before publication."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.authorities.models import EducationAuthority
from backend.core.db import Base, TimestampMixin
from backend.core.types import str_enum
from backend.schools.models import School
from backend.uploads.models import Upload


class AnnouncementCategory(enum.Enum):
    """The publicity list of the plan (阳光招生) plus the new-student list and other news."""

    POLICY = "policy"  # 招生政策
    ZONES = "zones"  # 划片范围
    CONDITIONS = "conditions"  # 入学条件
    MATERIALS = "materials"  # 报名材料
    PROCESS = "process"  # 报名流程与时间节点
    CONTACTS = "contacts"  # 咨询方式
    COMPLAINTS = "complaints"  # 监督举报渠道（含信访接待地址）
    PLAN = "plan"  # 实施方案 / 实施办法
    ADMITTED_LIST = "admitted_list"  # 新生名单
    OTHER = "other"


class AnnouncementStatus(enum.Enum):
    """Where an announcement stands; see services.TRANSITIONS for the allowed moves."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    HELD = "held"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


announcement_attachments = Table(
    "announcement_attachments",
    Base.metadata,
    Column("announcement_id", ForeignKey("announcements.id", ondelete="CASCADE"),
           primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True, index=True),
)


class Announcement(TimestampMixin, Base):
    """One announcement of an authority; school_id set for a school's own announcement."""

    __tablename__ = "announcements"
    __table_args__ = (
        # Scheduled and published announcements always know when they are (or become) public.
        CheckConstraint(
            "status NOT IN ('scheduled', 'published') OR publish_at IS NOT NULL",
            name="public_has_publish_at",
        ),
        # The public list: visible ones of an authority, newest first.
        Index("ix_announcements_authority_status_publish_at",
              "authority_id", "status", "publish_at"),
        Index("ix_announcements_school_status", "school_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"))
    # NULL: a county-level (bureau) announcement.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    category: Mapped[AnnouncementCategory] = mapped_column(
        str_enum(AnnouncementCategory, "announcement_category"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[AnnouncementStatus] = mapped_column(
        str_enum(AnnouncementStatus, "announcement_status"), default=AnnouncementStatus.DRAFT)
    # Requested time on a draft; the moment it is (or becomes) public once scheduled/published.
    publish_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]
    # The last content check: pass / review / risky / unavailable / unchecked / error.
    check_result: Mapped[str | None] = mapped_column(String(16))
    check_label: Mapped[int | None]
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The admin who released or rejected a held announcement, and why.
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)

    authority: Mapped[EducationAuthority] = relationship()
    school: Mapped[School | None] = relationship()
    attachments: Mapped[list[Upload]] = relationship(
        secondary=announcement_attachments, order_by="Upload.created_at")
