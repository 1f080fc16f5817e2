"""Lotteries (随机派位): freeze the applicant list, draw with a public value, the evidence."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from backend.accounts import scope
from backend.accounts.models import User
from backend.admission import lottery as algo
from backend.admission.models import (
    EntryOutcome,
    Lottery,
    LotteryEntry,
    LotteryStatus,
    Offer,
    OfferSource,
    OfferStatus,
)
from backend.admission.offers import (
    deadline_text,
    live_children,
    notice_row,
    response_deadline,
    seats_of,
)
from backend.admission.seats import seat_counter, take_seats
from backend.admission.services import pseudonym, school_zone
from backend.admission.tiers import applicant_facts, real_lottery, tier_of, tiers_for
from backend.audit.services import client_fingerprint, record_audit
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.notices.services import add_notices_bulk
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import School, SchoolZone
from backend.seasons.models import Season

logger = logging.getLogger(__name__)

# Registrations still in review: a real lottery waits until none is left (审核结束后冻结).
PENDING_REVIEW = (RegistrationStatus.SUBMITTED, RegistrationStatus.UNDER_REVIEW,
                  RegistrationStatus.RETURNED, RegistrationStatus.BUREAU_REVIEW)


def _applicants(season: Season, school: School,
                tiers: Sequence[dict[str, Any]]) -> list[tuple[Registration, str, int]]:
    """Approved registrations of the school not placed elsewhere: (registration, id, tier)."""
    zone_ids = set(db.session.scalars(select(SchoolZone.region_id).where(
        SchoolZone.school_id == school.id)))
    placed = live_children(season.id)
    registrations = db.session.scalars(
        select(Registration)
        .where(Registration.season_id == season.id, Registration.school_id == school.id,
               Registration.status == RegistrationStatus.APPROVED)
        .options(joinedload(Registration.child))
        .order_by(Registration.id))
    out = []
    for registration in registrations:
        if registration.child_id in placed:
            continue
        facts = applicant_facts(registration, registration.child, zone_ids)
        out.append((registration, pseudonym(season.id, registration.child_id),
                    tier_of(tiers, facts)))
    return out


def freeze_lottery(user: User, season_id: int, school_id: int, *, public_value_source: str,
                   practice: bool, respond_by: dt.datetime | None,
                   client_address: str | None, now: dt.datetime | None = None) -> Lottery:
    """Commit to the school's applicant list (冻结名单); settle at once if not oversubscribed.

    A real lottery needs the registration window closed and no registration of the school
    left in review. A practice run may be made at any time; it is never published and never
    offers a seat or notifies anyone.
    """
    now = now or utcnow()
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    source = algo.normalize_public_value(public_value_source or "")
    if not practice:
        if now < season.registration_closes_at:
            raise ApiError(409, "REGISTRATION_STILL_OPEN", "报名尚未结束，不能冻结派位名单")
        pending = db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.season_id == season.id, Registration.school_id == school.id,
            Registration.status.in_(PENDING_REVIEW))) or 0
        if pending:
            raise ApiError(409, "REVIEW_NOT_FINISHED", "该校仍有报名未审核完毕，不能冻结派位名单",
                           details={"pending": pending})
        if real_lottery(season.id, school.id) is not None:
            raise ApiError(409, "LOTTERY_EXISTS", "该校本招生季已有正式派位")
    counter = seat_counter(db.session(), season.id, school.id, lock=True)
    seats = counter.seats - counter.taken
    tiers = tiers_for(season.id, school.id)
    applicants = _applicants(season, school, tiers)
    needs_draw = algo.oversubscribed(len(applicants), seats)
    if needs_draw and not source:
        raise ApiError(422, "PUBLIC_VALUE_SOURCE_REQUIRED",
                       "报名人数超过招生计划，须事先指定用于派位的公开随机数来源（如某期彩票开奖号码）")
    document = algo.commitment_document(
        school=school.code, season=season.id, seats=seats, tiers=tiers,
        applicants=[algo.Applicant(p, t) for _r, p, t in applicants],
        public_value_source=source, practice=practice)
    lottery = Lottery(
        season_id=season.id, school_id=school.id, is_practice=practice,
        status=LotteryStatus.FROZEN, algorithm_version=algo.ALGORITHM_VERSION, seats=seats,
        applicant_count=len(applicants), committed=document,
        commitment=algo.commitment_of(document), public_value_source=source,
        frozen_at=now, frozen_by_user_id=user.id,
        published_at=None if practice else now,
        # A deadline named now is kept; none: counted from the draw (see _offer_admitted).
        respond_by=(response_deadline(respond_by, now, school_zone(school))
                    if respond_by is not None else None))
    lottery.entries = [
        LotteryEntry(registration_id=r.id, child_id=r.child_id, pseudonym=p, tier=t,
                     masked_name=pii.mask_name(r.child.name))
        for r, p, t in applicants]
    db.session.add(lottery)
    db.session.flush()
    if not needs_draw:
        # Not oversubscribed: everyone approved is admitted, no draw (still published).
        _apply_result(lottery, algo.draw([algo.Applicant(e.pseudonym, e.tier)
                                          for e in lottery.entries], seats, None))
        lottery.status = LotteryStatus.SETTLED
        db.session.flush()
        if not practice:
            _offer_admitted(lottery, user, now)
    record_audit(db.session, action="admission.lottery_freeze", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="lottery", object_id=lottery.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"school_id": school.id, "season_id": season.id,
                          "practice": practice, "seats": seats,
                          "applicants": len(applicants), "commitment": lottery.commitment,
                          "settled": not needs_draw})
    logger.info("lottery frozen lottery_id=%s actor_user_id=%s school_id=%s practice=%s "
                "applicants=%s seats=%s", lottery.id, user.id, school.id, practice,
                len(applicants), seats)
    return lottery


def _apply_result(lottery: Lottery, placed: Sequence[algo.Placed]) -> None:
    by_pseudonym = {e.pseudonym: e for e in lottery.entries}
    for p in placed:
        entry = by_pseudonym[p.pseudonym]
        entry.position = p.position
        entry.outcome = EntryOutcome.ADMITTED if p.admitted else EntryOutcome.WAITLISTED


def _offer_admitted(lottery: Lottery, user: User, now: dt.datetime) -> None:
    """Offers for the admitted of a real lottery, and every applicant's result notice."""
    if lottery.is_practice:  # never: a practice run offers nothing and tells nobody
        raise RuntimeError("practice lotteries never make offers")
    entries = ordered_entries(lottery)
    admitted = [e for e in entries if e.outcome is EntryOutcome.ADMITTED]
    zone_name = school_zone(lottery.school)
    if lottery.respond_by is None or lottery.respond_by <= now:
        lottery.respond_by = response_deadline(None, now, zone_name)
    take_seats(db.session(), lottery.season_id, lottery.school_id, len(admitted))
    registrations = {r.id: r for r in db.session.scalars(
        select(Registration).where(Registration.id.in_([e.registration_id for e in entries]))
        .options(joinedload(Registration.child)))}
    for entry in admitted:
        db.session.add(Offer(
            season_id=lottery.season_id, school_id=lottery.school_id, child_id=entry.child_id,
            registration_id=entry.registration_id, lottery_id=lottery.id,
            lottery_entry_id=entry.id, source=OfferSource.LOTTERY,
            status=OfferStatus.OFFERED, respond_by=lottery.respond_by,
            created_by_user_id=user.id))
    db.session.flush()
    rows = []
    for entry in entries:
        registration = registrations[entry.registration_id]
        if entry.outcome is EntryOutcome.ADMITTED:
            result, note = "拟录取", deadline_text(lottery.respond_by, zone_name)
        else:
            result, note = "候补", f"候补第{(entry.position or 0) - lottery.seats}位"
        rows.append(notice_row(registration.submitted_by_user_id, lottery.school,
                               registration.child.name, result, note,
                               f"admission.lottery:{lottery.id}:{entry.id}",
                               registration.id))
    add_notices_bulk(db.session(), rows)


def lottery_in_scope(user: User, lottery_id: int, *, lock: bool = False) -> Lottery:
    """A lottery in the caller's scope (practice ones included); 404 otherwise."""
    lottery = db.session.get(Lottery, lottery_id, with_for_update=lock,
                             populate_existing=lock)
    if lottery is None or not scope.may_see_school(user, lottery.school):
        raise scope.not_found("LOTTERY_NOT_FOUND", "未找到该派位")
    return lottery


def draw_lottery(user: User, lottery_id: int, *, public_value: str,
                 client_address: str | None, now: dt.datetime | None = None) -> Lottery:
    """随机派位: enter the named public value; seed, numbers, order and offers follow."""
    now = now or utcnow()
    lottery = lottery_in_scope(user, lottery_id, lock=True)
    if lottery.status is not LotteryStatus.FROZEN:
        raise ApiError(409, "LOTTERY_NOT_FROZEN", "该派位不在待开奖状态",
                       details={"status": lottery.status.value})
    value = algo.normalize_public_value(public_value)
    if not value:
        raise ApiError(422, "PUBLIC_VALUE_REQUIRED", "请输入公开随机数（开奖号码）")
    seed = algo.seed_of(lottery.commitment, value)
    placed = algo.draw([algo.Applicant(e.pseudonym, e.tier) for e in lottery.entries],
                       lottery.seats, seed)
    _apply_result(lottery, placed)
    lottery.public_value, lottery.seed = value, seed
    lottery.status = LotteryStatus.DRAWN
    lottery.drawn_at, lottery.drawn_by_user_id = now, user.id
    db.session.flush()
    if not lottery.is_practice:
        _offer_admitted(lottery, user, now)
    record_audit(db.session, action="admission.lottery_draw", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="lottery", object_id=lottery.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"practice": lottery.is_practice, "public_value": value,
                          "seed": seed, "admitted": sum(p.admitted for p in placed)})
    logger.info("lottery drawn lottery_id=%s actor_user_id=%s practice=%s", lottery.id,
                user.id, lottery.is_practice)
    return lottery


def cancel_lottery(user: User, lottery_id: int, *, reason: str,
                   client_address: str | None) -> Lottery:
    """Cancel a frozen lottery before its draw (e.g. a wrong list); the record stays public."""
    lottery = lottery_in_scope(user, lottery_id, lock=True)
    if lottery.status is not LotteryStatus.FROZEN:
        raise ApiError(409, "LOTTERY_NOT_FROZEN", "只能撤销尚未开奖的派位",
                       details={"status": lottery.status.value})
    lottery.status = LotteryStatus.CANCELLED
    lottery.cancel_reason = pii.mask_free_text(reason)
    db.session.flush()
    record_audit(db.session, action="admission.lottery_cancel", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="lottery", object_id=lottery.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"reason": lottery.cancel_reason})
    return lottery


def list_lotteries(user: User, season_id: int,
                   school_id: int | None = None) -> list[Lottery]:
    """The season's lotteries in the caller's scope, practice runs included (marked)."""
    season = scope.season(user, season_id)
    stmt = (select(Lottery)
            .where(Lottery.season_id == season.id, scope.covers_school(user, Lottery.school_id))
            .options(joinedload(Lottery.school)).order_by(Lottery.id))
    if school_id is not None:
        stmt = stmt.where(Lottery.school_id == scope.school(user, school_id=school_id).id)
    return list(db.session.scalars(stmt))


def public_lottery(lottery_id: int) -> Lottery:
    """A published (real) lottery; practice runs are never public (404)."""
    lottery = db.session.get(Lottery, lottery_id)
    if lottery is None or lottery.is_practice or lottery.published_at is None:
        raise ApiError(404, "LOTTERY_NOT_FOUND", "未找到该派位")
    return lottery


def public_lotteries(season_id: int, school_code: str | None) -> list[Lottery]:
    """The published lotteries of a season (optionally one school)."""
    stmt = (select(Lottery).join(School, Lottery.school_id == School.id)
            .where(Lottery.season_id == season_id, Lottery.is_practice.is_(False),
                   Lottery.published_at.is_not(None))
            .options(joinedload(Lottery.school)).order_by(School.code, Lottery.id))
    if school_code:
        stmt = stmt.where(School.code == school_code)
    return list(db.session.scalars(stmt))


def ordered_entries(lottery: Lottery) -> list[LotteryEntry]:
    """Entries in result order (after the draw), else by pseudonym (the committed order)."""
    if lottery.status in (LotteryStatus.DRAWN, LotteryStatus.SETTLED):
        return sorted(lottery.entries, key=lambda e: e.position or 0)
    return sorted(lottery.entries, key=lambda e: e.pseudonym)


def evidence(lottery: Lottery) -> dict[str, Any]:
    """Everything `scripts/verify_lottery` needs to recompute the lottery, and nothing more."""
    season = db.session.get(Season, lottery.season_id)
    drawn = lottery.status is LotteryStatus.DRAWN
    result = []
    if lottery.status in (LotteryStatus.DRAWN, LotteryStatus.SETTLED):
        for entry in ordered_entries(lottery):
            result.append({
                "position": entry.position, "pseudonym": entry.pseudonym, "tier": entry.tier,
                "lottery_number": (algo.lottery_number(lottery.seed, entry.pseudonym)
                                   if drawn and lottery.seed else None),
                "outcome": entry.outcome.value if entry.outcome else None,
                "masked_name": entry.masked_name,
            })
    doc: dict[str, Any] = {
        "format": "admission-lottery-evidence",
        "format_version": 1,
        "practice": lottery.is_practice,
        "lottery_id": lottery.id,
        "status": lottery.status.value,
        "school": {"code": lottery.school.code, "name": lottery.school.name},
        "season": {"id": lottery.season_id, "name": season.name if season else "",
                   "year": season.year if season else None},
        "algorithm_version": lottery.algorithm_version,
        "seats": lottery.seats,
        "applicant_count": lottery.applicant_count,
        "committed": lottery.committed,
        "commitment": lottery.commitment,
        "public_value_source": lottery.public_value_source,
        "public_value": lottery.public_value,
        "seed": lottery.seed,
        "frozen_at": lottery.frozen_at.isoformat(),
        "drawn_at": lottery.drawn_at.isoformat() if lottery.drawn_at else None,
        "result": result,
    }
    if lottery.is_practice:
        doc["warning"] = "演练（PRACTICE）：非正式结果，不公布、不通知、不录取"
    if lottery.status is LotteryStatus.CANCELLED:
        doc["cancel_reason"] = lottery.cancel_reason
    return doc


def lottery_schools(user: User, season_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Each school in scope with what its lottery steps need: seats, the applicants a freeze
    would commit to now, reviews still pending, its real lottery and practice runs."""
    now = now or utcnow()
    season = scope.season(user, season_id)
    schools = list(db.session.scalars(select(School).where(
        scope.covers_school(user, School.id)).order_by(School.code)))
    placed = live_children(season.id)
    approved: dict[int, int] = {}
    for school_id, child_id in db.session.execute(
            select(Registration.school_id, Registration.child_id).where(
                Registration.season_id == season.id,
                Registration.status == RegistrationStatus.APPROVED)):
        if child_id not in placed:
            approved[school_id] = approved.get(school_id, 0) + 1
    pending = dict(db.session.execute(
        select(Registration.school_id, func.count()).where(
            Registration.season_id == season.id, Registration.status.in_(PENDING_REVIEW))
        .group_by(Registration.school_id)).all())
    lotteries = list(db.session.scalars(select(Lottery).where(
        Lottery.season_id == season.id, Lottery.status != LotteryStatus.CANCELLED)
        .options(joinedload(Lottery.school)).order_by(Lottery.id)))
    real = {lot.school_id: lot for lot in lotteries if not lot.is_practice}
    practice: dict[int, int] = {}
    for lot in lotteries:
        if lot.is_practice:
            practice[lot.school_id] = practice.get(lot.school_id, 0) + 1
    items = []
    for school in schools:
        seats, taken = seats_of(season.id, school.id)
        free = None if seats is None else seats - taken
        items.append({"school": school, "seats": seats, "taken": taken, "free": free,
                      "applicants": approved.get(school.id, 0),
                      "pending_review": int(pending.get(school.id, 0)),
                      "oversubscribed": free is not None and algo.oversubscribed(
                          approved.get(school.id, 0), free),
                      "lottery": real.get(school.id), "practice_runs": practice.get(school.id, 0)})
    return {"season": season, "registration_closed": now >= season.registration_closes_at,
            "items": items}
