"""Admins read the audit trail: who did what, when, from where (监督问责)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from backend.accounts import scope
from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.api import api
from backend.core.auth import current_user, require_roles
from backend.core.db import db
from backend.core.timeutil import local_iso

bp = Blueprint("audit", __name__, url_prefix="/api/v1/admin")

PAGE_SIZE = 50


class AuditQuery(BaseModel):
    """Filters of the audit log."""

    model_config = ConfigDict(extra="forbid")
    action: str | None = Field(default=None, max_length=64)
    object_type: str | None = Field(default=None, max_length=64)
    page: int = Field(default=1, ge=1, le=100_000)


class AuditEventOut(BaseModel):
    """One audit event (actors by id and role, never by name)."""

    id: int
    occurred_at: str
    action: str
    actor_user_id: int | None
    actor_role: str | None
    object_type: str | None
    object_id: str | None
    client_fingerprint: str | None
    details: dict[str, Any]


class AuditEventList(BaseModel):
    """A page of audit events, newest first."""

    items: list[AuditEventOut]
    total: int
    page: int
    page_size: int


@bp.get("/audit-events")
@require_roles("bureau_admin")
@api(query=AuditQuery, response=AuditEventList)
def list_audit_events(query: AuditQuery) -> AuditEventList:
    """Audit events of the admin's authority's staff, newest first."""
    admin = current_user()
    stmt = select(AuditEvent).join(User, AuditEvent.actor_user_id == User.id).where(
        scope.covers_authority(admin, User.authority_id))
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.object_type:
        stmt = stmt.where(AuditEvent.object_type == query.object_type)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    events = db.session.scalars(stmt.order_by(AuditEvent.id.desc())
                                .offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return AuditEventList(
        items=[AuditEventOut(
            id=e.id, occurred_at=local_iso(e.occurred_at) or "", action=e.action,
            actor_user_id=e.actor_user_id, actor_role=e.actor_role, object_type=e.object_type,
            object_id=e.object_id, client_fingerprint=e.client_fingerprint, details=e.details,
        ) for e in events],
        total=total, page=query.page, page_size=PAGE_SIZE,
    )
