"""Registration counts: a per-season snapshot the worker recomputes from the registrations.

Counting 1,000,000 registrations by town or category on every request costs hundreds of
milliseconds (docs/STATS.md has the figures); reading a few hundred precomputed cells costs
a few. The registrations stay the only source of truth: the snapshot is derived from them in
one statement and can be thrown away and rebuilt at any time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base

# The groupings kept per school; "school" itself is the sum of a school's "status" cells.
# "verification": all_verified (every requirement confirmed by a government data source) or
# needs_documents.
DIMENSIONS = ("status", "basis", "category", "town", "day", "hour", "verification")


class CountSnapshot(Base):
    """When a season's counts were last computed, and how many registrations they cover."""

    __tablename__ = "registration_count_snapshots"

    season_id: Mapped[int] = mapped_column(
        ForeignKey("seasons.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[dt.datetime]
    registrations: Mapped[int]
    duration_ms: Mapped[int]


class RegistrationCount(Base):
    """One cell: registrations of one school in one group (a status, a town, a day …)."""

    __tablename__ = "registration_counts"
    __table_args__ = (
        CheckConstraint(
            "dimension IN ('status', 'basis', 'category', 'town', 'day', 'hour', "
            "'verification')",
            name="known_dimension",
        ),
        CheckConstraint("active >= 0 AND active <= total", name="active_within_total"),
    )

    season_id: Mapped[int] = mapped_column(
        ForeignKey("seasons.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    # A status or basis value, a category key or "none", a town's region id, a local date
    # (2024-08-05), a local hour (2024-08-05T08), all_verified or needs_documents.
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    total: Mapped[int]
    # Not rejected and not withdrawn: what counts against the plan.
    active: Mapped[int]
