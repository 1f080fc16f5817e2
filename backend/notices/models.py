"""The notice outbox: written in the same transaction as the change that causes a notice."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow
from backend.core.types import str_enum


class NoticeStatus(enum.Enum):
    """A notice is sent at most once; an unknown outcome is never retried."""

    PENDING = "pending"
    SENT = "sent"
    NOT_SUBSCRIBED = "not_subscribed"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class Notice(Base):
    """One WeChat subscribe message to one user, waiting in the outbox or delivered."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    template_key: Mapped[str] = mapped_column(String(40))
    # Field values by meaning (e.g. {"school": "...", "status": "..."}), mapped per deployment.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page: Mapped[str | None] = mapped_column(String(200))
    # One notice per cause, even when the cause is processed twice.
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
