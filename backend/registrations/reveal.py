"""Staff access to a child's full record: only where the child applied, always audited."""

from __future__ import annotations

from backend.accounts.models import User
from backend.audit.services import client_fingerprint, record_audit
from backend.core import pii
from backend.core.db import db
from backend.core.errors import ApiError
from backend.identity import services
from backend.identity.models import Child
from backend.identity.schemas import RevealOut
from backend.registrations.access import staff_can_see_child


def _plain(token: str | None, purpose: str) -> str | None:
    return pii.decrypt(token, purpose) if token else None


def reveal_child(user: User, child_id: int, reason: str, address: str | None) -> RevealOut:
    """The full record, once, with who/what/when/from where in the audit log."""
    child = db.session.get(Child, child_id)
    # Out of scope looks exactly like unknown: no existence leak.
    if child is None or not staff_can_see_child(user, child_id):
        raise ApiError(404, "CHILD_NOT_FOUND", "未找到该儿童信息")
    guardian = child.guardian
    record_audit(db.session, action="child.reveal", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="child", object_id=child.id,
                 client_fingerprint=client_fingerprint(address), details={"reason": reason})
    return RevealOut(
        child_id=child.id, child_name=child.name,
        child_id_number=_plain(child.id_number_enc, services.CHILD_ID),
        guardian_name=guardian.name,
        guardian_id_number=_plain(guardian.id_number_enc, services.GUARDIAN_ID),
        guardian_phone=_plain(guardian.phone_enc, services.GUARDIAN_PHONE),
    )
