"""Request and response models of the on-site slots, bookings, tickets and check-in API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

_TIME = "ISO 8601; a time without offset is Asia/Shanghai"
MAX_PER_PAGE = 100


class OnsiteSlotIn(BaseModel):
    """A new slot (school staff: their school; bureau admins name the school)."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")
    starts_at: dt.datetime = Field(description=_TIME)
    ends_at: dt.datetime = Field(description=_TIME)
    place: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=10_000)
    note: str = Field(default="", max_length=200)


class OnsiteSlotChangeIn(BaseModel):
    """Changes to a slot; a new time or place notifies the families booked in it."""

    model_config = ConfigDict(extra="forbid")
    starts_at: dt.datetime | None = Field(default=None, description=_TIME)
    ends_at: dt.datetime | None = Field(default=None, description=_TIME)
    place: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    note: str | None = Field(default=None, max_length=200)


class OnsiteStaffSlotQuery(BaseModel):
    """Filters of the staff slot list."""

    model_config = ConfigDict(extra="forbid")
    season_id: int | None = Field(default=None, ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")


class OnsiteSchoolRef(BaseModel):
    """A school by code and name."""

    code: str
    name: str


class OnsiteSlotOut(BaseModel):
    """A slot with its places (times in Asia/Shanghai)."""

    id: int
    season_id: int
    school: OnsiteSchoolRef
    starts_at: str
    ends_at: str
    place: str
    note: str
    capacity: int
    booked: int
    available: int


class OnsiteStaffSlotOut(OnsiteSlotOut):
    """A slot as staff see it: also how many have checked in."""

    checked_in: int


class OnsiteStaffSlotList(BaseModel):
    """Slots in the caller's scope, by start time."""

    items: list[OnsiteStaffSlotOut]


class OnsiteSlotQuery(BaseModel):
    """The slots open to one of the caller's registrations."""

    model_config = ConfigDict(extra="forbid")
    registration_id: int = Field(ge=1, le=2_000_000_000)


class OnsiteSlotList(BaseModel):
    """Slots of the school that admitted the child, not yet started, by start time."""

    items: list[OnsiteSlotOut]


class OnsiteBookingIn(BaseModel):
    """Book (or move to) a slot for a registration with a confirmed offer."""

    model_config = ConfigDict(extra="forbid")
    registration_id: int = Field(ge=1, le=2_000_000_000)
    slot_id: int = Field(ge=1, le=2_000_000_000)


class OnsiteBookingOut(BaseModel):
    """A booking: the slot, the child (masked for staff) and the check-in state."""

    id: int
    registration_id: int
    child_name: str
    slot: OnsiteSlotOut
    booked_by_role: str
    checked_in: bool
    checked_in_at: str | None
    checked_in_by_user_id: int | None = Field(description="staff only; null for families")
    checked_in_by_name: str | None = Field(
        default=None, description="staff only: the display name of who checked the child in")
    off_slot: bool | None = Field(description="checked in outside the slot's window")


class OnsiteBookingList(BaseModel):
    """Bookings."""

    items: list[OnsiteBookingOut]


class EntryTicketOut(BaseModel):
    """The entry ticket: the code to scan or type, and the same code as a PNG QR image."""

    booking_id: int
    code: str = Field(description="T1-<booking>-<nonce>-<signature>; single use")
    qr_png_base64: str = Field(description="PNG image of the QR code, base64")
    qr_data_url: str = Field(description="data:image/png;base64,… for an <image> tag")
    school: OnsiteSchoolRef
    slot: OnsiteSlotOut
    used: bool


class CheckinIn(BaseModel):
    """A scanned or typed ticket code."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=100)


class CheckinOut(BaseModel):
    """A recorded check-in: who was checked in, by whom, when; off_slot flags a wrong time."""

    booking_id: int
    registration_id: int
    child_name: str = Field(description="masked")
    slot: OnsiteSlotOut
    checked_in_at: str
    checked_in_by_user_id: int
    off_slot: bool
    warning: str | None = Field(description="why off_slot is set, for the desk")


class NoShowQuery(BaseModel):
    """Which ended slots to list no-shows of."""

    model_config = ConfigDict(extra="forbid")
    season_id: int | None = Field(default=None, ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins only")
    date: dt.date | None = Field(default=None, description="local day of the slots")
    slot_id: int | None = Field(default=None, ge=1, le=2_000_000_000)


class AdmittedQuery(BaseModel):
    """Filters and page of a school's admitted children and their bookings."""

    model_config = ConfigDict(extra="forbid")
    season_id: int = Field(ge=1, le=2_000_000_000)
    school: str | None = Field(default=None, max_length=32,
                               description="school code; bureau admins must name one")
    booked: bool | None = Field(default=None, description="true: with a booking; false: none")
    checked_in: bool | None = None
    q: str | None = Field(default=None, max_length=40,
                          description="registration number, surname or masked name (张*明)")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=10_000,
                          description=f"page size, at most {MAX_PER_PAGE} are returned")


class AdmittedChildOut(BaseModel):
    """A child with a confirmed offer at the school, and its booking if it has one."""

    registration_id: int
    child_name: str = Field(description="masked")
    booking_id: int | None
    slot: OnsiteSlotOut | None
    booked_by_role: str | None
    checked_in: bool
    checked_in_at: str | None


class AdmittedList(BaseModel):
    """A page of admitted children, by registration number (never a ranking)."""

    items: list[AdmittedChildOut]
    total: int
    page: int
    per_page: int


class NoShowEntry(BaseModel):
    """A booked family that did not check in."""

    booking_id: int
    registration_id: int
    child_name: str = Field(description="masked")
    booked_by_role: str


class SlotNoShows(BaseModel):
    """One ended slot and its no-shows."""

    slot: OnsiteStaffSlotOut
    no_shows: list[NoShowEntry]


class NoShowList(BaseModel):
    """No-shows per ended slot (slots not yet ended are not listed)."""

    items: list[SlotNoShows]
    total: int
