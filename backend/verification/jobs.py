"""Worker side of the data checks: ask the sources, and ask again when one was down."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.db import db
from backend.core.jobs import Effects, authority_of, batch_handler, enqueue, periodic
from backend.identity.models import Child
from backend.schools.models import Region
from backend.verification import events, services

logger = logging.getLogger(__name__)

RETRY_EVERY_SECONDS = 60


@batch_handler(services.CHECK_JOB)
def handle_verification_check(session: Session, items: list[tuple[str, dict[str, Any]]],
                              effects: Effects) -> None:
    """Ask the sources about each queued child; after the commit, announce the new results
    (registrations refreshes the intake's cached facts)."""
    changed: list[int] = []
    down: dict[Any, Any] = {}  # sources found unavailable in this batch: not asked again
    for _message_id, payload in items:
        actor = payload.get("actor_user_id")
        if services.run_checks(session, int(payload["child_id"]), list(payload["facts"]),
                               actor_user_id=int(actor) if actor is not None else None,
                               actor_role=str(payload.get("actor_role") or "system"),
                               down=down):
            changed.append(int(payload["child_id"]))
    def announce() -> None:
        events.checks_changed.send(None, child_ids=changed)

    if changed:
        effects.append(announce)


@periodic("verification.retry", every_seconds=RETRY_EVERY_SECONDS)
def retry_due_checks() -> int:
    """Queue again the checks whose source was unavailable (or whose message was lost),
    once their time has come; the worker asks them as the system, not the family."""
    due = services.claim_due_checks()
    db.session.commit()
    for item in due:
        enqueue(services.CHECK_JOB, services.check_job(item.child_id, item.facts,
                                                       actor_user_id=None, actor_role="system"))
    return len(due)


@authority_of(services.CHECK_JOB)
def check_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """A data check is about the authority of the child's household region."""
    return session.scalar(select(Region.authority_id).join(
        Child, Child.hukou_region_id == Region.id).where(Child.id == int(payload["child_id"])))
