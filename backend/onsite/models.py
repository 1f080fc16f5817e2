"""On-site confirmation (分时段): a school's time slots and the families' bookings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base, TimestampMixin
from backend.registrations.models import Registration
from backend.schools.models import School


class OnsiteSlot(TimestampMixin, Base):
    """A time and place where admitted families of one school come to confirm on site."""

    __tablename__ = "onsite_slots"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        # 分时段 (safety on site): never more families than the slot holds. Every booking
        # increments `booked` with `booked < capacity` in its WHERE clause; this CHECK is
        # the backstop, so no race and no code path can overfill a slot.
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="slot_order"),
        Index("ix_onsite_slots_school_season_starts", "school_id", "season_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    place: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0, server_default="0")
    # Bumped when the time or place changes: each change notifies the booked families once.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    school: Mapped[School] = relationship()


class OnsiteBooking(TimestampMixin, Base):
    """A registration's place in a slot, its entry ticket's nonce and its check-in."""

    __tablename__ = "onsite_bookings"
    __table_args__ = (
        # Who checked the child in is always recorded with when.
        CheckConstraint("(checked_in_at IS NULL) = (checked_in_by_user_id IS NULL)",
                        name="checkin_has_staff"),
        Index("ix_onsite_bookings_school_season", "school_id", "season_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One booking per registration; moving to another slot updates this row.
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("onsite_slots.id"), index=True)
    # The school of the confirmed offer (a bureau placement may differ from where the
    # family applied) and its season.
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    # Signed into the entry ticket; a new one on every move, so an older ticket is void.
    nonce: Mapped[str] = mapped_column(String(16))
    booked_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    booked_by_role: Mapped[str] = mapped_column(String(32))
    checked_in_at: Mapped[dt.datetime | None]
    checked_in_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Checked in outside the slot's window (allowed, flagged for the school to follow up).
    off_slot: Mapped[bool | None]

    slot: Mapped[OnsiteSlot] = relationship()
    registration: Mapped[Registration] = relationship()
    school: Mapped[School] = relationship()
