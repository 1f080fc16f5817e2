"""Regions (town → village/community), schools, zones (划片) and seat plans."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.authorities.models import EducationAuthority
from backend.core import httpcache
from backend.core.db import Base, TimestampMixin
from backend.core.types import str_enum


class RegionLevel(enum.Enum):
    """Towns contain villages (rural) and communities (urban)."""

    TOWN = "town"
    VILLAGE = "village"
    COMMUNITY = "community"


class SchoolType(enum.Enum):
    """公民同招: public and private schools admit in the same process."""

    PUBLIC = "public"
    PRIVATE = "private"


class Region(TimestampMixin, Base):
    """A town, village or community an address is chosen from."""

    __tablename__ = "regions"
    __table_args__ = (
        CheckConstraint(
            "(level = 'town' AND parent_id IS NULL) OR (level <> 'town' AND parent_id IS NOT NULL)",
            name="town_has_no_parent",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, "region_level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    is_sample: Mapped[bool] = mapped_column(default=False)

    authority: Mapped[EducationAuthority] = relationship()
    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(
        back_populates="parent", order_by="Region.code"
    )


class School(TimestampMixin, Base):
    """A primary school; the code is unique in the deployment so a QR code needs nothing else."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("education_authorities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[SchoolType] = mapped_column(str_enum(SchoolType, "school_type"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    # Public consultation contacts, e.g. [{"name": "招生办", "phone": "0358-..."}].
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Materials each basis needs, e.g. {"hukou": ["户口簿首页及儿童页", ...]}.
    required_materials: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    implementation_plan: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_sample: Mapped[bool] = mapped_column(default=False)

    authority: Mapped[EducationAuthority] = relationship()
    town: Mapped[Region | None] = relationship()
    zones: Mapped[list[SchoolZone]] = relationship(
        back_populates="school", cascade="all, delete-orphan"
    )


class SchoolZone(Base):
    """划片: a village/community in a school's service zone (a region may have several schools)."""

    __tablename__ = "school_zones"
    __table_args__ = (UniqueConstraint("school_id", "region_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)

    school: Mapped[School] = relationship(back_populates="zones")
    region: Mapped[Region] = relationship()


class SeatPlan(TimestampMixin, Base):
    """招生计划: classes × class size a school may admit in one season, set by the bureau."""

    __tablename__ = "seat_plans"
    __table_args__ = (
        UniqueConstraint("season_id", "school_id"),
        # 超班额: class size is positive and never above the national hard cap of 56.
        CheckConstraint("classes >= 1", name="classes_positive"),
        CheckConstraint("class_size >= 1 AND class_size <= 56", name="class_size_range"),
        Index("ix_seat_plans_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    classes: Mapped[int]
    class_size: Mapped[int]

    school: Mapped[School] = relationship()

    @property
    def seats(self) -> int:
        """Total seats = classes × class size."""
        return self.classes * self.class_size


# The public catalogue answers are built from these tables (backend/core/httpcache.py).
httpcache.watch(Region, School, SchoolZone, SeatPlan)
