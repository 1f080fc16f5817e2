"""Complaints, appeals and reports (监督举报): filed by parents, answered by the bureau."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, TimestampMixin, utcnow
from backend.core.types import str_enum
from backend.registrations.models import Registration
from backend.schools.models import School
from backend.uploads.models import Upload


class ComplaintType(enum.Enum):
    """投诉 about conduct, 申诉 against a decision, 举报 of a violation."""

    COMPLAINT = "complaint"
    APPEAL = "appeal"
    REPORT = "report"


class ComplaintStatus(enum.Enum):
    """Where a complaint stands; see services.TRANSITIONS for the allowed moves."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (ComplaintStatus.SUBMITTED, ComplaintStatus.ASSIGNED)

complaint_attachments = Table(
    "complaint_attachments",
    Base.metadata,
    Column("complaint_id", ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True, index=True),
)


class Complaint(TimestampMixin, Base):
    """One complaint about a school and/or one of the family's registrations."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_authority_status_due", "authority_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"),
                                                        index=True)
    type: Mapped[ComplaintType] = mapped_column(str_enum(ComplaintType, "complaint_type"))
    text: Mapped[str] = mapped_column(Text)
    # Anonymous to the school: its handler never sees who filed it; the bureau does.
    anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, "complaint_status"), default=ComplaintStatus.SUBMITTED)
    due_at: Mapped[dt.datetime]
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    school: Mapped[School] = relationship()
    registration: Mapped[Registration | None] = relationship()
    attachments: Mapped[list[Upload]] = relationship(
        secondary=complaint_attachments, order_by="Upload.created_at")
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id",
        cascade="all, delete-orphan")


class ComplaintEvent(Base):
    """One step of a complaint's history: who (role and id, never a name) and when."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, "complaint_event_status"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
