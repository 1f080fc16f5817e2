"""Announcements jobs run by the worker: telling families about a new announcement."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.announcements import services
from backend.announcements.models import Announcement, AnnouncementStatus
from backend.announcements.services import FANOUT_JOB, effective_status
from backend.authorities.models import EducationAuthority
from backend.core.db import commit
from backend.core.jobs import authority_of, handler, periodic
from backend.core.timeutil import local_iso
from backend.notices import services as notices
from backend.registrations.models import INACTIVE_STATUSES, Registration
from backend.schools.models import School

logger = logging.getLogger(__name__)

TEMPLATE_KEY = "announcement"


def dedupe_key(announcement_id: int, user_id: int) -> str:
    """One notice per family per announcement, however often the job runs."""
    return f"announcement:{announcement_id}:{user_id}"


@handler(FANOUT_JOB)
def handle_announcement_fanout(session: Session, payload: dict[str, Any],
                               message_id: str) -> None:
    """One notice per family registered this season at the school (county: anywhere in it)."""
    announcement = session.get(Announcement, int(payload["announcement_id"]))
    season_id = int(payload["season_id"])
    if announcement is None or (
            effective_status(announcement) is not AnnouncementStatus.PUBLISHED):
        # Withdrawn before the job ran: nobody is told about what is no longer public.
        logger.info("announcement fan-out skipped announcement_id=%s",
                    payload.get("announcement_id"))
        return
    families = select(Registration.submitted_by_user_id).where(
        Registration.season_id == season_id, Registration.status.not_in(INACTIVE_STATUSES))
    if announcement.school_id is not None:
        families = families.where(Registration.school_id == announcement.school_id)
        sender: School | EducationAuthority | None = session.get(School, announcement.school_id)
    else:
        families = families.join(School, School.id == Registration.school_id).where(
            School.authority_id == announcement.authority_id)
        sender = session.get(EducationAuthority, announcement.authority_id)
    data = {"school": sender.name if sender else "", "title": announcement.title,
            "published_at": local_iso(announcement.publish_at) or ""}
    # One row per family; a redelivered job (or a second publication) skips the notices
    # already in the outbox by their dedupe key.
    recipients = list(session.scalars(families.distinct()))
    written = notices.add_notices_bulk(session, (
        {"user_id": user_id, "template_key": TEMPLATE_KEY, "data": data,
         "dedupe_key": dedupe_key(announcement.id, user_id)} for user_id in sorted(recipients)))
    logger.info("announcement fanned out announcement_id=%s notices=%s message_id=%s",
                announcement.id, written, message_id)


@periodic("announcements.publish_due", every_seconds=60)
def publish_due_announcements() -> int:
    """A scheduled announcement's time has come: mark it published and tell its families."""
    published = services.publish_due()
    commit()  # the fan-out job is queued after the commit
    return len(published)


@authority_of(FANOUT_JOB)
def fanout_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """Telling families about an announcement is about the announcement's authority."""
    return session.scalar(select(Announcement.authority_id).where(
        Announcement.id == int(payload["announcement_id"])))
