"""Public seasons API."""

from __future__ import annotations

from flask import Blueprint

from backend.authorities.services import resolve_authority
from backend.core.api import api
from backend.core.db import utcnow
from backend.core.timeutil import local_iso
from backend.seasons import services
from backend.seasons.models import Season
from backend.seasons.schemas import AuthorityQuery, PhaseOut, SeasonList, SeasonOut

bp = Blueprint("seasons", __name__, url_prefix="/api/v1")


def season_out(season: Season) -> SeasonOut:
    """A season with times in the authority's zone."""
    tz = season.authority.timezone
    state, phase = services.season_state(season, utcnow())
    return SeasonOut(
        id=season.id, authority=season.authority.code, year=season.year, stage=season.stage,
        name=season.name, age_cutoff=season.age_cutoff,
        phases=[PhaseOut(key=p.key, name=p.name, starts_at=local_iso(p.starts_at, tz) or "",
                         ends_at=local_iso(p.ends_at, tz) or "") for p in season.phases],
        registration_opens_at=local_iso(season.registration_opens_at, tz) or "",
        registration_closes_at=local_iso(season.registration_closes_at, tz) or "",
        state=state,  # type: ignore[arg-type]
        current_phase=phase.key if phase else None, is_sample=season.is_sample,
    )


@bp.get("/seasons/current")
@api(query=AuthorityQuery, response=SeasonOut, errors=(404,))
def get_current_season(query: AuthorityQuery) -> SeasonOut:
    """The season families should see now, with its timeline and state."""
    authority = resolve_authority(query.authority)
    return season_out(services.current_season(authority.id))


@bp.get("/seasons")
@api(query=AuthorityQuery, response=SeasonList, errors=(404,))
def list_seasons(query: AuthorityQuery) -> SeasonList:
    """Published and archived seasons, newest first."""
    authority = resolve_authority(query.authority)
    return SeasonList(items=[season_out(s) for s in services.list_public_seasons(authority.id)])
