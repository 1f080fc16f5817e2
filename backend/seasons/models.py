"""Admission seasons and their timeline phases."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.authorities.models import EducationAuthority
from backend.core import httpcache
from backend.core.db import Base, TimestampMixin
from backend.core.types import str_enum


class SeasonStatus(enum.Enum):
    """A draft is invisible to the public; archived seasons are history."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Season(TimestampMixin, Base):
    """One authority's admission season for one stage and year (e.g. 2024 primary)."""

    __tablename__ = "seasons"
    __table_args__ = (
        UniqueConstraint("authority_id", "stage", "year"),
        CheckConstraint("registration_closes_at > registration_opens_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"), index=True)
    year: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20), default="primary")
    name: Mapped[str] = mapped_column(String(100))
    # Age rule: six years old by this date (2024: born on or before 2018-08-31).
    age_cutoff: Mapped[dt.date]
    registration_opens_at: Mapped[dt.datetime]
    registration_closes_at: Mapped[dt.datetime]
    status: Mapped[SeasonStatus] = mapped_column(
        str_enum(SeasonStatus, "season_status"), default=SeasonStatus.DRAFT
    )
    is_sample: Mapped[bool] = mapped_column(default=False)
    # Personal data of this season may be purged from this date (set by the bureau).
    purge_personal_data_after: Mapped[dt.date | None]
    personal_data_purged_at: Mapped[dt.datetime | None]
    # 报名须知: the season's own must-read text, shown before a family's first registration.
    must_read_notice: Mapped[str] = mapped_column(Text, default="", server_default="")

    authority: Mapped[EducationAuthority] = relationship()
    phases: Mapped[list[SeasonPhase]] = relationship(
        back_populates="season", order_by="SeasonPhase.starts_at",
        cascade="all, delete-orphan",
    )


class SeasonPhase(Base):
    """A named step of the timeline (plan drafting, publicity, registration, …)."""

    __tablename__ = "season_phases"
    __table_args__ = (
        UniqueConstraint("season_id", "key"),
        CheckConstraint("ends_at > starts_at", name="phase_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]

    season: Mapped[Season] = relationship(back_populates="phases")


# The public catalogue answers are built from these tables (backend/core/httpcache.py).
httpcache.watch(Season, SeasonPhase)
