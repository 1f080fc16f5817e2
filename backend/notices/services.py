"""Writing notices to the outbox, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.notices.models import Notice, NoticeStatus


def add_notice(session: Session, *, user_id: int, template_key: str, data: dict[str, Any],
               dedupe_key: str, page: str | None = None) -> Notice:
    """Queue one notice for a user; it is sent after the caller's transaction commits."""
    notice = Notice(user_id=user_id, template_key=template_key, data=data, page=page,
                    dedupe_key=dedupe_key, status=NoticeStatus.PENDING, attempts=0)
    session.add(notice)
    return notice
