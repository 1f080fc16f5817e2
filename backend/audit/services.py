"""Writing audit events, in the caller's transaction or through the queue."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from backend.audit.models import AuditEvent


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
