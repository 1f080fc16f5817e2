"""Onsite API: slots (staff), bookings and entry tickets (families), check-in and no-shows.

| method | path | who |
|---|---|---|
| POST | /staff/onsite/slots | staff: a new slot |
| GET | /staff/onsite/slots | staff: slots with booked and checked-in counts |
| PATCH / DELETE | /staff/onsite/slots/{id} | staff: change (notifies) / delete an empty slot |
| GET | /staff/onsite/slots/{id}/bookings | staff: the slot's roster (masked) |
| POST | /staff/onsite/bookings | staff: put an admitted child in a slot |
| GET | /staff/onsite/admitted | staff: the school's admitted children and their bookings |
| POST | /staff/checkins | school staff: check in by ticket code |
| GET | /staff/onsite/no-shows | staff: bookings of ended slots never checked in |
| GET | /onsite/slots?registration_id= | parent: slots open to the admitted child |
| POST | /onsite/bookings | parent: book or move |
| GET | /onsite/bookings | parent: own bookings |
| DELETE | /onsite/bookings/{id} | parent: give the place back |
| GET | /onsite/bookings/{id}/ticket | parent: code + PNG QR |
"""

from __future__ import annotations

import base64

from flask import Blueprint, request

from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.pii import mask_name
from backend.core.timeutil import local_iso
from backend.onsite import services
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from backend.onsite.schemas import (
    MAX_PER_PAGE,
    AdmittedChildOut,
    AdmittedList,
    AdmittedQuery,
    CheckinIn,
    CheckinOut,
    EntryTicketOut,
    NoShowEntry,
    NoShowList,
    NoShowQuery,
    OnsiteBookingIn,
    OnsiteBookingList,
    OnsiteBookingOut,
    OnsiteSchoolRef,
    OnsiteSlotChangeIn,
    OnsiteSlotIn,
    OnsiteSlotList,
    OnsiteSlotOut,
    OnsiteSlotQuery,
    OnsiteStaffSlotList,
    OnsiteStaffSlotOut,
    OnsiteStaffSlotQuery,
    SlotNoShows,
)

bp = Blueprint("onsite", __name__, url_prefix="/api/v1")
TAGS = ("onsite",)


def slot_out(slot: OnsiteSlot) -> OnsiteSlotOut:
    """A slot with local times and free places."""
    tz = services.zone_name(slot.school)
    return OnsiteSlotOut(
        id=slot.id, season_id=slot.season_id,
        school=OnsiteSchoolRef(code=slot.school.code, name=slot.school.name),
        starts_at=local_iso(slot.starts_at, tz) or "", ends_at=local_iso(slot.ends_at, tz) or "",
        place=slot.place, note=slot.note, capacity=slot.capacity, booked=slot.booked,
        available=max(slot.capacity - slot.booked, 0))


def staff_slot_out(slot: OnsiteSlot, checked_in: int) -> OnsiteStaffSlotOut:
    """A slot for staff, with its check-in count."""
    return OnsiteStaffSlotOut(**slot_out(slot).model_dump(), checked_in=checked_in)


def booking_out(booking: OnsiteBooking, *, for_staff: bool) -> OnsiteBookingOut:
    """A booking; staff see the child's name masked and who checked the child in."""
    child = booking.registration.child.name
    return OnsiteBookingOut(
        id=booking.id, registration_id=booking.registration_id,
        child_name=services.child_name_for_staff(booking) if for_staff else child,
        slot=slot_out(booking.slot), booked_by_role=booking.booked_by_role,
        checked_in=booking.checked_in_at is not None,
        checked_in_at=local_iso(booking.checked_in_at, services.zone_name(booking.school)),
        checked_in_by_user_id=booking.checked_in_by_user_id if for_staff else None,
        checked_in_by_name=services.staff_name(booking.checked_in_by_user_id)
        if for_staff else None,
        off_slot=booking.off_slot)


# --- staff ---------------------------------------------------------------------------------


@bp.post("/staff/onsite/slots")
@require_roles(*STAFF)
@api(body=OnsiteSlotIn, response=OnsiteStaffSlotOut, status=201, errors=(404, 422), tags=TAGS)
def create_slot(body: OnsiteSlotIn) -> OnsiteStaffSlotOut:
    """Create a time slot (time, place, capacity) for a school and season."""
    slot = services.create_slot(
        current_user(), season_id=body.season_id, school_code=body.school,
        starts_at=body.starts_at, ends_at=body.ends_at, place=body.place,
        capacity=body.capacity, note=body.note)
    return staff_slot_out(slot, 0)


@bp.get("/staff/onsite/slots")
@require_roles(*STAFF)
@api(query=OnsiteStaffSlotQuery, response=OnsiteStaffSlotList, errors=(404,), tags=TAGS)
def list_staff_slots(query: OnsiteStaffSlotQuery) -> OnsiteStaffSlotList:
    """Slots of the caller's school (or authority), with booked and checked-in counts."""
    slots, counts = services.staff_slots(current_user(), query.season_id, query.school)
    return OnsiteStaffSlotList(items=[staff_slot_out(s, counts.get(s.id, 0)) for s in slots])


@bp.patch("/staff/onsite/slots/<int:slot_id>")
@require_roles(*STAFF)
@api(body=OnsiteSlotChangeIn, response=OnsiteStaffSlotOut, errors=(404, 409, 422), tags=TAGS)
def change_slot(slot_id: int, body: OnsiteSlotChangeIn) -> OnsiteStaffSlotOut:
    """Change a slot; families booked in it are notified of a new time or place."""
    slot = services.change_slot(current_user(), slot_id, body.model_dump(exclude_unset=True))
    return staff_slot_out(slot, services.checked_in_counts([slot.id]).get(slot.id, 0))


@bp.delete("/staff/onsite/slots/<int:slot_id>")
@require_roles(*STAFF)
@api(status=204, errors=(404, 409), tags=TAGS)
def delete_slot(slot_id: int) -> None:
    """Delete a slot nobody has booked."""
    services.delete_slot(current_user(), slot_id)


@bp.get("/staff/onsite/slots/<int:slot_id>/bookings")
@require_roles(*STAFF)
@api(response=OnsiteBookingList, errors=(404,), tags=TAGS)
def list_slot_bookings(slot_id: int) -> OnsiteBookingList:
    """A slot's roster: masked names, check-in state, who checked in."""
    return OnsiteBookingList(items=[booking_out(b, for_staff=True)
                              for b in services.slot_bookings(current_user(), slot_id)])


@bp.post("/staff/onsite/bookings")
@require_roles(*STAFF)
@api(body=OnsiteBookingIn, response=OnsiteBookingOut, status=201, errors=(404, 409), tags=TAGS)
def assign_slot(body: OnsiteBookingIn) -> OnsiteBookingOut:
    """Put an admitted child of the school in a slot (or move it); the family is notified."""
    booking = services.assign_slot(current_user(), body.registration_id, body.slot_id,
                                   request.remote_addr)
    return booking_out(booking, for_staff=True)


@bp.get("/staff/onsite/admitted")
@require_roles(*STAFF)
@api(query=AdmittedQuery, response=AdmittedList, errors=(404, 422), tags=TAGS)
def list_admitted(query: AdmittedQuery) -> AdmittedList:
    """The school's admitted children (confirmed offers) with their bookings, by number."""
    per_page = min(query.per_page, MAX_PER_PAGE)
    rows, total = services.admitted_children(
        current_user(), season_id=query.season_id, school_code=query.school,
        booked=query.booked, checked_in=query.checked_in, q=query.q, page=query.page,
        per_page=per_page)
    return AdmittedList(items=[AdmittedChildOut(
        registration_id=offer.registration_id, child_name=mask_name(offer.child.name),
        booking_id=booking.id if booking else None,
        slot=slot_out(booking.slot) if booking else None,
        booked_by_role=booking.booked_by_role if booking else None,
        checked_in=booking is not None and booking.checked_in_at is not None,
        checked_in_at=local_iso(booking.checked_in_at, services.zone_name(booking.school))
        if booking else None) for offer, booking in rows],
        total=total, page=query.page, per_page=per_page)


@bp.post("/staff/checkins")
@require_roles("school_staff")
@api(body=CheckinIn, response=CheckinOut, status=201, errors=(409, 422), tags=TAGS)
def check_in(body: CheckinIn) -> CheckinOut:
    """Check in by a scanned or typed ticket: forged 422, another school's 409, used 409."""
    result = services.check_in(current_user(), body.code, request.remote_addr)
    booking = result.booking
    return CheckinOut(
        booking_id=booking.id, registration_id=booking.registration_id,
        child_name=services.child_name_for_staff(booking), slot=slot_out(booking.slot),
        checked_in_at=local_iso(booking.checked_in_at, services.zone_name(booking.school)) or "",
        checked_in_by_user_id=booking.checked_in_by_user_id or 0, off_slot=result.off_slot,
        warning=result.warning)


@bp.get("/staff/onsite/no-shows")
@require_roles(*STAFF)
@api(query=NoShowQuery, response=NoShowList, errors=(404,), tags=TAGS)
def list_no_shows(query: NoShowQuery) -> NoShowList:
    """Per ended slot (filter by season, school, local day or slot): who never checked in."""
    rows = services.no_shows(current_user(), season_id=query.season_id,
                             school_code=query.school, day=query.date, slot_id=query.slot_id)
    items = [SlotNoShows(slot=staff_slot_out(slot, checked_in), no_shows=[NoShowEntry(
        booking_id=b.id, registration_id=b.registration_id,
        child_name=services.child_name_for_staff(b), booked_by_role=b.booked_by_role)
        for b in missing]) for slot, checked_in, missing in rows]
    return NoShowList(items=items, total=sum(len(i.no_shows) for i in items))


# --- families ------------------------------------------------------------------------------


@bp.get("/onsite/slots")
@require_roles("parent")
@api(query=OnsiteSlotQuery, response=OnsiteSlotList, errors=(404, 409), tags=TAGS)
def list_slots(query: OnsiteSlotQuery) -> OnsiteSlotList:
    """Slots of the school that admitted the child (confirmed offer), not yet started."""
    return OnsiteSlotList(items=[slot_out(s) for s in services.parent_slots(
        current_user(), query.registration_id)])


@bp.post("/onsite/bookings")
@require_roles("parent")
@api(body=OnsiteBookingIn, response=OnsiteBookingOut, status=201, errors=(404, 409), tags=TAGS)
def book_slot(body: OnsiteBookingIn) -> OnsiteBookingOut:
    """Book a slot for the admitted child, or move to another (the old ticket is void)."""
    booking = services.book(current_user(), body.registration_id, body.slot_id)
    return booking_out(booking, for_staff=False)


@bp.get("/onsite/bookings")
@require_roles("parent")
@api(response=OnsiteBookingList, tags=TAGS)
def list_my_bookings() -> OnsiteBookingList:
    """The caller's bookings."""
    return OnsiteBookingList(items=[booking_out(b, for_staff=False)
                              for b in services.my_bookings(current_user())])


@bp.delete("/onsite/bookings/<int:booking_id>")
@require_roles("parent")
@api(status=204, errors=(404, 409), tags=TAGS)
def cancel_booking(booking_id: int) -> None:
    """Give the place back before the slot starts."""
    services.cancel_booking(current_user(), booking_id)


@bp.get("/onsite/bookings/<int:booking_id>/ticket")
@require_roles("parent")
@api(response=EntryTicketOut, errors=(404, 409), tags=TAGS)
def get_ticket(booking_id: int) -> EntryTicketOut:
    """The entry ticket: its code (to type) and a PNG QR image of it (to scan)."""
    booking, code, png = services.ticket(current_user(), booking_id)
    encoded = base64.b64encode(png).decode()
    return EntryTicketOut(booking_id=booking.id, code=code, qr_png_base64=encoded,
                     qr_data_url=f"data:image/png;base64,{encoded}",
                     school=OnsiteSchoolRef(code=booking.school.code, name=booking.school.name),
                     slot=slot_out(booking.slot), used=booking.checked_in_at is not None)
