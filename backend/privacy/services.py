"""Purging a closed season's personal data: documents, ID numbers and phones go; counts stay."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from backend.audit.services import record_audit
from backend.core.db import db, utcnow
from backend.identity.models import Child, Guardian
from backend.identity.services import today
from backend.privacy.models import DeletionLog
from backend.registrations.models import Registration, registration_uploads
from backend.schools.models import School
from backend.seasons.models import Season
from backend.seasons.services import season_state
from backend.uploads.models import Upload
from backend.uploads.services import purge_upload
from backend.verification.models import DataCheck
from backend.verification.services import forget_addresses

logger = logging.getLogger(__name__)


class PurgeRefused(Exception):
    """The season may not be purged (yet)."""


@dataclass
class PurgeReport:
    """What a purge removed (or would remove, on a dry run) and the statistics it kept."""

    season_id: int
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    statistics: dict[str, Any] = field(default_factory=dict)


def _statistics(season: Season) -> dict[str, Any]:
    """Anonymous counts kept after the purge: per school and status, per basis."""
    rows = db.session.execute(
        select(School.code, Registration.status, Registration.basis, func.count())
        .join(School, Registration.school_id == School.id)
        .where(Registration.season_id == season.id)
        .group_by(School.code, Registration.status, Registration.basis)
    ).all()
    by_school: dict[str, Counter[str]] = {}
    by_basis: Counter[str] = Counter()
    for code, status, basis, count in rows:
        by_school.setdefault(code, Counter())[status.value] += count
        by_basis[basis.value] += count
    return {"registrations_by_school": {k: dict(v) for k, v in sorted(by_school.items())},
            "registrations_by_basis": dict(by_basis),
            "registrations": sum(by_basis.values())}


def _still_needed_children(season: Season) -> set[int]:
    # Children who also applied in a season that is not purged keep their data for it.
    return set(db.session.scalars(
        select(Registration.child_id).join(Season, Registration.season_id == Season.id)
        .where(Season.id != season.id, Season.personal_data_purged_at.is_(None))
    ))


def purge_season(season_id: int, *, performed_by: str, dry_run: bool = False,
                 now: dt.datetime | None = None) -> PurgeReport:
    """Delete a closed season's documents, ID numbers and phones; keep anonymous counts."""
    season = db.session.get(Season, season_id)
    if season is None:
        raise PurgeRefused(f"season {season_id} does not exist")
    now = now or utcnow()
    state, _phase = season_state(season, now)
    if state not in ("finished", "archived"):
        raise PurgeRefused("the season is not closed yet")
    if season.purge_personal_data_after is None or today() < season.purge_personal_data_after:
        raise PurgeRefused("the configured purge date has not been reached")

    report = PurgeReport(season_id=season.id, dry_run=dry_run, statistics=_statistics(season))
    keep = _still_needed_children(season)
    in_season = select(Registration.id).where(Registration.season_id == season.id)
    children = list(db.session.scalars(select(Child).where(Child.id.in_(
        select(Registration.child_id).where(Registration.season_id == season.id)))))
    purge_children = [c for c in children if c.id not in keep]
    uploads = list(db.session.scalars(select(Upload).where(
        Upload.purged_at.is_(None),
        Upload.id.in_(select(registration_uploads.c.upload_id).where(
            registration_uploads.c.registration_id.in_(in_season))))))
    guardians = {c.guardian for c in purge_children}
    # Documents these families uploaded for this season but never submitted, or replaced by
    # an edit: not linked to any registration, and older than the season's close.
    owners = {g.user_id for g in guardians}
    if owners:
        uploads += list(db.session.scalars(select(Upload).where(
            Upload.owner_user_id.in_(owners), Upload.purged_at.is_(None),
            Upload.created_at <= season.registration_closes_at,
            Upload.id.not_in(select(registration_uploads.c.upload_id)))))
    # A guardian keeps their binding while another child of theirs still needs it.
    purge_guardians = [g for g in guardians
                       if all(c in purge_children or c.id_number_enc is None
                              for c in g.children)]
    report.counts = {
        "uploads": len(uploads),
        "child_id_numbers": sum(1 for c in purge_children if c.id_number_enc),
        "guardian_id_numbers": sum(1 for g in purge_guardians if g.id_number_enc),
        "guardian_phones": sum(1 for g in purge_guardians if g.phone_enc),
        "data_check_addresses": db.session.scalar(
            select(func.count()).select_from(DataCheck).where(
                DataCheck.child_id.in_([c.id for c in purge_children]),
                DataCheck.address.is_not(None))) or 0,
    }
    if dry_run:
        return report

    for upload in uploads:
        purge_upload(upload)
    for child in purge_children:
        child.id_number_enc = None
        child.id_number_index = None
        if child.residence_permit:
            child.residence_permit = {**child.residence_permit, "number_enc": None}
        if child.disability:
            child.disability = {**child.disability, "certificate_number_enc": None}
    for guardian in purge_guardians:
        _forget_guardian(guardian)
    forget_addresses([c.id for c in purge_children])
    season.personal_data_purged_at = now
    db.session.add(DeletionLog(season_id=season.id, performed_at=now,
                               performed_by=performed_by, counts=report.counts,
                               statistics=report.statistics))
    record_audit(db.session, action="season.personal_data_purged", object_type="season",
                 object_id=season.id, details={"performed_by": performed_by, **report.counts})
    logger.info("season purged season_id=%s counts=%s", season.id, report.counts)
    return report


def _forget_guardian(guardian: Guardian) -> None:
    guardian.id_number_enc = None
    guardian.id_number_index = None
    guardian.phone_enc = None
    guardian.phone_index = None
