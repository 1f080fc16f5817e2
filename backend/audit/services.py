"""Writing audit events (in the caller's transaction or through the queue) and reading them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, scoped_session

from backend.accounts import scope
from backend.accounts.models import Role, User
from backend.audit.events import AuditSubject, child_subject_asked
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.core.timeutil import local_day_end, local_day_start


def client_fingerprint(address: str | None) -> str | None:
    """A keyed hash of a client address, so logs correlate without storing the address."""
    if not address:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def record_audit(
    session: Session | scoped_session[Session],
    *,
    action: str,
    actor_user_id: int | None = None,
    actor_role: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    client_fingerprint: str | None = None,
    details: dict[str, Any] | None = None,
    event_key: str | None = None,
) -> AuditEvent | None:
    """Add one audit event to the session; a known event_key is skipped (returns None)."""
    if event_key is not None and session.scalar(
        select(AuditEvent.id).where(AuditEvent.event_key == event_key)
    ):
        return None
    event = AuditEvent(
        action=action,
        actor_user_id=actor_user_id,
        actor_role=actor_role,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        client_fingerprint=client_fingerprint,
        details=details or {},
        event_key=event_key,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is filtered by (None: any)."""

    actor_user_id: int | None = None
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    child_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def child_subject(viewer: User, child_id: int) -> AuditSubject:
    """The child's objects for the filter (404 CHILD_NOT_FOUND outside the viewer's scope)."""
    replies = child_subject_asked.send(None, user=viewer, child_id=child_id)
    for _receiver, answer in replies:
        if isinstance(answer, AuditSubject):
            return answer
    raise scope.not_found("CHILD_NOT_FOUND", "未找到该儿童")


def _actor_condition(viewer: User, filters: AuditFilters) -> ColumnElement[bool] | None:
    if filters.actor_user_id is None and not filters.actor:
        return None
    stmt = select(User.id).where(User.role != Role.PARENT,
                                 scope.covers_authority(viewer, User.authority_id))
    if filters.actor_user_id is not None:
        stmt = stmt.where(User.id == filters.actor_user_id)
    if filters.actor:
        stmt = stmt.where(User.username == filters.actor.strip())
    actor_id = db.session.scalar(stmt)
    if actor_id is None:
        raise scope.not_found("ACCOUNT_NOT_FOUND", "未找到该账号")
    return AuditEvent.actor_user_id == actor_id


def _about(subject: AuditSubject) -> ColumnElement[bool]:
    named = [and_(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(ids))
             for object_type, ids in subject.objects]
    # Events about a registration that keep its id in the details (placement, check-in …).
    named.append(AuditEvent.details["registration_id"].as_integer().in_(
        subject.registration_ids))
    return or_(*named)


def list_events(viewer: User, filters: AuditFilters, page: int,
                page_size: int) -> tuple[list[tuple[AuditEvent, User]], int, AuditSubject | None]:
    """A page of the audit events by staff of the viewer's authority, newest first, with
    their actors; the total; and the child filtered by, if any."""
    stmt = select(AuditEvent, User).join(User, AuditEvent.actor_user_id == User.id).where(
        scope.covers_authority(viewer, User.authority_id))
    actor = _actor_condition(viewer, filters)
    if actor is not None:
        stmt = stmt.where(actor)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= local_day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < local_day_end(filters.date_to))
    subject = None
    if filters.child_id is not None:
        subject = child_subject(viewer, filters.child_id)
        stmt = stmt.where(_about(subject))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(AuditEvent.id.desc())
                              .offset((page - 1) * page_size).limit(page_size))
    return [(event, user) for event, user in rows], total, subject
