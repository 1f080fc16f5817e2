"""Worker handlers for the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.audit.services import record_audit
from backend.core.jobs import authority_of, handler

logger = logging.getLogger(__name__)


@handler("audit.record")
def handle_audit_record(session: Session, payload: dict[str, Any], message_id: str) -> None:
    """Write an audit event queued by a request (login, logout, lock-out)."""
    record_audit(
        session,
        action=str(payload["action"]),
        actor_user_id=payload.get("actor_user_id"),
        actor_role=payload.get("actor_role"),
        object_type=payload.get("object_type"),
        object_id=payload.get("object_id"),
        client_fingerprint=payload.get("client_fingerprint"),
        details=payload.get("details") or {},
        # The stream id is unique per message: a redelivery is recognised and skipped.
        event_key=f"stream:{message_id}",
    )
    logger.info("audit event recorded action=%s message_id=%s", payload["action"], message_id)


@authority_of("audit.record")
def audit_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """An audit event is about its actor's authority (none for an unknown username)."""
    actor = payload.get("actor_user_id")
    if actor is None:
        return None
    return session.scalar(select(User.authority_id).where(User.id == int(actor)))
