"""Reading seasons and working out where a season stands at a given moment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session, selectinload

from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.seasons.models import Season, SeasonPhase, SeasonStatus

REGISTRATION_PHASE = "registration"


def season_state(season: Season, now: dt.datetime) -> tuple[str, SeasonPhase | None]:
    """The season's state at `now` and the phase in progress (latest started wins)."""
    current = None
    for phase in season.phases:
        if phase.starts_at <= now < phase.ends_at and (
            current is None or phase.starts_at >= current.starts_at
        ):
            current = phase
    if season.status is SeasonStatus.ARCHIVED:
        return "archived", None
    if season.registration_opens_at <= now < season.registration_closes_at:
        return "registration_open", current
    starts = min([p.starts_at for p in season.phases] + [season.registration_opens_at])
    ends = max([p.ends_at for p in season.phases] + [season.registration_closes_at])
    if now < starts:
        return "upcoming", None
    if now >= ends:
        return "finished", None
    return "in_progress", current


def current_season(authority_id: int, now: dt.datetime | None = None) -> Season:
    """The published season families should see: the open or next one, else the latest."""
    now = now or utcnow()
    seasons = list(db.session.scalars(
        select(Season)
        .where(Season.authority_id == authority_id, Season.status == SeasonStatus.PUBLISHED)
        .options(selectinload(Season.phases))
        .order_by(Season.registration_opens_at)
    ))
    if not seasons:
        raise ApiError(404, "NO_CURRENT_SEASON", "当前没有进行中的招生季")
    for season in seasons:
        if season.registration_closes_at > now:
            return season
    return seasons[-1]


def list_public_seasons(authority_id: int) -> list[Season]:
    """Published and archived seasons of an authority, newest first."""
    return list(db.session.scalars(
        select(Season)
        .where(Season.authority_id == authority_id, Season.status != SeasonStatus.DRAFT)
        .options(selectinload(Season.phases))
        .order_by(Season.year.desc(), Season.id.desc())
    ))


def season_authority(session: Session | scoped_session[Session], season_id: object) -> int | None:
    """The authority a season id belongs to (None for no such season): for queued messages
    that name a season."""
    return session.scalar(select(Season.authority_id).where(Season.id == int(str(season_id))))
