"""The worker's admin routes: dead-lettered messages, and replaying them."""

from __future__ import annotations

from flask import Blueprint

from backend.core.api import api
from backend.core.auth import require_roles
from backend.worker import services
from backend.worker.schemas import DeadLetterList, DeadLetterOut, ReplayOut

bp = Blueprint("worker", __name__, url_prefix="/api/v1")


@bp.get("/admin/dead-letters")
@require_roles("bureau_admin")
@api(response=DeadLetterList)
def list_dead_letters() -> DeadLetterList:
    """Queue messages that kept failing, with the reason."""
    return DeadLetterList(items=[DeadLetterOut(**d) for d in services.dead_letters()])


@bp.post("/admin/dead-letters/<stream>/<message_id>/replay")
@require_roles("bureau_admin")
@api(response=ReplayOut, errors=(404,))
def replay_dead_letter(stream: str, message_id: str) -> ReplayOut:
    """Put a dead-lettered message back on its stream."""
    return ReplayOut(stream=stream, message_id=services.replay_dead_letter(stream, message_id))
