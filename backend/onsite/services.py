"""On-site confirmation (分时段): slots, bookings, entry tickets, check-in and no-shows.

Only a registration with a confirmed offer books, at the school of that offer. A slot's
`booked` counter is incremented by one conditional UPDATE (`booked < capacity`) in the
booking's transaction, with a CHECK constraint behind it, so concurrent bookings can never
overfill a slot. School staff see and act on their own school only; bureau admins on the
schools of their authority (`backend.accounts.scope`); anything else is 404, like a slot that
does not exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, false, func, or_, select, update
from sqlalchemy.orm import selectinload

from backend.accounts import scope
from backend.accounts.models import User
from backend.admission.models import Offer, OfferStatus
from backend.audit.services import client_fingerprint, record_audit
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.pii import mask_name
from backend.core.timeutil import local_iso, zone
from backend.identity.models import Child
from backend.notices.services import add_notice
from backend.onsite import tickets
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from backend.registrations.models import Registration
from backend.registrations.services import my_registration
from backend.schools.models import School

logger = logging.getLogger(__name__)

# A check-in this long before the slot starts or after it ends is still "on time"; outside
# it is accepted and flagged (off_slot): turning a family away helps nobody, but the school
# sees who came at the wrong time (分时段 is about crowding, not about refusing a child).
CHECKIN_GRACE = dt.timedelta(minutes=30)
DEFAULT_APPOINTMENT_NOTE = "请按预约时间到场，出示入场凭证二维码"
_NUMBER = re.compile(r"[0-9]{1,9}")  # a registration number within the column's range
# What mask_name shows staff: the first character, stars, and (three or more) the last one.
_MASKED_NAME = re.compile(r"[^*]\*+[^*]?")


def _slot_not_found() -> ApiError:
    return ApiError(404, "SLOT_NOT_FOUND", "未找到该预约时段")


def _booking_not_found() -> ApiError:
    return ApiError(404, "BOOKING_NOT_FOUND", "未找到该预约")


# --- shared helpers ------------------------------------------------------------------------


def zone_name(school: School) -> str:
    """The school's authority's time zone (Asia/Shanghai)."""
    return school.authority.timezone


def _aware(value: dt.datetime, zone_name_: str) -> dt.datetime:
    """A given time in UTC; one without an offset is local time."""
    return (value if value.tzinfo else value.replace(tzinfo=zone(zone_name_))).astimezone(
        dt.UTC)


def confirmed_offer(registration_id: int) -> Offer | None:
    """The registration's confirmed offer, if it has one (at most one: a constraint)."""
    return db.session.scalar(select(Offer).where(
        Offer.registration_id == registration_id, Offer.status == OfferStatus.CONFIRMED))


# --- slots ---------------------------------------------------------------------------------


def _check_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise ApiError(422, "SLOT_TIMES_INVALID", "结束时间须晚于开始时间")
    if ends_at - starts_at > dt.timedelta(hours=24):
        raise ApiError(422, "SLOT_TOO_LONG", "一个时段不能超过24小时")


def create_slot(user: User, *, season_id: int, school_code: str | None,
                starts_at: dt.datetime, ends_at: dt.datetime, place: str, capacity: int,
                note: str) -> OnsiteSlot:
    """A new slot of the school in the season."""
    school = scope.school_or_own(user, school_code)
    season = scope.season(user, season_id)
    tz = zone_name(school)
    starts, ends = _aware(starts_at, tz), _aware(ends_at, tz)
    _check_times(starts, ends)
    if ends <= utcnow():
        raise ApiError(422, "SLOT_IN_PAST", "不能创建已经结束的时段")
    slot = OnsiteSlot(school_id=school.id, season_id=season.id, starts_at=starts, ends_at=ends,
                      place=place.strip(), note=note.strip(), capacity=capacity, booked=0,
                      version=1, created_by_user_id=user.id)
    db.session.add(slot)
    db.session.flush()
    record_audit(db.session, action="onsite.slot_create", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="onsite_slot", object_id=slot.id,
                 details={"school_id": school.id, "capacity": capacity})
    logger.info("onsite slot created slot_id=%s school_id=%s by user_id=%s", slot.id,
                school.id, user.id)
    return slot


def staff_slot(user: User, slot_id: int, *, lock: bool = False) -> OnsiteSlot:
    """A slot in the caller's scope (404 otherwise)."""
    slot = db.session.get(OnsiteSlot, slot_id, with_for_update=lock, populate_existing=lock)
    if slot is None or not scope.may_see_school(user, slot.school):
        raise _slot_not_found()
    return slot


def change_slot(user: User, slot_id: int, changes: dict[str, Any]) -> OnsiteSlot:
    """Change a slot; a new time or place is sent to every family booked in it."""
    slot = staff_slot(user, slot_id, lock=True)
    tz = zone_name(slot.school)
    starts = _aware(changes["starts_at"], tz) if changes.get("starts_at") else slot.starts_at
    ends = _aware(changes["ends_at"], tz) if changes.get("ends_at") else slot.ends_at
    _check_times(starts, ends)
    capacity = changes.get("capacity") or slot.capacity
    if capacity < slot.booked:
        raise ApiError(409, "CAPACITY_BELOW_BOOKED", "容量不能少于已预约人数",
                       details={"booked": slot.booked})
    place = changes["place"].strip() if changes.get("place") else slot.place
    moved = (starts, ends, place) != (slot.starts_at, slot.ends_at, slot.place)
    slot.starts_at, slot.ends_at, slot.place, slot.capacity = starts, ends, place, capacity
    if changes.get("note") is not None:
        slot.note = changes["note"].strip()
    if moved:
        slot.version += 1
        for booking in db.session.scalars(select(OnsiteBooking).where(
                OnsiteBooking.slot_id == slot.id, OnsiteBooking.checked_in_at.is_(None))
                .options(selectinload(OnsiteBooking.registration))):
            _notify(booking, slot, f"onsite.slot:{slot.id}:v{slot.version}:{booking.id}",
                    note="预约时段已调整，请按新的时间地点到场")
    record_audit(db.session, action="onsite.slot_change", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="onsite_slot", object_id=slot.id,
                 details={"moved": moved, "capacity": capacity})
    return slot


def delete_slot(user: User, slot_id: int) -> None:
    """Delete a slot nobody has booked."""
    slot = staff_slot(user, slot_id, lock=True)
    if slot.booked or db.session.scalar(select(OnsiteBooking.id).where(
            OnsiteBooking.slot_id == slot.id).limit(1)):
        raise ApiError(409, "SLOT_HAS_BOOKINGS", "该时段已有家庭预约，不能删除")
    record_audit(db.session, action="onsite.slot_delete", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="onsite_slot", object_id=slot.id)
    db.session.delete(slot)


def _slots_in_scope(user: User, season_id: int | None,
                    school_code: str | None) -> Select[OnsiteSlot]:
    stmt = select(OnsiteSlot).where(scope.covers_school(user, OnsiteSlot.school_id))
    if school_code is not None:
        stmt = stmt.where(OnsiteSlot.school_id == scope.school_or_own(user, school_code).id)
    if season_id is not None:
        stmt = stmt.where(OnsiteSlot.season_id == scope.season(user, season_id).id)
    return stmt


def checked_in_counts(slot_ids: list[int]) -> dict[int, int]:
    """How many bookings of each slot have checked in."""
    if not slot_ids:
        return {}
    rows = db.session.execute(
        select(OnsiteBooking.slot_id, func.count()).where(
            OnsiteBooking.slot_id.in_(slot_ids), OnsiteBooking.checked_in_at.is_not(None))
        .group_by(OnsiteBooking.slot_id))
    return {slot_id: count for slot_id, count in rows}


def staff_slots(user: User, season_id: int | None,
                school_code: str | None) -> tuple[list[OnsiteSlot], dict[int, int]]:
    """Slots in the caller's scope by start time, and how many checked in to each."""
    slots = list(db.session.scalars(_slots_in_scope(user, season_id, school_code)
                                    .order_by(OnsiteSlot.starts_at, OnsiteSlot.id)))
    return slots, checked_in_counts([s.id for s in slots])


def slot_bookings(user: User, slot_id: int) -> list[OnsiteBooking]:
    """A slot's roster, by booking id."""
    slot = staff_slot(user, slot_id)
    return list(db.session.scalars(
        select(OnsiteBooking).where(OnsiteBooking.slot_id == slot.id)
        .options(selectinload(OnsiteBooking.registration).selectinload(Registration.child))
        .order_by(OnsiteBooking.id)))


def _name_or_number(q: str) -> ColumnElement[bool]:
    """A registration number, a surname, or the masked name staff see (王*明)."""
    q = q.strip()
    conditions: list[ColumnElement[bool]] = []
    if _NUMBER.fullmatch(q):
        conditions.append(Offer.registration_id == int(q))
    if _MASKED_NAME.fullmatch(q):
        # Only what the mask shows can be searched: one "_" per hidden character.
        pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Child.name.like(pattern.replace("*", "_"), escape="\\"))
    elif len(q) == 1 and not q.isascii():
        conditions.append(func.substr(Child.name, 1, 1) == q)
    return or_(*conditions) if conditions else false()


def admitted_children(user: User, *, season_id: int, school_code: str | None,
                      booked: bool | None, checked_in: bool | None, q: str | None,
                      page: int, per_page: int,
                      ) -> tuple[list[tuple[Offer, OnsiteBooking | None]], int]:
    """A page of the school's admitted children (confirmed offers) with their bookings.

    What staff need to book a slot on a family's behalf (a grandparent without the
    mini-program) and to see who has not booked yet; ordered by registration number.
    """
    school = scope.school_or_own(user, school_code)
    season = scope.season(user, season_id)
    stmt = (select(Offer, OnsiteBooking)
            .join(Child, Offer.child_id == Child.id)
            .outerjoin(OnsiteBooking, OnsiteBooking.registration_id == Offer.registration_id)
            .where(Offer.school_id == school.id, Offer.season_id == season.id,
                   Offer.status == OfferStatus.CONFIRMED))
    if booked is not None:
        stmt = stmt.where(OnsiteBooking.id.is_not(None) if booked else OnsiteBooking.id.is_(None))
    if checked_in is not None:
        stmt = stmt.where(OnsiteBooking.checked_in_at.is_not(None) if checked_in
                          else OnsiteBooking.checked_in_at.is_(None))
    if q:
        stmt = stmt.where(_name_or_number(q))
    total = db.session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(Offer.id).subquery())) or 0
    rows = db.session.execute(
        stmt.order_by(Offer.registration_id).offset((page - 1) * per_page).limit(per_page)
        .options(selectinload(Offer.child),
                 selectinload(OnsiteBooking.slot).selectinload(OnsiteSlot.school)))
    return [(offer, booking) for offer, booking in rows], total


# --- bookings ------------------------------------------------------------------------------


def _admitted_offer(registration: Registration) -> Offer:
    offer = confirmed_offer(registration.id)
    if offer is None:
        raise ApiError(409, "NOT_ADMITTED", "确认录取后才能预约现场确认时段")
    return offer


def parent_slots(user: User, registration_id: int) -> list[OnsiteSlot]:
    """Slots of the school that admitted the caller's child, not yet started."""
    registration = my_registration(user, registration_id)
    offer = _admitted_offer(registration)
    return list(db.session.scalars(select(OnsiteSlot).where(
        OnsiteSlot.school_id == offer.school_id, OnsiteSlot.season_id == offer.season_id,
        OnsiteSlot.starts_at > utcnow()).order_by(OnsiteSlot.starts_at, OnsiteSlot.id)))


def _take_place(slot_id: int) -> bool:
    """One place of the slot, if one is left (atomic: the WHERE is re-checked under lock)."""
    result = cast(CursorResult[Any], db.session.execute(
        update(OnsiteSlot).where(OnsiteSlot.id == slot_id,
                                 OnsiteSlot.booked < OnsiteSlot.capacity)
        .values(booked=OnsiteSlot.booked + 1)
        .execution_options(synchronize_session=False)))
    return result.rowcount == 1


def _give_back_place(slot_id: int) -> None:
    db.session.execute(
        update(OnsiteSlot).where(OnsiteSlot.id == slot_id, OnsiteSlot.booked > 0)
        .values(booked=OnsiteSlot.booked - 1).execution_options(synchronize_session=False))


def _notify(booking: OnsiteBooking, slot: OnsiteSlot, dedupe_key: str,
            note: str | None = None) -> None:
    """The family's `appointment` notice: school, time range, place, note."""
    tz = zone_name(slot.school)
    add_notice(db.session(), user_id=booking.registration.submitted_by_user_id,
               template_key="appointment",
               data={"school": slot.school.name,
                     "time": f"{local_iso(slot.starts_at, tz)}~{local_iso(slot.ends_at, tz)}",
                     "place": slot.place,
                     "note": note or slot.note or DEFAULT_APPOINTMENT_NOTE},
               dedupe_key=dedupe_key, page=f"pages/onsite/ticket?booking_id={booking.id}")


def _book(actor: User, registration: Registration, offer: Offer, slot_id: int,
          *, as_staff: bool) -> OnsiteBooking:
    slot = db.session.get(OnsiteSlot, slot_id)
    # Only the slots of the admitting school and season exist for this family.
    if slot is None or slot.school_id != offer.school_id or slot.season_id != offer.season_id:
        raise _slot_not_found()
    now = utcnow()
    if (slot.ends_at if as_staff else slot.starts_at) <= now:
        raise ApiError(409, "SLOT_CLOSED", "该时段已开始或已结束，请选择其他时段")
    booking = db.session.scalar(select(OnsiteBooking).where(
        OnsiteBooking.registration_id == registration.id).with_for_update())
    if booking is not None and booking.checked_in_at is not None:
        raise ApiError(409, "ALREADY_CHECKED_IN", "已完成现场确认，不能再改约")
    if booking is not None and booking.slot_id == slot.id:
        return booking  # already there: nothing changes, no second notice
    if not _take_place(slot.id):
        raise ApiError(409, "SLOT_FULL", "该时段已约满，请选择其他时段")
    role = actor.role.value
    if booking is None:
        booking = OnsiteBooking(registration_id=registration.id, slot_id=slot.id,
                                school_id=offer.school_id, season_id=offer.season_id,
                                nonce=tickets.new_nonce(), booked_by_user_id=actor.id,
                                booked_by_role=role)
        db.session.add(booking)
    else:
        _give_back_place(booking.slot_id)
        # A new nonce: the ticket of the old slot no longer verifies.
        booking.slot_id, booking.nonce = slot.id, tickets.new_nonce()
        booking.booked_by_user_id, booking.booked_by_role = actor.id, role
    db.session.flush()
    db.session.refresh(slot)
    booking.slot = slot
    _notify(booking, slot, f"onsite.booking:{booking.id}:{booking.nonce}")
    logger.info("onsite booking registration_id=%s slot_id=%s by role=%s user_id=%s",
                registration.id, slot.id, role, actor.id)
    return booking


def book(user: User, registration_id: int, slot_id: int) -> OnsiteBooking:
    """The family books (or moves to) a slot for its admitted child."""
    registration = my_registration(user, registration_id)
    return _book(user, registration, _admitted_offer(registration), slot_id, as_staff=False)


def assign_slot(user: User, registration_id: int, slot_id: int,
                address: str | None) -> OnsiteBooking:
    """Staff put an admitted child of their school in a slot (audited)."""
    registration = db.session.get(Registration, registration_id)
    offer = confirmed_offer(registration_id) if registration is not None else None
    if registration is None or offer is None or not scope.may_see_school(user, offer.school):
        raise ApiError(404, "ADMITTED_REGISTRATION_NOT_FOUND", "未找到该已确认录取的报名")
    booking = _book(user, registration, offer, slot_id, as_staff=True)
    record_audit(db.session, action="onsite.assign", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="onsite_booking", object_id=booking.id,
                 client_fingerprint=client_fingerprint(address),
                 details={"registration_id": registration_id, "slot_id": slot_id})
    return booking


def my_bookings(user: User) -> list[OnsiteBooking]:
    """The caller's bookings, newest first."""
    return list(db.session.scalars(
        select(OnsiteBooking).join(Registration, OnsiteBooking.registration_id == Registration.id)
        .where(Registration.submitted_by_user_id == user.id)
        .options(selectinload(OnsiteBooking.slot), selectinload(OnsiteBooking.registration))
        .order_by(OnsiteBooking.id.desc())))


def my_booking(user: User, booking_id: int) -> OnsiteBooking:
    """One of the caller's bookings (anyone else's: 404)."""
    booking = db.session.get(OnsiteBooking, booking_id)
    if booking is None or booking.registration.submitted_by_user_id != user.id:
        raise _booking_not_found()
    return booking


def cancel_booking(user: User, booking_id: int) -> None:
    """The family gives its place back, before the slot starts and before check-in."""
    booking = my_booking(user, booking_id)
    booking = db.session.get(OnsiteBooking, booking.id, with_for_update=True,
                             populate_existing=True) or booking
    if booking.checked_in_at is not None:
        raise ApiError(409, "ALREADY_CHECKED_IN", "已完成现场确认，不能取消")
    if booking.slot.starts_at <= utcnow():
        raise ApiError(409, "SLOT_CLOSED", "时段已开始，不能取消，请联系学校")
    _give_back_place(booking.slot_id)
    db.session.delete(booking)
    logger.info("onsite booking cancelled booking_id=%s", booking_id)


# --- tickets and check-in ------------------------------------------------------------------


def ticket_code(booking: OnsiteBooking) -> str:
    """The booking's current entry-ticket code."""
    return tickets.ticket_code(booking.id, booking.registration_id, booking.school_id,
                               booking.slot_id, booking.nonce)


def ticket(user: User, booking_id: int) -> tuple[OnsiteBooking, str, bytes]:
    """The caller's entry ticket: booking, code, PNG QR image."""
    booking = my_booking(user, booking_id)
    if booking.checked_in_at is None and confirmed_offer(booking.registration_id) is None:
        raise ApiError(409, "NOT_ADMITTED", "录取状态已变更，入场凭证已失效")
    code = ticket_code(booking)
    return booking, code, tickets.qr_png(code)


@dataclass(frozen=True)
class CheckIn:
    """A recorded check-in and whether it was outside the slot's window."""

    booking: OnsiteBooking
    off_slot: bool
    warning: str | None


def _off_slot_warning(slot: OnsiteSlot, now: dt.datetime) -> str | None:
    if now < slot.starts_at - CHECKIN_GRACE:
        return "早于预约时段到场" if slot.starts_at - now < dt.timedelta(hours=12) else \
            "非预约日期到场（早于预约时段）"
    if now > slot.ends_at + CHECKIN_GRACE:
        return "晚于预约时段到场"
    return None


def check_in(user: User, code_text: str, address: str | None) -> CheckIn:
    """Check a family in by its ticket code: forged 422, other school 409, used 409."""
    code = tickets.parse(code_text)
    booking = db.session.get(OnsiteBooking, code.booking_id) if code is not None else None
    # Unknown booking and wrong signature answer alike: nothing to learn by guessing ids.
    if code is None or booking is None or not tickets.verify(
            code, registration_id=booking.registration_id, school_id=booking.school_id,
            slot_id=booking.slot_id, nonce=booking.nonce):
        logger.warning("onsite check-in refused: invalid ticket by user_id=%s", user.id)
        raise ApiError(422, "TICKET_INVALID",
                       "入场凭证无效：不是本平台签发的凭证，或已改约失效（请出示最新凭证）")
    # The family came to the wrong school: a business answer, not a scope one. Only school
    # staff check families in; a bureau admin's "own school" is none, so never this one.
    if not (scope.is_school_staff(user) and scope.may_see_school(user, booking.school)):
        logger.warning("onsite check-in refused: other school's ticket booking_id=%s "
                       "by user_id=%s", booking.id, user.id)
        raise ApiError(409, "TICKET_OTHER_SCHOOL", "该凭证不是本校的入场凭证，请家长前往预约的学校")
    if booking.checked_in_at is not None:
        raise _used(booking)
    if confirmed_offer(booking.registration_id) is None:
        raise ApiError(409, "NOT_ADMITTED", "该儿童的录取状态已变更，不能办理现场确认")
    now = utcnow()
    warning = _off_slot_warning(booking.slot, now)
    # Single use, even when two desks scan the same ticket at once: the row is claimed
    # only while still unclaimed, and only for the nonce that was signed.
    claimed = cast(CursorResult[Any], db.session.execute(
        update(OnsiteBooking).where(OnsiteBooking.id == booking.id,
                                    OnsiteBooking.checked_in_at.is_(None),
                                    OnsiteBooking.nonce == code.nonce)
        .values(checked_in_at=now, checked_in_by_user_id=user.id, off_slot=warning is not None)
        .execution_options(synchronize_session=False)))
    db.session.refresh(booking)
    if claimed.rowcount != 1:
        raise _used(booking)
    record_audit(db.session, action="onsite.check_in", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="onsite_booking", object_id=booking.id,
                 client_fingerprint=client_fingerprint(address),
                 details={"registration_id": booking.registration_id,
                          "slot_id": booking.slot_id, "off_slot": warning is not None})
    logger.info("onsite check-in booking_id=%s by user_id=%s off_slot=%s", booking.id,
                user.id, warning is not None)
    return CheckIn(booking, warning is not None, warning)


def _used(booking: OnsiteBooking) -> ApiError:
    return ApiError(409, "TICKET_USED", "该入场凭证已使用过",
                    details={"checked_in_at": local_iso(booking.checked_in_at,
                                                        zone_name(booking.school)),
                             "checked_in_by_user_id": booking.checked_in_by_user_id,
                             "checked_in_by_name": staff_name(booking.checked_in_by_user_id)})


def staff_name(user_id: int | None) -> str | None:
    """The display name (or username) of a staff member, for the desk and the roster."""
    user = db.session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.username) if user is not None else None


def no_shows(user: User, *, season_id: int | None, school_code: str | None,
             day: dt.date | None, slot_id: int | None) -> list[tuple[OnsiteSlot, int,
                                                                     list[OnsiteBooking]]]:
    """Per ended slot in scope: the slot, its check-ins, and the bookings never checked in."""
    stmt = _slots_in_scope(user, season_id, school_code).where(OnsiteSlot.ends_at < utcnow())
    if slot_id is not None:
        stmt = stmt.where(OnsiteSlot.id == slot_id)
    if day is not None:
        tz = zone(user.authority.timezone if user.authority else None)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        stmt = stmt.where(OnsiteSlot.starts_at >= start,
                          OnsiteSlot.starts_at < start + dt.timedelta(days=1))
    slots = list(db.session.scalars(stmt.order_by(OnsiteSlot.starts_at, OnsiteSlot.id)))
    missing: dict[int, list[OnsiteBooking]] = {s.id: [] for s in slots}
    if slots:
        for booking in db.session.scalars(
                select(OnsiteBooking).where(OnsiteBooking.slot_id.in_(list(missing)),
                                            OnsiteBooking.checked_in_at.is_(None))
                .options(selectinload(OnsiteBooking.registration)
                         .selectinload(Registration.child))
                .order_by(OnsiteBooking.id)):
            missing[booking.slot_id].append(booking)
    counts = checked_in_counts([s.id for s in slots])
    return [(s, counts.get(s.id, 0), missing[s.id]) for s in slots]


def child_name_for_staff(booking: OnsiteBooking) -> str:
    """The child's name as staff see it (masked)."""
    return mask_name(booking.registration.child.name)
