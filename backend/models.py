"""Imports every model module so the metadata (and Alembic) sees all tables."""

import backend.admission.models
import backend.announcements.models
import backend.classes.models
import backend.complaints.models
import backend.onsite.models
import backend.proxy.models
import backend.reviews.models
import backend.stats.models
import backend.verification.models  # noqa: F401
from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.authorities.models import EducationAuthority
from backend.core.db import Base
from backend.identity.models import (
    Child,
    DocumentType,
    FaceVerification,
    Guardian,
    IdentityDispute,
    Relation,
    Sex,
    VerificationLevel,
)
from backend.notices.models import Notice, NoticeStatus
from backend.privacy.models import DeletionLog
from backend.registrations.models import Registration, RegistrationEvent, RegistrationStatus
from backend.schools.models import Region, RegionLevel, School, SchoolType, SchoolZone, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus
from backend.uploads.models import Upload, UploadKind

__all__ = [
    "AuditEvent",
    "Base",
    "Child",
    "DeletionLog",
    "DocumentType",
    "EducationAuthority",
    "FaceVerification",
    "Guardian",
    "IdentityDispute",
    "Notice",
    "NoticeStatus",
    "Region",
    "RegionLevel",
    "Registration",
    "RegistrationEvent",
    "RegistrationStatus",
    "Relation",
    "Role",
    "School",
    "SchoolType",
    "SchoolZone",
    "Season",
    "SeasonPhase",
    "SeasonStatus",
    "SeatPlan",
    "Sex",
    "Upload",
    "UploadKind",
    "User",
    "VerificationLevel",
]
