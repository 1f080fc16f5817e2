"""Imports every model module so the metadata (and Alembic) sees all tables."""

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.authorities.models import EducationAuthority
from backend.core.db import Base
from backend.schools.models import Region, RegionLevel, School, SchoolType, SchoolZone, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus

__all__ = [
    "AuditEvent",
    "Base",
    "EducationAuthority",
    "Region",
    "RegionLevel",
    "Role",
    "School",
    "SchoolType",
    "SchoolZone",
    "Season",
    "SeasonPhase",
    "SeasonStatus",
    "SeatPlan",
    "User",
]
