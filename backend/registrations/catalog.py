"""What the intake checks against, cached per process for a few seconds.

Schools, zones and season windows change a few times a year; reading them from the
database on every submission at the opening minute would cost more than the rest of the
request. A short TTL keeps edits visible within seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from backend.core.db import db
from backend.core.errors import ApiError
from backend.schools.models import School, SchoolType, SchoolZone
from backend.seasons.services import current_season


@dataclass(frozen=True)
class SeasonFacts:
    """The window and age rule of a season."""

    id: int
    year: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    age_cutoff: dt.date
    timezone: str


@dataclass(frozen=True)
class SchoolFacts:
    """What the intake needs to know about a school."""

    id: int
    code: str
    name: str
    authority_id: int
    is_private: bool
    zone_region_ids: frozenset[int]
    bases: frozenset[str] | None  # None: every basis


_lock = threading.Lock()
_cache: dict[tuple[str, object], tuple[float, object]] = {}


def _ttl() -> float:
    return float(current_app.config.get("INTAKE_CATALOG_TTL_SECONDS", 10))


def _cached(key: tuple[str, object], load: object) -> object:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    try:
        value = load() if callable(load) else load
    except (OperationalError, InterfaceError):
        # The database is briefly away: an older copy beats turning families away.
        db.session.rollback()
        if hit is None:
            raise
        return hit[1]
    with _lock:
        _cache[key] = (now + _ttl(), value)
    return value


def clear() -> None:
    """Forget everything cached (tests, and after an import)."""
    with _lock:
        _cache.clear()


def school(code: str) -> SchoolFacts:
    """An active school by code (404 SCHOOL_NOT_FOUND)."""

    def load() -> SchoolFacts | None:
        found = db.session.scalar(select(School).where(School.code == code,
                                                       School.is_active.is_(True)))
        if found is None:
            return None
        zone = frozenset(db.session.scalars(
            select(SchoolZone.region_id).where(SchoolZone.school_id == found.id)))
        bases = frozenset(found.required_materials) if found.required_materials else None
        return SchoolFacts(id=found.id, code=found.code, name=found.name,
                           authority_id=found.authority_id,
                           is_private=found.type is SchoolType.PRIVATE,
                           zone_region_ids=zone, bases=bases)

    facts = _cached(("school", code), load)
    if facts is None:
        raise ApiError(404, "SCHOOL_NOT_FOUND", "未找到该学校，请确认二维码或学校代码")
    return facts  # type: ignore[return-value]


def season(authority_id: int) -> SeasonFacts:
    """The authority's current season (404 NO_CURRENT_SEASON)."""

    def load() -> SeasonFacts:
        found = current_season(authority_id)
        return SeasonFacts(id=found.id, year=found.year, opens_at=found.registration_opens_at,
                           closes_at=found.registration_closes_at,
                           age_cutoff=found.age_cutoff, timezone=found.authority.timezone)

    return _cached(("season", authority_id), load)  # type: ignore[return-value]
