"""Seasons API: the public season and timeline, and the bureau's season set-up."""

from __future__ import annotations

from flask import Blueprint, request

from backend.authorities.services import resolve_authority
from backend.core import httpcache
from backend.core.api import api
from backend.core.auth import current_user, require_roles
from backend.core.db import utcnow
from backend.core.timeutil import local_iso
from backend.seasons import services
from backend.seasons.models import Season
from backend.seasons.must_read import must_read_sections
from backend.seasons.schemas import (
    STATUS_NAMES,
    AdminSeasonList,
    AdminSeasonOut,
    AuthorityQuery,
    CopySummary,
    MustReadSection,
    PhaseIn,
    PhaseOut,
    PhasesIn,
    SeasonCreatedOut,
    SeasonCreateIn,
    SeasonList,
    SeasonOut,
    SeasonPatchIn,
)

bp = Blueprint("seasons", __name__, url_prefix="/api/v1")


def season_out(season: Season) -> SeasonOut:
    """A season with times in the authority's zone."""
    tz = season.authority.timezone
    now = utcnow()
    state, phase = services.season_state(season, now)
    # The state and the current phase change at the next of these times.
    httpcache.fresh_until(min((t for t in (season.registration_opens_at,
                                           season.registration_closes_at,
                                           *(p.starts_at for p in season.phases),
                                           *(p.ends_at for p in season.phases)) if t > now),
                              default=None))
    return SeasonOut(
        id=season.id, authority=season.authority.code, year=season.year, stage=season.stage,
        name=season.name, age_cutoff=season.age_cutoff,
        phases=[PhaseOut(key=p.key, name=p.name, starts_at=local_iso(p.starts_at, tz) or "",
                         ends_at=local_iso(p.ends_at, tz) or "") for p in season.phases],
        registration_opens_at=local_iso(season.registration_opens_at, tz) or "",
        registration_closes_at=local_iso(season.registration_closes_at, tz) or "",
        state=state,  # type: ignore[arg-type]
        current_phase=phase.key if phase else None, is_sample=season.is_sample,
        must_read_notice=season.must_read_notice,
        must_read=[MustReadSection(title=title, text=text)
                   for title, text in must_read_sections(season)],
    )


@bp.get("/seasons/current")
@httpcache.public_cache
@api(query=AuthorityQuery, response=SeasonOut, errors=(404,))
def get_current_season(query: AuthorityQuery) -> SeasonOut:
    """The season families should see now, with its timeline and state."""
    authority = resolve_authority(query.authority)
    return season_out(services.current_season(authority.id))


@bp.get("/seasons")
@httpcache.public_cache
@api(query=AuthorityQuery, response=SeasonList, errors=(404,))
def list_seasons(query: AuthorityQuery) -> SeasonList:
    """Published and archived seasons, newest first."""
    authority = resolve_authority(query.authority)
    return SeasonList(items=[season_out(s) for s in services.list_public_seasons(authority.id)])


# --- the bureau's season set-up -------------------------------------------------------------

ADMIN_TAGS = ("admin-seasons",)


def admin_season_out(season: Season) -> AdminSeasonOut:
    """A season with its status, as the bureau sets it up."""
    tz = season.authority.timezone
    return AdminSeasonOut(
        **season_out(season).model_dump(), status=season.status.value,
        status_name=STATUS_NAMES[season.status.value],
        purge_personal_data_after=season.purge_personal_data_after,
        personal_data_purged_at=local_iso(season.personal_data_purged_at, tz),
        updated_at=local_iso(season.updated_at, tz) or "")


def _phase_specs(phases: list[PhaseIn]) -> list[services.PhaseSpec]:
    return [services.PhaseSpec(p.key, p.name, p.starts_at, p.ends_at) for p in phases]


@bp.get("/admin/seasons")
@require_roles("bureau_admin")
@api(response=AdminSeasonList, tags=ADMIN_TAGS)
def list_admin_seasons() -> AdminSeasonList:
    """Every season of the authority, drafts included, newest first."""
    return AdminSeasonList(items=[admin_season_out(s)
                                  for s in services.admin_seasons(current_user())])


@bp.post("/admin/seasons")
@require_roles("bureau_admin")
@api(body=SeasonCreateIn, response=SeasonCreatedOut, status=201, errors=(404, 409, 422),
     tags=ADMIN_TAGS)
def create_season(body: SeasonCreateIn) -> SeasonCreatedOut:
    """A new draft season; with copy_from_season_id, its seat plans, priority tiers, notice
    and shifted timeline are copied (schools and zones are the authority's, not copied)."""
    season, copied = services.create_season(current_user(), services.SeasonDraft(
        year=body.year, name=body.name, stage=body.stage,
        copy_from_season_id=body.copy_from_season_id, opens_at=body.registration_opens_at,
        closes_at=body.registration_closes_at, age_cutoff=body.age_cutoff,
        must_read_notice=body.must_read_notice,
        purge_personal_data_after=body.purge_personal_data_after,
        phases=_phase_specs(body.phases) if body.phases is not None else None),
        request.remote_addr)
    summary = CopySummary(
        from_season_id=copied.from_season_id, phases=copied.phases,
        seat_plans=copied.counts.get("seat_plans", 0),
        seat_plans_over_cap=copied.counts.get("seat_plans_over_cap", 0),
        priority_tiers=copied.counts.get("priority_tiers", 0)) if copied else None
    return SeasonCreatedOut(**admin_season_out(season).model_dump(), copied=summary)


@bp.get("/admin/seasons/<int:season_id>")
@require_roles("bureau_admin")
@api(response=AdminSeasonOut, errors=(404,), tags=ADMIN_TAGS)
def get_admin_season(season_id: int) -> AdminSeasonOut:
    """One season of the authority."""
    return admin_season_out(services.admin_season(current_user(), season_id))


@bp.patch("/admin/seasons/<int:season_id>")
@require_roles("bureau_admin")
@api(body=SeasonPatchIn, response=AdminSeasonOut, errors=(404, 409, 422), tags=ADMIN_TAGS)
def update_season(season_id: int, body: SeasonPatchIn) -> AdminSeasonOut:
    """Change the name, registration window, age rule, must-read notice or purge date."""
    return admin_season_out(services.update_season(
        current_user(), season_id, body.model_dump(exclude_unset=True), request.remote_addr))


@bp.put("/admin/seasons/<int:season_id>/phases")
@require_roles("bureau_admin")
@api(body=PhasesIn, response=AdminSeasonOut, errors=(404, 409, 422), tags=ADMIN_TAGS)
def replace_phases(season_id: int, body: PhasesIn) -> AdminSeasonOut:
    """Replace the timeline; the registration phase is the registration window."""
    return admin_season_out(services.replace_phases(
        current_user(), season_id, _phase_specs(body.phases), request.remote_addr))


@bp.post("/admin/seasons/<int:season_id>/publish")
@require_roles("bureau_admin")
@api(response=AdminSeasonOut, errors=(404, 409), tags=ADMIN_TAGS)
def publish_season(season_id: int) -> AdminSeasonOut:
    """Draft → published: families and the public see it."""
    return admin_season_out(services.publish_season(current_user(), season_id,
                                                    request.remote_addr))


@bp.post("/admin/seasons/<int:season_id>/archive")
@require_roles("bureau_admin")
@api(response=AdminSeasonOut, errors=(404, 409), tags=ADMIN_TAGS)
def archive_season(season_id: int) -> AdminSeasonOut:
    """Published → archived (history); refused while registration is open."""
    return admin_season_out(services.archive_season(current_user(), season_id,
                                                    request.remote_addr))
