"""Registrations: one active registration per child per season, with its status history."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, TimestampMixin, utcnow
from backend.core.types import str_enum
from backend.identity.models import Child
from backend.schools.models import School
from backend.seasons.models import Season
from backend.uploads.models import Upload


class Basis(enum.Enum):
    """What ties the child to the school's zone (户籍 / 实际居住 / 居住证)."""

    HUKOU = "hukou"
    RESIDENCE = "residence"
    RESIDENCE_PERMIT = "residence_permit"


class RegistrationStatus(enum.Enum):
    """Where a registration stands; withdrawn and rejected ones are no longer active.

    The moves between them are in `transitions.py`, and nowhere else.
    """

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    RETURNED = "returned"
    # A special group's registration the school approved, waiting for the bureau's review.
    BUREAU_REVIEW = "bureau_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


INACTIVE_STATUSES = (RegistrationStatus.REJECTED, RegistrationStatus.WITHDRAWN)

registration_uploads = Table(
    "registration_uploads",
    Base.metadata,
    Column("registration_id", ForeignKey("registrations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True, index=True),
)


class Registration(TimestampMixin, Base):
    """A child's application to one school in one season."""

    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per child per season, even when two submissions race.
        Index(
            "uq_registrations_active_child_season", "season_id", "child_id", unique=True,
            postgresql_where=text("status NOT IN ('rejected', 'withdrawn')"),
            sqlite_where=text("status NOT IN ('rejected', 'withdrawn')"),
        ),
        Index("ix_registrations_school_status", "school_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    submitted_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # 代报名: the staff member who entered it at the counter for a family without a
    # smartphone (the family's account is submitted_by); NULL when the family registered.
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    basis: Mapped[Basis] = mapped_column(str_enum(Basis, "registration_basis"))
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_status"),
        default=RegistrationStatus.SUBMITTED,
    )
    out_of_zone: Mapped[bool] = mapped_column(default=False)
    ticket: Mapped[str] = mapped_column(String(40), unique=True)
    # Bumped by every status change and edit: a review names the version it saw, and the
    # UPDATE compares it, so a reviewer acting on a stale state can never overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # While returned for correction: the family's fix must be queued before this time.
    fix_deadline: Mapped[dt.datetime | None]

    season: Mapped[Season] = relationship()
    child: Mapped[Child] = relationship()
    school: Mapped[School] = relationship()
    uploads: Mapped[list[Upload]] = relationship(secondary=registration_uploads)
    events: Mapped[list[RegistrationEvent]] = relationship(
        back_populates="registration", order_by="RegistrationEvent.id",
        cascade="all, delete-orphan",
    )


class RegistrationEvent(Base):
    """One step of a registration's timeline: who (role and id, never a name) and when."""

    __tablename__ = "registration_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_event_status")
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)

    registration: Mapped[Registration] = relationship(back_populates="events")
