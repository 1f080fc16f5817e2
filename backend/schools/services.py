"""Reading the school catalogue and regions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.core.db import db
from backend.core.errors import ApiError
from backend.schools.models import Region, RegionLevel, School, SchoolZone, SeatPlan


def list_schools(authority_id: int, town_code: str | None = None) -> list[School]:
    """Active schools of an authority, optionally in one town, by code."""
    stmt = (
        select(School)
        .where(School.authority_id == authority_id, School.is_active.is_(True))
        .options(selectinload(School.town))
        .order_by(School.code)
    )
    if town_code:
        stmt = stmt.join(Region, School.town_id == Region.id).where(Region.code == town_code)
    return list(db.session.scalars(stmt))


def get_school(code: str) -> School:
    """One active school by its deployment-wide code (404 when unknown)."""
    school = db.session.scalar(
        select(School)
        .where(School.code == code, School.is_active.is_(True))
        .options(selectinload(School.zones).selectinload(SchoolZone.region),
                 selectinload(School.town))
    )
    if school is None:
        raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校，请确认二维码或学校代码")
    return school


def seat_plans(season_id: int, school_ids: list[int]) -> dict[int, SeatPlan]:
    """Seat plans of one season by school id."""
    if not school_ids:
        return {}
    plans = db.session.scalars(
        select(SeatPlan).where(SeatPlan.season_id == season_id,
                               SeatPlan.school_id.in_(school_ids))
    )
    return {plan.school_id: plan for plan in plans}


def zoned_schools(region_code: str) -> tuple[Region, list[School]]:
    """划片: the active schools whose zone contains a village/community."""
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    if region is None:
        raise ApiError(404, "REGION_NOT_FOUND", "未找到该村或社区，请从列表中选择")
    if region.level is RegionLevel.TOWN:
        raise ApiError(422, "REGION_NOT_SPECIFIC", "请选择到村或社区")
    schools = list(db.session.scalars(
        select(School).join(SchoolZone, SchoolZone.school_id == School.id)
        .where(SchoolZone.region_id == region.id, School.is_active.is_(True))
        .options(selectinload(School.town)).order_by(School.type, School.code)
    ))
    return region, schools


def list_regions(authority_id: int) -> list[Region]:
    """Towns of an authority with their villages/communities loaded."""
    return list(db.session.scalars(
        select(Region)
        .where(Region.authority_id == authority_id, Region.level == RegionLevel.TOWN)
        .options(selectinload(Region.children))
        .order_by(Region.code)
    ))
