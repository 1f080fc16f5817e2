"""Admission rules: seat plans, priority tiers, lotteries, offers and waitlists.

Admission keeps its own state (lotteries, entries, offers) instead of adding registration
statuses: a registration stays `approved`, and where the child stands is its offers. Every
offer that holds a seat goes through `take_seats()`, one conditional UPDATE of the school's
seat counter in the same transaction, with a CHECK behind it (超计划: BRIEF §2 rule 6).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from backend.accounts.models import Role, User
from backend.admission import lottery as algo
from backend.admission.models import (
    LIVE_OFFER_STATUSES,
    EntryOutcome,
    Lottery,
    LotteryEntry,
    LotteryStatus,
    Offer,
    OfferSource,
    OfferStatus,
    PriorityTier,
    SeatCount,
)
from backend.audit.services import client_fingerprint, record_audit
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.identity.models import Child
from backend.notices.services import add_notices_bulk
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import School, SchoolZone, SeatPlan
from backend.seasons.models import Season

logger = logging.getLogger(__name__)

PSEUDONYM_PURPOSE = "admission.pseudonym"
# Registrations still in review: a real lottery waits until none is left (审核结束后冻结).
PENDING_REVIEW = (RegistrationStatus.SUBMITTED, RegistrationStatus.UNDER_REVIEW,
                  RegistrationStatus.RETURNED, RegistrationStatus.BUREAU_REVIEW)
MAX_RESPONSE_DAYS = 30

# BRIEF §2 rule 7 and the county plan: 优抚对象 get their educational preference (served
# first), disabled children are placed near home in an ordinary class (随班就读, 就近安排);
# then household registration and residence in the zone, household registration alone,
# residence-permit holders living in the zone (随迁子女, 以公办学校接收为主), everyone else.
DEFAULT_TIERS: tuple[dict[str, Any], ...] = (
    {"key": "preferential", "label": "优抚对象子女及随班就读残疾儿童",
     "rule": {"categories_any": ["martyr_child", "military_child", "police_hero_child",
                                 "other_entitled", "disability"]}},
    {"key": "hukou_and_residence", "label": "户籍和实际居住地均在片区内",
     "rule": {"hukou_in_zone": True, "residence_in_zone": True}},
    {"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}},
    {"key": "residence_permit", "label": "持居住证在片区内居住（随迁子女）",
     "rule": {"residence_permit": True, "residence_in_zone": True}},
    {"key": "others", "label": "其他", "rule": {}},
)
RULE_KEYS = ("hukou_in_zone", "residence_in_zone", "residence_permit", "out_of_zone",
             "categories_any")


# --- scope ----------------------------------------------------------------------------------


def school_in_scope(user: User, school_id: int) -> School:
    """A school of the caller's authority (school staff: their own); 404 otherwise."""
    school = db.session.get(School, school_id)
    if (school is None or school.authority_id != user.authority_id
            or (user.role is Role.SCHOOL_STAFF and school.id != user.school_id)):
        raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校")
    return school


def season_in_scope(user: User, season_id: int) -> Season:
    season = db.session.get(Season, season_id)
    if season is None or season.authority_id != user.authority_id:
        raise ApiError(404, "SEASON_NOT_FOUND", "未找到该招生季")
    return season


def _zone_name(school: School) -> str:
    return school.authority.timezone or "Asia/Shanghai"


def pseudonym(season_id: int, child_id: int) -> str:
    """The child's pseudonymous applicant id in a season: stable, keyed, not reversible.

    The HMAC uses the never-rotating blind-index key, so the id (and with it the lottery
    number) is the same however often the family withdraws and applies again.
    """
    digest = pii.blind_index(f"{season_id}:{child_id}", PSEUDONYM_PURPOSE)[:16].upper()
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))


# --- seat plans and the seat counter -------------------------------------------------------


def _insert_ignoring_conflict(session: Session, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(SeatCount).values(**values).on_conflict_do_nothing(
            index_elements=["season_id", "school_id"])
    else:
        stmt = sqlite.insert(SeatCount).values(**values).on_conflict_do_nothing(
            index_elements=["season_id", "school_id"])
    session.execute(stmt)


def seat_counter(session: Session, season_id: int, school_id: int, *, lock: bool = False,
                 create: bool = True) -> SeatCount:
    """The school's seat counter (made from its seat plan on first use); 409 without a plan.

    `lock` takes the row lock: seat plan changes and waitlist moves of one school queue up.
    """
    stmt = select(SeatCount).where(SeatCount.season_id == season_id,
                                   SeatCount.school_id == school_id)
    if lock:
        stmt = stmt.with_for_update()
    counter = session.scalar(stmt.execution_options(populate_existing=True))
    if counter is None and create:
        plan = session.scalar(select(SeatPlan).where(SeatPlan.season_id == season_id,
                                                        SeatPlan.school_id == school_id))
        if plan is not None:
            _insert_ignoring_conflict(session, {"season_id": season_id,
                                                     "school_id": school_id,
                                                     "seats": plan.seats, "taken": 0})
            counter = session.scalar(stmt.execution_options(populate_existing=True))
    if counter is None:
        raise ApiError(409, "NO_SEAT_PLAN", "该校本招生季尚未设置招生计划")
    return counter


def take_seats(session: Session, season_id: int, school_id: int, count: int = 1) -> None:
    """Take `count` seats of the school's plan, or 409 SCHOOL_FULL (never past the plan).

    One conditional UPDATE: on PostgreSQL concurrent takers queue on the row lock and each
    re-reads `taken` after the one before it commits; the CHECK (taken <= seats) is the
    backstop for any code path that would forget the condition.
    """
    if count <= 0:
        return
    seat_counter(session, season_id, school_id)  # created from the plan if needed
    result = cast(CursorResult[Any], session.execute(
        update(SeatCount)
        .where(SeatCount.season_id == season_id, SeatCount.school_id == school_id,
               SeatCount.taken + count <= SeatCount.seats)
        .values(taken=SeatCount.taken + count)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise ApiError(409, "SCHOOL_FULL", "该校招生计划已满，不能再录取")


def release_seat(session: Session, season_id: int, school_id: int) -> None:
    """Give one seat back (an offer was declined, expired or withdrawn)."""
    session.execute(
        update(SeatCount)
        .where(SeatCount.season_id == season_id, SeatCount.school_id == school_id)
        .values(taken=SeatCount.taken - 1)
        .execution_options(synchronize_session=False))


def _pending_lottery(season_id: int, school_id: int) -> Lottery | None:
    """The school's real lottery that is frozen and not yet drawn, if any."""
    return db.session.scalar(select(Lottery).where(
        Lottery.season_id == season_id, Lottery.school_id == school_id,
        Lottery.is_practice.is_(False), Lottery.status == LotteryStatus.FROZEN))


def set_seat_plan(user: User, season_id: int, school_id: int, *, classes: int,
                  class_size: int, client_address: str | None,
                  now: dt.datetime | None = None) -> tuple[SeatPlan, SeatCount]:
    """招生计划: set classes × class size; never below the seats already taken."""
    now = now or utcnow()
    season = season_in_scope(user, season_id)
    school = school_in_scope(user, school_id)
    cap = int(current_app.config["ADMISSION_CLASS_SIZE_CAP"])
    if class_size > cap:
        # 超班额: the configured cap (45 for grade one by default).
        raise ApiError(422, "CLASS_SIZE_OVER_CAP", f"班额不能超过{cap}人",
                       details={"cap": cap})
    seats = classes * class_size
    plan = db.session.scalar(select(SeatPlan).where(SeatPlan.season_id == season.id,
                                                    SeatPlan.school_id == school.id)
                             .with_for_update())
    before = plan.seats if plan else None
    if plan is None:
        plan = SeatPlan(season_id=season.id, school_id=school.id, classes=classes,
                        class_size=class_size)
        db.session.add(plan)
        db.session.flush()
    counter = seat_counter(db.session(), season.id, school.id, lock=True)
    pending = _pending_lottery(season.id, school.id)
    committed = pending.seats if pending else 0
    if seats < counter.taken + committed:
        raise ApiError(409, "PLAN_BELOW_TAKEN", "招生计划不能少于已录取和待派位的学位数",
                       details={"taken": counter.taken, "committed_to_lottery": committed})
    plan.classes, plan.class_size = classes, class_size
    counter.seats = seats
    db.session.flush()
    record_audit(db.session, action="admission.seat_plan", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="school", object_id=school.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"season_id": season.id, "classes": classes,
                          "class_size": class_size, "seats": seats, "before": before})
    logger.info("seat plan set actor_user_id=%s school_id=%s season_id=%s seats=%s",
                user.id, school.id, season.id, seats)
    if before is not None and seats > before:
        fill_from_waitlist(db.session(), season.id, school.id, now=now)
        db.session.refresh(counter)
    return plan, counter


def seat_plans(user: User, season_id: int) -> list[tuple[School, SeatPlan | None, int]]:
    """Each school of the authority with its plan and the seats taken."""
    season = season_in_scope(user, season_id)
    schools = list(db.session.scalars(select(School).where(
        School.authority_id == season.authority_id).order_by(School.code)))
    if user.role is Role.SCHOOL_STAFF:
        schools = [s for s in schools if s.id == user.school_id]
    plans = {p.school_id: p for p in db.session.scalars(
        select(SeatPlan).where(SeatPlan.season_id == season.id))}
    taken = dict(db.session.execute(select(SeatCount.school_id, SeatCount.taken).where(
        SeatCount.season_id == season.id)).all())
    return [(s, plans.get(s.id), taken.get(s.id, 0)) for s in schools]


# --- priority tiers ---------------------------------------------------------------------------


def tiers_for(season_id: int, school_id: int) -> list[dict[str, Any]]:
    """The school's ordered tier rules for the season (the default list when none is set)."""
    rows = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == season_id, PriorityTier.school_id == school_id)
        .order_by(PriorityTier.rank)))
    if not rows:
        return [{"rank": n, **t} for n, t in enumerate(DEFAULT_TIERS, start=1)]
    return [{"rank": r.rank, "key": r.key, "label": r.label, "rule": dict(r.rule)}
            for r in rows]


def tiers_configured(season_id: int, school_id: int) -> bool:
    """Whether the bureau set the school's tiers (else the defaults apply)."""
    return db.session.scalar(select(func.count()).select_from(PriorityTier).where(
        PriorityTier.season_id == season_id, PriorityTier.school_id == school_id)) != 0


def _real_lottery(season_id: int, school_id: int) -> Lottery | None:
    return db.session.scalar(select(Lottery).where(
        Lottery.season_id == season_id, Lottery.school_id == school_id,
        Lottery.is_practice.is_(False), Lottery.status != LotteryStatus.CANCELLED))


def set_tiers(user: User, season_id: int, school_id: int, tiers: Sequence[dict[str, Any]],
              client_address: str | None) -> list[dict[str, Any]]:
    """Replace the school's ordered tier rules; fixed once its real lottery is frozen."""
    season = season_in_scope(user, season_id)
    school = school_in_scope(user, school_id)
    if _real_lottery(season.id, school.id) is not None:
        raise ApiError(409, "TIERS_FROZEN", "该校已冻结派位名单，优先顺序不能再修改")
    if not tiers or tiers[-1]["rule"]:
        # Everyone must land in some tier: an unmatched applicant would silently vanish.
        raise ApiError(422, "LAST_TIER_MUST_MATCH_ALL", "最后一档须为“其他”（不设条件）")
    keys = [t["key"] for t in tiers]
    if len(set(keys)) != len(keys):
        raise ApiError(422, "DUPLICATE_TIER_KEY", "优先档次的标识不能重复")
    old = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == season.id, PriorityTier.school_id == school.id)))
    before = [{"key": t.key, "rule": t.rule} for t in sorted(old, key=lambda t: t.rank)]
    for row in old:
        db.session.delete(row)
    db.session.flush()
    for rank, tier in enumerate(tiers, start=1):
        db.session.add(PriorityTier(season_id=season.id, school_id=school.id, rank=rank,
                                    key=tier["key"], label=tier["label"],
                                    rule=dict(tier["rule"])))
    db.session.flush()
    record_audit(db.session, action="admission.tiers", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="school", object_id=school.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"season_id": season.id, "before": before,
                          "after": [{"key": t["key"], "rule": t["rule"]} for t in tiers]})
    return tiers_for(season.id, school.id)


def applicant_facts(registration: Registration, child: Child,
                    zone_region_ids: set[int]) -> dict[str, Any]:
    """What the tier rules look at, for one approved registration."""
    residence = child.residence_region_id or child.hukou_region_id
    return {
        "hukou_in_zone": child.hukou_region_id in zone_region_ids,
        # No separate residence given: the child lives at the household address.
        "residence_in_zone": residence in zone_region_ids,
        "residence_permit": bool(child.residence_permit),
        "out_of_zone": registration.out_of_zone,
        "categories": set(child.categories or []),
    }


def matches(rule: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether an applicant's facts satisfy every condition of a rule ({} matches all)."""
    for key, wanted in rule.items():
        if key == "categories_any":
            if facts["categories"].isdisjoint(wanted):
                return False
        elif facts.get(key) != wanted:
            return False
    return True


def tier_of(tiers: Sequence[dict[str, Any]], facts: dict[str, Any]) -> int:
    """The rank of the first tier whose rule the applicant satisfies."""
    for tier in tiers:
        if matches(tier["rule"], facts):
            return int(tier["rank"])
    return int(tiers[-1]["rank"]) + 1  # unreachable: the last rule matches everyone


# --- lotteries ---------------------------------------------------------------------------


def _live_children(season_id: int) -> set[int]:
    return set(db.session.scalars(select(Offer.child_id).where(
        Offer.season_id == season_id, Offer.status.in_(LIVE_OFFER_STATUSES))))


def _applicants(season: Season, school: School,
                tiers: Sequence[dict[str, Any]]) -> list[tuple[Registration, str, int]]:
    """Approved registrations of the school not placed elsewhere: (registration, id, tier)."""
    zone_ids = set(db.session.scalars(select(SchoolZone.region_id).where(
        SchoolZone.school_id == school.id)))
    placed = _live_children(season.id)
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
    season = season_in_scope(user, season_id)
    school = school_in_scope(user, school_id)
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
        if _real_lottery(season.id, school.id) is not None:
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
        respond_by=(_respond_by(respond_by, now, _zone_name(school))
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


def lottery_in_scope(user: User, lottery_id: int, *, lock: bool = False) -> Lottery:
    """A lottery of the caller's authority (practice ones included); 404 otherwise."""
    lottery = db.session.get(Lottery, lottery_id, with_for_update=lock,
                             populate_existing=lock)
    if lottery is None:
        raise ApiError(404, "LOTTERY_NOT_FOUND", "未找到该派位")
    try:
        school_in_scope(user, lottery.school_id)
    except ApiError:
        raise ApiError(404, "LOTTERY_NOT_FOUND", "未找到该派位") from None
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
    """The authority's lotteries of a season, practice runs included (marked)."""
    season = season_in_scope(user, season_id)
    stmt = (select(Lottery).join(School, Lottery.school_id == School.id)
            .where(Lottery.season_id == season.id,
                   School.authority_id == season.authority_id)
            .options(joinedload(Lottery.school)).order_by(Lottery.id))
    if user.role is Role.SCHOOL_STAFF:
        stmt = stmt.where(Lottery.school_id == user.school_id)
    if school_id is not None:
        stmt = stmt.where(Lottery.school_id == school_in_scope(user, school_id).id)
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


# --- offers -----------------------------------------------------------------------------------


def _respond_by(given: dt.datetime | None, now: dt.datetime, zone_name: str) -> dt.datetime:
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


def _deadline_text(deadline: dt.datetime | None, zone_name: str) -> str:
    if deadline is None:
        return ""
    local = deadline.astimezone(zone(zone_name))
    return f"请于{local.month}月{local.day}日{local:%H:%M}前确认"


def _notice_row(user_id: int, school: School, child_name: str, result: str, note: str,
                dedupe_key: str, registration_id: int) -> dict[str, Any]:
    # admission_result: {school, child (masked), result, note}; result is a WeChat `phrase`
    # (≤ 5 characters), note a `thing` (≤ 20).
    return {"user_id": user_id, "template_key": "admission_result",
            "data": {"school": school.name, "child": pii.mask_name(child_name),
                     "result": result, "note": note},
            "dedupe_key": dedupe_key,
            "page": f"pages/admission/index?registration_id={registration_id}"}


def _offer_admitted(lottery: Lottery, user: User, now: dt.datetime) -> None:
    """Offers for the admitted of a real lottery, and every applicant's result notice."""
    if lottery.is_practice:  # never: a practice run offers nothing and tells nobody
        raise RuntimeError("practice lotteries never make offers")
    entries = ordered_entries(lottery)
    admitted = [e for e in entries if e.outcome is EntryOutcome.ADMITTED]
    zone_name = _zone_name(lottery.school)
    if lottery.respond_by is None or lottery.respond_by <= now:
        lottery.respond_by = _respond_by(None, now, zone_name)
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
            result, note = "拟录取", _deadline_text(lottery.respond_by, zone_name)
        else:
            result, note = "候补", f"候补第{(entry.position or 0) - lottery.seats}位"
        rows.append(_notice_row(registration.submitted_by_user_id, lottery.school,
                                registration.child.name, result, note,
                                f"admission.lottery:{lottery.id}:{entry.id}",
                                registration.id))
    add_notices_bulk(db.session(), rows)


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
                     details={"reason": note})
    logger.info("offer withdrawn offer_id=%s actor_user_id=%s", offer.id, user.id)
    fill_from_waitlist(db.session(), offer.season_id, offer.school_id, now=now)
    return offer


def _staff_offer(user: User, offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or user.role is not Role.BUREAU_ADMIN:
        raise ApiError(404, "OFFER_NOT_FOUND", "未找到该录取记录")
    try:
        school_in_scope(user, offer.school_id)
    except ApiError:
        raise ApiError(404, "OFFER_NOT_FOUND", "未找到该录取记录") from None
    return offer


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
    season = season_in_scope(user, season_id)
    if school_id is not None:
        school_in_scope(user, school_id)
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
    zone_name = _zone_name(lottery.school)
    deadline = _respond_by(None, now, zone_name)
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
        notices.append(_notice_row(registration.submitted_by_user_id, lottery.school,
                                   registration.child.name, "候补录取",
                                   _deadline_text(deadline, zone_name),
                                   f"admission.waitlist:{offer.id}", registration.id))
        logger.info("waitlist offer made offer_id=%s entry_id=%s school_id=%s", offer.id,
                    entry.id, school_id)
    if notices:
        add_notices_bulk(session, notices)
    return made


def place_child(user: User, registration_id: int, school_id: int, *, reason: str,
                respond_by: dt.datetime | None, client_address: str | None,
                now: dt.datetime | None = None) -> Offer:
    """统筹: the bureau places an approved child not placed at a school with free seats."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id,
                                  options=[joinedload(Registration.child)])
    if registration is None or registration.school.authority_id != user.authority_id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    school = school_in_scope(user, school_id)
    if registration.status is not RegistrationStatus.APPROVED:
        raise ApiError(409, "REGISTRATION_NOT_APPROVED", "只能统筹安排审核通过的儿童",
                       details={"status": registration.status.value})
    if registration.child_id in _live_children(registration.season_id):
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
    if _pending_lottery(registration.season_id, school.id) is not None:
        # The school's free seats are committed to its coming draw.
        raise ApiError(409, "LOTTERY_PENDING", "该校派位尚未开奖，暂不能统筹安排")
    take_seats(db.session(), registration.season_id, school.id)
    reason = pii.mask_free_text(reason.strip())
    offer = Offer(season_id=registration.season_id, school_id=school.id,
                  child_id=registration.child_id, registration_id=registration.id,
                  source=OfferSource.BUREAU_PLACEMENT, status=OfferStatus.OFFERED,
                  respond_by=_respond_by(respond_by, now, _zone_name(school)),
                  placement_reason=reason, created_by_user_id=user.id)
    db.session.add(offer)
    db.session.flush()
    add_notices_bulk(db.session(), [_notice_row(
        registration.submitted_by_user_id, school, registration.child.name, "统筹安排",
        _deadline_text(offer.respond_by, _zone_name(school)),
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
                status: str | None = None) -> list[Offer]:
    """Offers of a season in the caller's scope (school staff: their school)."""
    season = season_in_scope(user, season_id)
    stmt = (select(Offer).join(School, Offer.school_id == School.id)
            .where(Offer.season_id == season.id, School.authority_id == season.authority_id)
            .options(joinedload(Offer.child), joinedload(Offer.school))
            .order_by(Offer.school_id, Offer.id))
    if user.role is Role.SCHOOL_STAFF:
        stmt = stmt.where(Offer.school_id == user.school_id)
    if school_id is not None:
        stmt = stmt.where(Offer.school_id == school_in_scope(user, school_id).id)
    if status:
        stmt = stmt.where(Offer.status == OfferStatus(status))
    return list(db.session.scalars(stmt))


def unplaced(user: User, season_id: int) -> list[tuple[Registration, bool]]:
    """Approved registrations whose child holds no live offer: (registration, in a draw)."""
    season = season_in_scope(user, season_id)
    live = select(Offer.child_id).where(Offer.season_id == season.id,
                                        Offer.status.in_(LIVE_OFFER_STATUSES))
    pending = set(db.session.scalars(
        select(LotteryEntry.child_id).join(Lottery, LotteryEntry.lottery_id == Lottery.id)
        .where(Lottery.season_id == season.id, Lottery.is_practice.is_(False),
               Lottery.status == LotteryStatus.FROZEN)))
    rows = db.session.scalars(
        select(Registration).join(School, Registration.school_id == School.id)
        .where(Registration.season_id == season.id,
               School.authority_id == season.authority_id,
               Registration.status == RegistrationStatus.APPROVED,
               Registration.child_id.not_in(live))
        .options(joinedload(Registration.child), joinedload(Registration.school))
        .order_by(Registration.id))
    return [(r, r.child_id in pending) for r in rows]


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


# --- the family's view ----------------------------------------------------------------------


def family_offers(user: User) -> list[Offer]:
    """Offers of the caller's children, newest first."""
    return list(db.session.scalars(
        select(Offer).join(Child, Offer.child_id == Child.id)
        .where(Child.guardian.has(user_id=user.id))
        .options(joinedload(Offer.school), joinedload(Offer.child))
        .order_by(Offer.id.desc())))


def family_admission(user: User, registration_id: int) -> dict[str, Any]:
    """The family's pseudonymous id, its place in each published lottery, and its offers."""
    registration = db.session.get(Registration, registration_id,
                                  options=[joinedload(Registration.child)])
    if registration is None or registration.child.guardian.user_id != user.id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    entries = list(db.session.execute(
        select(LotteryEntry, Lottery).join(Lottery, LotteryEntry.lottery_id == Lottery.id)
        .where(LotteryEntry.child_id == registration.child_id,
               Lottery.season_id == registration.season_id,
               Lottery.is_practice.is_(False), Lottery.published_at.is_not(None))
        .options(selectinload(Lottery.school))
        .order_by(Lottery.id)).all())
    offers = list(db.session.scalars(
        select(Offer).where(Offer.child_id == registration.child_id,
                            Offer.season_id == registration.season_id)
        .options(joinedload(Offer.school)).order_by(Offer.id)))
    return {"registration": registration,
            "pseudonym": pseudonym(registration.season_id, registration.child_id),
            "entries": entries, "offers": offers}
