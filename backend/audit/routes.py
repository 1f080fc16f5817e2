"""Admins read the audit trail: who did what, when, from where (监督问责)."""

from __future__ import annotations

from flask import Blueprint

from backend.audit import services
from backend.audit.schemas import (
    ACTION_NAMES,
    AuditChildOut,
    AuditEventList,
    AuditEventOut,
    AuditQuery,
)
from backend.core.api import api
from backend.core.auth import current_user, require_roles
from backend.core.timeutil import local_iso

bp = Blueprint("audit", __name__, url_prefix="/api/v1/admin")


@bp.get("/audit-events")
@require_roles("bureau_admin")
@api(query=AuditQuery, response=AuditEventList, errors=(404,))
def list_audit_events(query: AuditQuery) -> AuditEventList:
    """Audit events of the admin's authority's staff, newest first, filtered by actor,
    action, object, child (its registrations, documents and offers too) and Beijing dates."""
    filters = services.AuditFilters(
        actor_user_id=query.actor_user_id, actor=query.actor, action=query.action,
        object_type=query.object_type, child_id=query.child_id, date_from=query.date_from,
        date_to=query.date_to)
    rows, total, subject = services.list_events(current_user(), filters, query.page,
                                                query.page_size)
    return AuditEventList(
        items=[AuditEventOut(
            id=e.id, occurred_at=local_iso(e.occurred_at) or "", action=e.action,
            action_name=ACTION_NAMES.get(e.action, e.action), actor_user_id=e.actor_user_id,
            actor_role=e.actor_role, actor_username=actor.username,
            actor_display_name=actor.display_name, object_type=e.object_type,
            object_id=e.object_id, client_fingerprint=e.client_fingerprint, details=e.details,
        ) for e, actor in rows],
        total=total, page=query.page, page_size=query.page_size,
        child=AuditChildOut(id=query.child_id, name=subject.label)
        if subject is not None and query.child_id is not None else None,
    )
