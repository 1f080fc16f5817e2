"""均衡分班 tables: together requests, committed/published assignments, placements, corrections."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, TimestampMixin, utcnow
from backend.core.types import str_enum
from backend.registrations.models import Registration
from backend.schools.models import School


class AssignmentStatus(enum.Enum):
    """Committed (input frozen, waiting for the public value) → published; or cancelled."""

    COMMITTED = "committed"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class PupilScope(enum.Enum):
    """Who is assigned: the children checked in on site, or every confirmed offer."""

    CHECKED_IN = "checked_in"
    CONFIRMED = "confirmed"


class TogetherRequest(TimestampMixin, Base):
    """A family's request, entered by staff, that twins/siblings (one guardian) share a class."""

    __tablename__ = "class_together_requests"
    __table_args__ = (
        Index("ix_class_together_requests_school_season", "school_id", "season_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    school: Mapped[School] = relationship()
    members: Mapped[list[TogetherMember]] = relationship(
        back_populates="request", cascade="all, delete-orphan",
        order_by="TogetherMember.registration_id")


class TogetherMember(Base):
    """One child of a together request; a child is in at most one request."""

    __tablename__ = "class_together_members"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("class_together_requests.id", ondelete="CASCADE"), primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id"), primary_key=True, unique=True)

    request: Mapped[TogetherRequest] = relationship(back_populates="members")
    registration: Mapped[Registration] = relationship()


class ClassAssignment(TimestampMixin, Base):
    """One school's class assignment in one season: the committed input, the seed, the result."""

    __tablename__ = "class_assignments"
    __table_args__ = (
        # One live assignment per school and season: no redraw after the seed is known.
        Index(
            "uq_class_assignments_live_school_season", "season_id", "school_id", unique=True,
            postgresql_where=text("status <> 'cancelled'"),
            sqlite_where=text("status <> 'cancelled'"),
        ),
        CheckConstraint("(status = 'published') = (seed IS NOT NULL)",
                        name="seed_iff_published"),
        CheckConstraint("classes >= 1 AND class_size >= 1", name="plan_positive"),
        CheckConstraint("corrections >= 0", name="corrections_not_negative"),
        Index("ix_class_assignments_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus, "class_assignment_status"),
        default=AssignmentStatus.COMMITTED)
    scope: Mapped[PupilScope] = mapped_column(str_enum(PupilScope, "class_pupil_scope"))
    rules_version: Mapped[str] = mapped_column(String(40))
    classes: Mapped[int]
    class_size: Mapped[int]
    pupil_count: Mapped[int]
    # The committed document (assign.input_document) and its SHA-256, fixed at commit.
    committed: Mapped[dict[str, Any]] = mapped_column(JSON)
    commitment: Mapped[str] = mapped_column(String(64))
    # Pseudonym → registration id of every committed child (internal, never published);
    # the draw writes one placement per entry.
    members: Mapped[dict[str, int]] = mapped_column(JSON)
    # Which future public value seeds the draw, named before it is known.
    public_value_source: Mapped[str] = mapped_column(String(200))
    public_value: Mapped[str | None] = mapped_column(String(200))
    seed: Mapped[str | None] = mapped_column(String(64))
    committed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    committed_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None]
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # How many audited corrections changed the published result.
    corrections: Mapped[int] = mapped_column(default=0, server_default="0")

    school: Mapped[School] = relationship()
    placements: Mapped[list[ClassPlacement]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan",
        order_by="ClassPlacement.pseudonym")


class ClassPlacement(Base):
    """A child's class in a published assignment (written by the draw)."""

    __tablename__ = "class_placements"
    __table_args__ = (
        UniqueConstraint("assignment_id", "registration_id"),
        UniqueConstraint("assignment_id", "pseudonym"),
        CheckConstraint("class_no IS NULL OR class_no >= 1", name="class_no_positive"),
        CheckConstraint("drawn_class_no >= 1", name="drawn_class_no_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("class_assignments.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    # What the draw gave (never changed) and where the child is now (after corrections;
    # NULL once the child left the school).
    drawn_class_no: Mapped[int]
    class_no: Mapped[int | None]

    assignment: Mapped[ClassAssignment] = relationship(back_populates="placements")
    registration: Mapped[Registration] = relationship()


class ClassCorrection(Base):
    """An audited change after publication: who, when, from which class to which, and why."""

    __tablename__ = "class_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("class_assignments.id", ondelete="CASCADE"), index=True)
    placement_id: Mapped[int] = mapped_column(
        ForeignKey("class_placements.id", ondelete="CASCADE"), index=True)
    from_class: Mapped[int | None]
    to_class: Mapped[int | None]
    # A published reason code; the note stays with staff and the audit log.
    reason_code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    corrected_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    corrected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
