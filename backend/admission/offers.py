"""Offers and waitlists: deadlines, the family's answer, expiry, waitlist moves, 统筹."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.admission.models import (
    LIVE_OFFER_STATUSES,
    EntryOutcome,
    Lottery,
    LotteryEntry,
    LotteryStatus,
    Offer,
    OfferSource,
    OfferStatus,
    SeatCount,
)
from backend.admission.seats import pending_lottery, release_seat, seat_counter, take_seats
from backend.admission.services import school_zone
from backend.audit.services import client_fingerprint, record_audit
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.notices.services import add_notices_bulk
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import School, SeatPlan

logger = logging.getLogger(__name__)

MAX_RESPONSE_DAYS = 30


# --- deadlines and notices ----------------------------------------------------------------


def response_deadline(given: dt.datetime | None, now: dt.datetime,
                      zone_name: str) -> dt.datetime:
    """The confirmation deadline: as given, or the end of the day N days from now (local)."""
    if given is None:
        days = int(current_app.config["ADMISSION_RESPONSE_DAYS"])
        local_day = now.astimezone(zone(zone_name)).date() + dt.timedelta(days=days)
        return dt.datetime.combine(local_day, dt.time(23, 59, 59),
                                   tzinfo=zone(zone_name)).astimezone(dt.UTC)
    deadline = (given if given.tzinfo else given.replace(tzinfo=zone(zone_name))).astimezone(
        dt.UTC)
    if deadline <= now:
        raise ApiError(422, "RESPOND_BY_IN_PAST", "确认期限须晚于当前时间")
    if deadline > now + dt.timedelta(days=MAX_RESPONSE_DAYS):
        raise ApiError(422, "RESPOND_BY_TOO_FAR", f"确认期限不能超过{MAX_RESPONSE_DAYS}天")
    return deadline


def deadline_text(deadline: dt.datetime | None, zone_name: str) -> str:
    """The deadline as the notice says it (local time); empty without one."""
    if deadline is None:
        return ""
    local = deadline.astimezone(zone(zone_name))
    return f"请于{local.month}月{local.day}日{local:%H:%M}前确认"


def notice_row(user_id: int, school: School, child_name: str, result: str, note: str,
               dedupe_key: str, registration_id: int) -> dict[str, Any]:
    """One `admission_result` notice row for `add_notices_bulk`."""
    # admission_result: {school, child (masked), result, note}; result is a WeChat `phrase`
    # (≤ 5 characters), note a `thing` (≤ 20).
    return {"user_id": user_id, "template_key": "admission_result",
            "data": {"school": school.name, "child": pii.mask_name(child_name),
                     "result": result, "note": note},
            "dedupe_key": dedupe_key,
            "page": f"pages/admission/index?registration_id={registration_id}"}


# --- the family's answer, the bureau's withdrawal -----------------------------------------


def _move_offer(session: Session, offer: Offer, allowed_from: Iterable[OfferStatus],
                to: OfferStatus, *, actor: User | None, now: dt.datetime,
                note: str | None = None) -> None:
    """Compare-and-set the offer's status; a seat given back is released at once."""
    result = cast(CursorResult[Any], session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.status.in_(list(allowed_from)))
        .values(status=to, decided_at=now, updated_at=now,
                decided_by_user_id=actor.id if actor else None,
                decided_by_role=actor.role.value if actor else "system",
                note=note if note is not None else Offer.note)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise ApiError(409, "OFFER_CHANGED", "该录取状态已变化，请刷新后查看")
    session.expire(offer)
    if to not in LIVE_OFFER_STATUSES:
        release_seat(session, offer.season_id, offer.school_id)


def _family_offer(user: User, offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id, options=[joinedload(Offer.child)])
    if offer is None or offer.child.guardian.user_id != user.id:
        raise ApiError(404, "OFFER_NOT_FOUND", "未找到该录取通知")
    return offer


def confirm_offer(user: User, offer_id: int, now: dt.datetime | None = None) -> Offer:
    """The family accepts the seat before the deadline."""
    now = now or utcnow()
    offer = _family_offer(user, offer_id)
    if offer.status is not OfferStatus.OFFERED:
        raise ApiError(409, "OFFER_NOT_OPEN", "该录取通知已处理，不能再确认",
                       details={"status": offer.status.value})
    if offer.respond_by is not None and now > offer.respond_by:
        raise ApiError(409, "OFFER_EXPIRED", "已超过确认期限")
    _move_offer(db.session(), offer, [OfferStatus.OFFERED], OfferStatus.CONFIRMED, actor=user,
                now=now)
    logger.info("offer confirmed offer_id=%s actor_user_id=%s", offer.id, user.id)
    return offer


def decline_offer(user: User, offer_id: int, now: dt.datetime | None = None) -> Offer:
    """The family declines; the seat goes to the next on the school's waitlist."""
    now = now or utcnow()
    offer = _family_offer(user, offer_id)
    if offer.status is not OfferStatus.OFFERED:
        raise ApiError(409, "OFFER_NOT_OPEN", "该录取通知已处理，不能再放弃",
                       details={"status": offer.status.value})
    _move_offer(db.session(), offer, [OfferStatus.OFFERED], OfferStatus.DECLINED, actor=user,
                now=now)
    logger.info("offer declined offer_id=%s actor_user_id=%s", offer.id, user.id)
    fill_from_waitlist(db.session(), offer.season_id, offer.school_id, now=now)
    return offer


def withdraw_offer(user: User, offer_id: int, *, reason: str | None,
                   client_address: str | None, now: dt.datetime | None = None) -> Offer:
    """Give up a confirmed seat (family) or withdraw any live offer (bureau, with a reason)."""
    now = now or utcnow()
    if user.role is Role.PARENT:
        offer = _family_offer(user, offer_id)
        allowed = [OfferStatus.CONFIRMED]
    else:
        offer = _staff_offer(user, offer_id)
        allowed = list(LIVE_OFFER_STATUSES)
        if not reason:
            raise ApiError(422, "REASON_REQUIRED", "请填写撤销原因")
    if offer.status not in allowed:
        raise ApiError(409, "OFFER_NOT_LIVE", "该录取不能撤销",
                       details={"status": offer.status.value})
    note = pii.mask_free_text(reason) if reason else None
    _move_offer(db.session(), offer, allowed, OfferStatus.WITHDRAWN, actor=user, now=now, note=note)
    if user.role is not Role.PARENT:
        record_audit(db.session, action="admission.offer_withdraw", actor_user_id=user.id,
                     actor_role=user.role.value, object_type="offer", object_id=offer.id,
                     client_fingerprint=client_fingerprint(client_address),
                     details={"reason": note, "registration_id": offer.registration_id})
    logger.info("offer withdrawn offer_id=%s actor_user_id=%s", offer.id, user.id)
    fill_from_waitlist(db.session(), offer.season_id, offer.school_id, now=now)
    return offer


def _staff_offer(user: User, offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if (offer is None or user.role is not Role.BUREAU_ADMIN
            or not scope.may_see_school(user, offer.school)):
        raise scope.not_found("OFFER_NOT_FOUND", "未找到该录取记录")
    return offer


# --- expiry and waitlists -----------------------------------------------------------------


def expire_overdue(session: Session, season_id: int, *, actor: User | None,
                   now: dt.datetime | None = None,
                   school_id: int | None = None) -> list[Offer]:
    """Expire every offer of the season past its deadline; their seats go to the waitlists."""
    now = now or utcnow()
    stmt = select(Offer).where(Offer.season_id == season_id,
                               Offer.status == OfferStatus.OFFERED,
                               Offer.respond_by.is_not(None), Offer.respond_by < now)
    if school_id is not None:
        stmt = stmt.where(Offer.school_id == school_id)
    # By school: counters are locked in one order, so two expiry runs never deadlock.
    expired = list(session.scalars(stmt.order_by(Offer.school_id, Offer.id)))
    schools: set[int] = set()
    for offer in expired:
        _move_offer(session, offer, [OfferStatus.OFFERED], OfferStatus.EXPIRED, actor=actor,
                    now=now, note="逾期未确认")
        schools.add(offer.school_id)
    for sid in sorted(schools):
        fill_from_waitlist(session, season_id, sid, now=now)
    if expired:
        logger.info("offers expired season_id=%s count=%s", season_id, len(expired))
    return expired


def expire_offers_for(user: User, season_id: int, school_id: int | None,
                      client_address: str | None, now: dt.datetime | None = None) -> int:
    """The bureau's "expire overdue offers" action for a season (audited)."""
    season = scope.season(user, season_id)
    if school_id is not None:
        scope.school(user, school_id=school_id)
    expired = expire_overdue(db.session(), season.id, actor=user, now=now, school_id=school_id)
    record_audit(db.session, action="admission.expire_offers", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="season", object_id=season.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"school_id": school_id, "expired": [o.id for o in expired]})
    return len(expired)


def fill_from_waitlist(session: Session, season_id: int, school_id: int, *,
                       now: dt.datetime | None = None) -> list[Offer]:
    """Offer the school's free seats to the next on its waitlist, in order (notice sent).

    Skipped: children holding a live offer (no child holds two), whose registration is no
    longer approved, or who were already offered this seat once. The counter row is locked
    first, so two seats freed at once are filled one after the other.
    """
    now = now or utcnow()
    lottery = session.scalar(select(Lottery).where(
        Lottery.season_id == season_id, Lottery.school_id == school_id,
        Lottery.is_practice.is_(False), Lottery.status == LotteryStatus.DRAWN))
    if lottery is None:
        return []
    counter = seat_counter(session, season_id, school_id, lock=True)
    free = counter.seats - counter.taken
    if free <= 0:
        return []
    offered_entries = select(Offer.lottery_entry_id).where(
        Offer.lottery_id == lottery.id, Offer.lottery_entry_id.is_not(None))
    live = select(Offer.child_id).where(Offer.season_id == season_id,
                                        Offer.status.in_(LIVE_OFFER_STATUSES))
    candidates = list(session.execute(
        select(LotteryEntry, Registration)
        .join(Registration, LotteryEntry.registration_id == Registration.id)
        .where(LotteryEntry.lottery_id == lottery.id,
               LotteryEntry.outcome == EntryOutcome.WAITLISTED,
               LotteryEntry.id.not_in(offered_entries),
               LotteryEntry.child_id.not_in(live),
               Registration.status == RegistrationStatus.APPROVED)
        .options(joinedload(Registration.child))
        .order_by(LotteryEntry.position)
        .limit(free)).all())
    zone_name = school_zone(lottery.school)
    deadline = response_deadline(None, now, zone_name)
    made: list[Offer] = []
    notices = []
    for entry, registration in candidates:
        offer = Offer(season_id=season_id, school_id=school_id, child_id=entry.child_id,
                      registration_id=registration.id, lottery_id=lottery.id,
                      lottery_entry_id=entry.id, source=OfferSource.WAITLIST,
                      status=OfferStatus.OFFERED, respond_by=deadline)
        try:
            with session.begin_nested():
                take_seats(session, season_id, school_id)
                session.add(offer)
                session.flush()
        except IntegrityError:
            # The child got a live offer elsewhere meanwhile: skip, the next one is asked.
            logger.info("waitlist candidate skipped entry_id=%s", entry.id)
            continue
        except ApiError:
            break  # full after all
        made.append(offer)
        notices.append(notice_row(registration.submitted_by_user_id, lottery.school,
                                  registration.child.name, "候补录取",
                                  deadline_text(deadline, zone_name),
                                  f"admission.waitlist:{offer.id}", registration.id))
        logger.info("waitlist offer made offer_id=%s entry_id=%s school_id=%s", offer.id,
                    entry.id, school_id)
    if notices:
        add_notices_bulk(session, notices)
    return made


# --- placement (统筹) and staff lists -------------------------------------------------------


def live_children(season_id: int) -> set[int]:
    """Children of the season holding a live offer (offered or confirmed)."""
    return set(db.session.scalars(select(Offer.child_id).where(
        Offer.season_id == season_id, Offer.status.in_(LIVE_OFFER_STATUSES))))


def place_child(user: User, registration_id: int, school_id: int, *, reason: str,
                respond_by: dt.datetime | None, client_address: str | None,
                now: dt.datetime | None = None) -> Offer:
    """统筹: the bureau places an approved child not placed at a school with free seats."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id,
                                  options=[joinedload(Registration.child)])
    if registration is None or not scope.may_see_school(user, registration.school):
        raise scope.not_found("REGISTRATION_NOT_FOUND", "未找到该报名记录")
    school = scope.school(user, school_id=school_id)
    if registration.status is not RegistrationStatus.APPROVED:
        raise ApiError(409, "REGISTRATION_NOT_APPROVED", "只能统筹安排审核通过的儿童",
                       details={"status": registration.status.value})
    if registration.child_id in live_children(registration.season_id):
        raise ApiError(409, "ALREADY_PLACED", "该儿童已有录取，不能重复安排")
    in_pending = db.session.scalar(
        select(LotteryEntry.id).join(Lottery, LotteryEntry.lottery_id == Lottery.id)
        .where(LotteryEntry.child_id == registration.child_id,
               Lottery.season_id == registration.season_id,
               Lottery.is_practice.is_(False), Lottery.status == LotteryStatus.FROZEN)
        .limit(1))
    if in_pending is not None:
        raise ApiError(409, "CHILD_IN_PENDING_LOTTERY",
                       "该儿童在待开奖的派位名单中，请开奖后再统筹")
    # The counter's row lock first: a freeze of this school (which takes it too) either
    # committed before, and its pending draw is seen below, or waits until we are done.
    seat_counter(db.session(), registration.season_id, school.id, lock=True)
    if pending_lottery(registration.season_id, school.id) is not None:
        # The school's free seats are committed to its coming draw.
        raise ApiError(409, "LOTTERY_PENDING", "该校派位尚未开奖，暂不能统筹安排")
    take_seats(db.session(), registration.season_id, school.id)
    reason = pii.mask_free_text(reason.strip())
    offer = Offer(season_id=registration.season_id, school_id=school.id,
                  child_id=registration.child_id, registration_id=registration.id,
                  source=OfferSource.BUREAU_PLACEMENT, status=OfferStatus.OFFERED,
                  respond_by=response_deadline(respond_by, now, school_zone(school)),
                  placement_reason=reason, created_by_user_id=user.id)
    db.session.add(offer)
    db.session.flush()
    add_notices_bulk(db.session(), [notice_row(
        registration.submitted_by_user_id, school, registration.child.name, "统筹安排",
        deadline_text(offer.respond_by, school_zone(school)),
        f"admission.placement:{offer.id}", registration.id)])
    record_audit(db.session, action="admission.placement", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="offer", object_id=offer.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"registration_id": registration.id, "school_id": school.id,
                          "reason": reason})
    logger.info("child placed offer_id=%s actor_user_id=%s school_id=%s", offer.id, user.id,
                school.id)
    return offer


def list_offers(user: User, season_id: int, *, school_id: int | None = None,
                status: str | None = None, overdue: bool | None = None, page: int = 1,
                page_size: int = 50,
                now: dt.datetime | None = None) -> tuple[list[Offer], int]:
    """A page of the season's offers in the caller's scope (school staff: their school),
    and how many match."""
    now = now or utcnow()
    season = scope.season(user, season_id)
    conditions = [Offer.season_id == season.id, scope.covers_school(user, Offer.school_id)]
    if school_id is not None:
        conditions.append(Offer.school_id == scope.school(user, school_id=school_id).id)
    if status:
        conditions.append(Offer.status == OfferStatus(status))
    past_deadline = (Offer.status == OfferStatus.OFFERED) & Offer.respond_by.is_not(None) \
        & (Offer.respond_by < now)
    if overdue is True:
        conditions.append(past_deadline)
    elif overdue is False:
        conditions.append(~past_deadline)
    total = db.session.scalar(select(func.count()).select_from(Offer).where(*conditions)) or 0
    rows = list(db.session.scalars(
        select(Offer).where(*conditions)
        .options(joinedload(Offer.child), joinedload(Offer.school))
        .order_by(Offer.school_id, Offer.id)
        .limit(page_size).offset((page - 1) * page_size)))
    return rows, total


WaitlistEntry = tuple[LotteryEntry, Offer | None, str]


def seats_of(season_id: int, school_id: int) -> tuple[int | None, int]:
    """The school's plan seats (None without a plan) and the seats taken, read only."""
    counter = db.session.scalar(select(SeatCount).where(SeatCount.season_id == season_id,
                                                        SeatCount.school_id == school_id))
    if counter is not None:
        return counter.seats, counter.taken
    plan = db.session.scalar(select(SeatPlan).where(SeatPlan.season_id == season_id,
                                                    SeatPlan.school_id == school_id))
    return (plan.seats if plan else None), 0


def waitlist(user: User, season_id: int, school_id: int) -> tuple[
        School, Lottery | None, tuple[int | None, int], list[WaitlistEntry]]:
    """The school's waitlist in order, each applicant with where it stands now.

    The order is the drawn lottery's; the state says whether the seat came (and what the
    family did with it), whether the child got a seat elsewhere, or is out of the running.
    """
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    counter = seats_of(season.id, school.id)
    lottery = db.session.scalar(select(Lottery).where(
        Lottery.season_id == season.id, Lottery.school_id == school.id,
        Lottery.is_practice.is_(False), Lottery.status == LotteryStatus.DRAWN))
    if lottery is None:
        return school, None, counter, []
    entries = list(db.session.execute(
        select(LotteryEntry, Registration.status)
        .join(Registration, LotteryEntry.registration_id == Registration.id)
        .where(LotteryEntry.lottery_id == lottery.id,
               LotteryEntry.outcome == EntryOutcome.WAITLISTED)
        .order_by(LotteryEntry.position)).all())
    offers = {o.lottery_entry_id: o for o in db.session.scalars(select(Offer).where(
        Offer.lottery_id == lottery.id, Offer.lottery_entry_id.is_not(None)))}
    live = live_children(season.id)
    rows: list[WaitlistEntry] = []
    for entry, registration_status in entries:
        offer = offers.get(entry.id)
        if offer is not None:
            state = offer.status.value
        elif entry.child_id in live:
            state = "placed_elsewhere"
        elif registration_status is not RegistrationStatus.APPROVED:
            state = "inactive"
        else:
            state = "waiting"
        rows.append((entry, offer, state))
    return school, lottery, counter, rows


def unplaced(user: User, season_id: int, *, school_id: int | None = None, page: int = 1,
             page_size: int = 50) -> tuple[list[tuple[Registration, bool]], int]:
    """A page of approved registrations whose child holds no live offer (with whether the
    child is in a pending draw), and how many there are."""
    season = scope.season(user, season_id)
    live = select(Offer.child_id).where(Offer.season_id == season.id,
                                        Offer.status.in_(LIVE_OFFER_STATUSES))
    pending = set(db.session.scalars(
        select(LotteryEntry.child_id).join(Lottery, LotteryEntry.lottery_id == Lottery.id)
        .where(Lottery.season_id == season.id, Lottery.is_practice.is_(False),
               Lottery.status == LotteryStatus.FROZEN)))
    conditions = [Registration.season_id == season.id,
                  scope.covers_school(user, Registration.school_id),
                  Registration.status == RegistrationStatus.APPROVED,
                  Registration.child_id.not_in(live)]
    if school_id is not None:
        conditions.append(Registration.school_id == scope.school(user, school_id=school_id).id)
    total = db.session.scalar(
        select(func.count()).select_from(Registration).where(*conditions)) or 0
    rows = db.session.scalars(
        select(Registration).where(*conditions)
        .options(joinedload(Registration.child), joinedload(Registration.school))
        .order_by(Registration.id).limit(page_size).offset((page - 1) * page_size))
    return [(r, r.child_id in pending) for r in rows], total


def admitted(session: Session, school_id: int, season_id: int) -> list[Offer]:
    """The confirmed offers of a school in a season, with registration and child loaded."""
    return list(session.scalars(
        select(Offer)
        .where(Offer.school_id == school_id, Offer.season_id == season_id,
               Offer.status == OfferStatus.CONFIRMED)
        .options(joinedload(Offer.child),
                 joinedload(Offer.registration).joinedload(Registration.child))
        .order_by(Offer.id)
    ).unique())


