"""Admission tables: seat counters, priority tiers, lotteries and their entries, offers.

Admission state lives here, not in `registrations.status`: a registration stays `approved`
and its place is the `Offer` rows of its child in the season (see docs/ADMISSION.md).
"""

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
from backend.identity.models import Child
from backend.registrations.models import Registration
from backend.schools.models import School


class SeatCount(Base):
    """超计划: the seats a school may fill in a season and how many live offers hold one.

    Every offer that takes a seat increments `taken` in the same transaction with
    `taken < seats` in the WHERE clause; the CHECK is the backstop, so no code path
    (lottery, waitlist, bureau placement) and no race can put a school past its plan.
    """

    __tablename__ = "admission_seat_counts"
    __table_args__ = (
        UniqueConstraint("season_id", "school_id"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("taken <= seats", name="taken_within_seats"),
        Index("ix_admission_seat_counts_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    seats: Mapped[int]
    taken: Mapped[int] = mapped_column(default=0, server_default="0")


class PriorityTier(TimestampMixin, Base):
    """One rule of a school's ordered priority list for a season (rank 1 is served first)."""

    __tablename__ = "admission_priority_tiers"
    __table_args__ = (
        UniqueConstraint("season_id", "school_id", "rank"),
        UniqueConstraint("season_id", "school_id", "key"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        Index("ix_admission_priority_tiers_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    rank: Mapped[int]
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    # What an applicant must satisfy, e.g. {"hukou_in_zone": true, "residence_in_zone": true}
    # or {"categories_any": ["martyr_child"]}; {} matches everyone.
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LotteryStatus(enum.Enum):
    """Frozen (committed, waiting for the public value) → drawn; or settled without a draw."""

    FROZEN = "frozen"
    DRAWN = "drawn"
    # Not oversubscribed: everyone is admitted, no draw; the list is still published.
    SETTLED = "settled"
    CANCELLED = "cancelled"


class Lottery(TimestampMixin, Base):
    """随机派位 of one school in one season: the commitment, the public value and the seed."""

    __tablename__ = "admission_lotteries"
    __table_args__ = (
        # One real lottery per school and season (practice runs are unlimited).
        Index(
            "uq_admission_lotteries_real_school_season", "season_id", "school_id", unique=True,
            postgresql_where=text("is_practice = false AND status <> 'cancelled'"),
            sqlite_where=text("is_practice = 0 AND status <> 'cancelled'"),
        ),
        # A practice run can never be published.
        CheckConstraint("NOT (is_practice AND published_at IS NOT NULL)",
                        name="practice_never_published"),
        CheckConstraint("(status = 'drawn') = (seed IS NOT NULL)", name="seed_iff_drawn"),
        CheckConstraint("seats >= 0", name="seats_not_negative"),
        Index("ix_admission_lotteries_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    is_practice: Mapped[bool] = mapped_column(default=False)
    status: Mapped[LotteryStatus] = mapped_column(
        str_enum(LotteryStatus, "lottery_status"), default=LotteryStatus.FROZEN
    )
    algorithm_version: Mapped[str] = mapped_column(String(40))
    seats: Mapped[int]
    applicant_count: Mapped[int]
    # The committed document (canonical JSON) and its SHA-256, fixed at freeze time.
    committed: Mapped[dict[str, Any]] = mapped_column(JSON)
    commitment: Mapped[str] = mapped_column(String(64))
    # Which future public value seeds the draw, named before it is known.
    public_value_source: Mapped[str] = mapped_column(String(200))
    public_value: Mapped[str | None] = mapped_column(String(200))
    seed: Mapped[str | None] = mapped_column(String(64))
    frozen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    frozen_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[dt.datetime | None]
    drawn_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None]
    respond_by: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    school: Mapped[School] = relationship()
    entries: Mapped[list[LotteryEntry]] = relationship(
        back_populates="lottery", order_by="LotteryEntry.id", cascade="all, delete-orphan"
    )


class EntryOutcome(enum.Enum):
    """Where an applicant ended up in the draw."""

    ADMITTED = "admitted"
    WAITLISTED = "waitlisted"


class LotteryEntry(Base):
    """One applicant of a lottery: pseudonym and tier at freeze, position after the draw."""

    __tablename__ = "admission_lottery_entries"
    __table_args__ = (
        UniqueConstraint("lottery_id", "pseudonym"),
        UniqueConstraint("lottery_id", "registration_id"),
        UniqueConstraint("lottery_id", "position"),
        CheckConstraint("(position IS NULL) = (outcome IS NULL)", name="position_iff_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(
        ForeignKey("admission_lotteries.id", ondelete="CASCADE")
    )
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    # HMAC of season + child with the never-rotating index key: the same on every
    # re-submission, so a family's lottery number can never be re-rolled.
    pseudonym: Mapped[str] = mapped_column(String(32))
    tier: Mapped[int]
    masked_name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int | None]
    outcome: Mapped[EntryOutcome | None] = mapped_column(
        str_enum(EntryOutcome, "lottery_entry_outcome")
    )

    lottery: Mapped[Lottery] = relationship(back_populates="entries")


class OfferStatus(enum.Enum):
    """An offer is live while offered or confirmed; the others have given the seat back."""

    OFFERED = "offered"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


LIVE_OFFER_STATUSES = (OfferStatus.OFFERED, OfferStatus.CONFIRMED)


class OfferSource(enum.Enum):
    """How the seat came to the child."""

    LOTTERY = "lottery"  # admitted by a draw, or without one when not oversubscribed
    WAITLIST = "waitlist"  # a seat given back went to the next on the waitlist
    BUREAU_PLACEMENT = "bureau_placement"  # 统筹: the bureau placed a child not placed


class Offer(TimestampMixin, Base):
    """One offer of a seat at a school to a child in a season."""

    __tablename__ = "admission_offers"
    __table_args__ = (
        # No child ever holds two live offers in a season (Nashville 2015), even in a race.
        Index(
            "uq_admission_offers_live_child_season", "season_id", "child_id", unique=True,
            postgresql_where=text("status IN ('offered', 'confirmed')"),
            sqlite_where=text("status IN ('offered', 'confirmed')"),
        ),
        # A lottery entry is offered a seat at most once (admitted, or later from the waitlist).
        Index(
            "uq_admission_offers_lottery_entry_id", "lottery_entry_id", unique=True,
            postgresql_where=text("lottery_entry_id IS NOT NULL"),
            sqlite_where=text("lottery_entry_id IS NOT NULL"),
        ),
        Index("ix_admission_offers_school_season_status", "school_id", "season_id", "status"),
        CheckConstraint("(status = 'offered') = (decided_at IS NULL)",
                        name="decided_iff_not_offered"),
        CheckConstraint("source = 'bureau_placement' OR lottery_entry_id IS NOT NULL",
                        name="lottery_offers_have_entry"),
        CheckConstraint("source <> 'bureau_placement' OR placement_reason IS NOT NULL",
                        name="placement_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    lottery_id: Mapped[int | None] = mapped_column(
        ForeignKey("admission_lotteries.id"), index=True
    )
    lottery_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("admission_lottery_entries.id")
    )
    source: Mapped[OfferSource] = mapped_column(str_enum(OfferSource, "offer_source"))
    status: Mapped[OfferStatus] = mapped_column(
        str_enum(OfferStatus, "offer_status"), default=OfferStatus.OFFERED
    )
    respond_by: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_role: Mapped[str | None] = mapped_column(String(32))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placement_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    registration: Mapped[Registration] = relationship()
    child: Mapped[Child] = relationship()
    school: Mapped[School] = relationship()

    @property
    def is_live(self) -> bool:
        """Whether the offer holds a seat."""
        return self.status in LIVE_OFFER_STATUSES


class ListPublication(Base):
    """阳光招生: the bureau published a school's admitted list for a season."""

    __tablename__ = "admission_list_publications"
    __table_args__ = (UniqueConstraint("season_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"),
                                           index=True)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
