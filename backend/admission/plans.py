"""Seat plans (招生计划): classes × class size per school, set by the bureau."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from backend.accounts import scope
from backend.accounts.models import User
from backend.admission.models import Lottery, LotteryStatus, SeatCount
from backend.admission.offers import fill_from_waitlist
from backend.admission.seats import pending_lottery, seat_counter
from backend.audit.services import client_fingerprint, record_audit
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.schools.models import School, SeatPlan
from backend.seasons.services import refuse_archived

logger = logging.getLogger(__name__)


def set_seat_plan(user: User, season_id: int, school_id: int, *, classes: int,
                  class_size: int, client_address: str | None,
                  now: dt.datetime | None = None) -> tuple[SeatPlan, SeatCount]:
    """招生计划: set classes × class size; never below the seats already taken."""
    now = now or utcnow()
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    # The plan of an archived season is what was published and admitted against.
    refuse_archived(season)
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
    pending = pending_lottery(season.id, school.id)
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
    season = scope.season(user, season_id)
    schools = list(db.session.scalars(select(School).where(
        scope.covers_school(user, School.id)).order_by(School.code)))
    plans = {p.school_id: p for p in db.session.scalars(
        select(SeatPlan).where(SeatPlan.season_id == season.id))}
    taken = dict(db.session.execute(select(SeatCount.school_id, SeatCount.taken).where(
        SeatCount.season_id == season.id)).all())
    return [(s, plans.get(s.id), taken.get(s.id, 0)) for s in schools]



def pending_lottery_schools(season_id: int) -> set[int]:
    """Schools whose real lottery of the season is frozen and not drawn yet."""
    return set(db.session.scalars(select(Lottery.school_id).where(
        Lottery.season_id == season_id, Lottery.is_practice.is_(False),
        Lottery.status == LotteryStatus.FROZEN)))
