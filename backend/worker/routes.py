"""The worker's admin routes: dead-lettered messages, replaying them, and what became of a
replayed message."""

from __future__ import annotations

from flask import Blueprint

from backend.core.api import api
from backend.core.auth import current_user, require_roles
from backend.worker import services
from backend.worker.schemas import (
    DeadLetterList,
    DeadLetterOut,
    DeadLetterQuery,
    QueueMessageOut,
    ReplayOut,
)

bp = Blueprint("worker", __name__, url_prefix="/api/v1")


@bp.get("/admin/dead-letters")
@require_roles("bureau_admin")
@api(query=DeadLetterQuery, response=DeadLetterList)
def list_dead_letters(query: DeadLetterQuery) -> DeadLetterList:
    """Queue messages that kept failing, with the reason, when and after how many tries."""
    items, total = services.dead_letters(current_user(), query.stream, query.type,
                                         query.page, query.page_size)
    return DeadLetterList(items=[DeadLetterOut(**d) for d in items], total=total,
                          page=query.page, page_size=query.page_size,
                          job_types=services.JOB_NAMES)


@bp.post("/admin/dead-letters/<stream>/<message_id>/replay")
@require_roles("bureau_admin")
@api(response=ReplayOut, errors=(404,))
def replay_dead_letter(stream: str, message_id: str) -> ReplayOut:
    """Put a dead-lettered message back on its stream (audited)."""
    new_id = services.replay_dead_letter(current_user(), stream, message_id)
    return ReplayOut(stream=stream, message_id=new_id)


@bp.get("/admin/queue-messages/<stream>/<message_id>")
@require_roles("bureau_admin")
@api(response=QueueMessageOut, errors=(404,))
def queue_message_state(stream: str, message_id: str) -> QueueMessageOut:
    """Whether a (replayed) message is still queued, was processed, or failed again."""
    return QueueMessageOut(**services.message_state(current_user(), stream, message_id))
