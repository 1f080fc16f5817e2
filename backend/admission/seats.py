"""The seat counter: every offer that holds a seat takes it here, never past the plan (超计划)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.admission.models import Lottery, LotteryStatus, SeatCount
from backend.core.db import db
from backend.core.errors import ApiError
from backend.schools.models import SeatPlan


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


def pending_lottery(season_id: int, school_id: int) -> Lottery | None:
    """The school's real lottery that is frozen and not yet drawn, if any."""
    return db.session.scalar(select(Lottery).where(
        Lottery.season_id == season_id, Lottery.school_id == school_id,
        Lottery.is_practice.is_(False), Lottery.status == LotteryStatus.FROZEN))

