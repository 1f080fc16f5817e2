"""What registrations do when the domains below them announce a change.

- the intake's fact cache (`facts.py`) follows every committed change of a child or a
  document, and every new data-check result (`verification.events`), so the intake never
  reads the database at the opening minute;
- a child's details are locked while a registration depends on them;
- a binding transferred by the bureau takes the family's registrations along;
- staff read a document only where it was submitted to a school in their scope;
- the audit log filtered by a child covers its registrations and their documents.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import String, cast, select, update

from backend.accounts.models import User
from backend.audit import events as audit_events
from backend.audit.events import AuditSubject
from backend.core import pii
from backend.core.db import after_commit, db
from backend.core.errors import ApiError
from backend.core.redis import redis_store
from backend.identity import events as identity_events
from backend.identity.models import Child
from backend.registrations import access, facts
from backend.registrations.models import INACTIVE_STATUSES, Registration, registration_uploads
from backend.uploads import events as upload_events
from backend.uploads.models import Upload
from backend.verification import events as verification_events


def _child_changed(_sender: Any, *, child_ids: list[int], added: bool) -> None:
    # A new child: fill the cache (NX); a change: overwrite whatever is there, at commit.
    if added:
        for child_id in child_ids:
            after_commit(functools.partial(facts.child, child_id))
    else:
        after_commit(functools.partial(facts.refresh_children, list(child_ids)))


def _checks_changed(_sender: Any, *, child_ids: list[int]) -> None:
    # Sent after the results are committed: documents government data confirmed count at
    # the intake from now on.
    facts.refresh_children(list(child_ids))


def _submission_in_flight(child: Child) -> bool:
    # A queued submission lives only in Redis until the worker writes it: its holder key
    # locks the child's details, or the zone checked at submission could change under it.
    from backend.registrations.intake import child_holder_key
    from backend.seasons.services import current_season

    try:
        season = current_season(child.hukou_region.authority_id)
    except ApiError:
        return False
    return bool(redis_store.client.exists(child_holder_key(season.id, child.id)))


def _child_locked(child: Child) -> bool:
    active = db.session.scalar(select(Registration.id).where(
        Registration.child_id == child.id, Registration.status.not_in(INACTIVE_STATUSES)
    ).limit(1)) is not None
    return active or _submission_in_flight(child)


def _binding_transferred(_sender: Any, *, old_user_id: int, new_user_id: int,
                         child_ids: list[int]) -> None:
    # The family's registrations follow the binding; the old account loses them at once.
    if child_ids:
        db.session.execute(update(Registration).where(
            Registration.child_id.in_(child_ids),
            Registration.submitted_by_user_id == old_user_id,
        ).values(submitted_by_user_id=new_user_id))
    after_commit(functools.partial(facts.refresh_children, list(child_ids)))


def _upload_changed(_sender: Any, *, upload_ids: list[str], change: str) -> None:
    ids = list(upload_ids)
    if change == "purged":  # outside a request, final at once
        facts.forget_uploads(ids)
    elif change == "deleted":
        after_commit(functools.partial(facts.forget_uploads, ids))
    elif change == "created":
        after_commit(functools.partial(facts.uploads, ids))
    else:  # moved to another owner: overwrite the cached owner
        after_commit(functools.partial(facts.refresh_uploads, ids))


def _upload_in_use(upload: Upload) -> bool:
    return access.upload_in_use(upload.id)


def _staff_may_read(upload: Upload, *, user: User) -> bool:
    return access.staff_can_read_upload(user, upload)


def _child_audit_subject(_sender: Any, *, user: User, child_id: int) -> AuditSubject | None:
    # The audit log filtered by a child: the child, its registrations and their documents,
    # for staff who may see the child (it applied to a school in their scope).
    if not access.staff_can_see_child(user, child_id):
        return None
    child = db.session.get(Child, child_id)
    if child is None:
        return None
    registrations = select(Registration.id).where(Registration.child_id == child_id)
    documents = select(registration_uploads.c.upload_id).where(
        registration_uploads.c.registration_id.in_(registrations))
    return AuditSubject(
        label=pii.mask_name(child.name),
        objects=(("child", [str(child_id)]),
                 ("registration", select(cast(Registration.id, String)).where(
                     Registration.child_id == child_id)),
                 ("upload", documents)),
        registration_ids=registrations)


def connect() -> None:
    """Subscribe every receiver (blinker ignores a receiver connected twice)."""
    identity_events.child_changed.connect(_child_changed, weak=False)
    identity_events.child_edit_asked.connect(_child_locked, weak=False)
    identity_events.binding_transferred.connect(_binding_transferred, weak=False)
    upload_events.upload_changed.connect(_upload_changed, weak=False)
    verification_events.checks_changed.connect(_checks_changed, weak=False)
    upload_events.upload_delete_asked.connect(_upload_in_use, weak=False)
    upload_events.staff_read_asked.connect(_staff_may_read, weak=False)
    audit_events.child_subject_asked.connect(_child_audit_subject, weak=False)
