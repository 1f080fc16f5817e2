"""Public catalogue API: schools and regions."""

from __future__ import annotations

from flask import Blueprint

from backend.authorities.services import resolve_authority
from backend.core import httpcache
from backend.core.api import api
from backend.core.errors import ApiError
from backend.schools import services
from backend.schools.models import Region, School, SeatPlan
from backend.schools.schemas import (
    RegionList,
    RegionRef,
    SchoolDetail,
    SchoolList,
    SchoolQuery,
    SchoolSummary,
    SeatPlanOut,
    TownOut,
    VillageOut,
    ZoneLookupOut,
    ZoneLookupQuery,
)
from backend.seasons.schemas import AuthorityQuery
from backend.seasons.services import current_season

bp = Blueprint("schools", __name__, url_prefix="/api/v1")


def _ref(region: Region | None) -> RegionRef | None:
    return RegionRef(code=region.code, name=region.name) if region else None


def _plans(authority_id: int, schools: list[School]) -> tuple[int | None, dict[int, SeatPlan]]:
    try:
        season = current_season(authority_id)
    except ApiError:
        return None, {}
    # After its window closes the next season may become the current one.
    httpcache.fresh_until(season.registration_closes_at)
    return season.year, services.seat_plans(season.id, [s.id for s in schools])


def _summary(school: School, year: int | None, plan: SeatPlan | None) -> dict[str, object]:
    return {
        "code": school.code, "name": school.name, "type": school.type.value,
        "authority": school.authority.code, "town": _ref(school.town),
        "address": school.address, "is_sample": school.is_sample,
        "plan": SeatPlanOut(season_year=year, classes=plan.classes, class_size=plan.class_size,
                            seats=plan.seats) if plan and year else None,
    }


@bp.get("/schools")
@httpcache.public_cache
@api(query=SchoolQuery, response=SchoolList, errors=(404,))
def list_schools(query: SchoolQuery) -> SchoolList:
    """Schools of an authority (optionally one town) with the current seat plan."""
    authority = resolve_authority(query.authority)
    schools = services.list_schools(authority.id, query.town)
    year, plans = _plans(authority.id, schools)
    return SchoolList(items=[SchoolSummary(**_summary(s, year, plans.get(s.id)))  # type: ignore[arg-type]
                             for s in schools])


@bp.get("/schools/<code>")
@httpcache.public_cache
@api(response=SchoolDetail, errors=(404,))
def get_school(code: str) -> SchoolDetail:
    """One school: zone, plan, contacts, materials and implementation plan."""
    school = services.get_school(code)
    year, plans = _plans(school.authority_id, [school])
    zone = sorted((z.region for z in school.zones), key=lambda r: r.code)
    return SchoolDetail(
        **_summary(school, year, plans.get(school.id)),  # type: ignore[arg-type]
        contacts=school.contacts, zone=[RegionRef(code=r.code, name=r.name) for r in zone],
        required_materials=school.required_materials,
        implementation_plan=school.implementation_plan,
    )


@bp.get("/zones/lookup")
@httpcache.public_cache
@api(query=ZoneLookupQuery, response=ZoneLookupOut, errors=(404,))
def lookup_zone(query: ZoneLookupQuery) -> ZoneLookupOut:
    """The zoned school(s) of a village/community, with their current seat plans."""
    region, schools = services.zoned_schools(query.region_code)
    year, plans = _plans(region.authority_id, schools)
    return ZoneLookupOut(
        region=RegionRef(code=region.code, name=region.name), town=_ref(region.parent),
        schools=[SchoolSummary(**_summary(s, year, plans.get(s.id)))  # type: ignore[arg-type]
                 for s in schools],
    )


@bp.get("/regions")
@httpcache.public_cache
@api(query=AuthorityQuery, response=RegionList, errors=(404,))
def list_regions(query: AuthorityQuery) -> RegionList:
    """Towns with their villages/communities, for the address picker."""
    authority = resolve_authority(query.authority)
    return RegionList(items=[
        TownOut(code=t.code, name=t.name, villages=[
            VillageOut(code=v.code, name=v.name, level=v.level.value)  # type: ignore[arg-type]
            for v in t.children
        ])
        for t in services.list_regions(authority.id)
    ])
