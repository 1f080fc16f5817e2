"""The notice outbox: written in the same transaction as the change that causes a notice."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow
from backend.core.types import str_enum


class NoticeStatus(enum.Enum):
    """A notice is sent at most once; an unknown outcome is never retried."""

    PENDING = "pending"
    # Taken by a sender (committed before WeChat is called): never taken by another one.
    SENDING = "sending"
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
    # A retry after a busy or rate-limited answer waits until then (NULL: at once).
    next_attempt_at: Mapped[dt.datetime | None]
    # Which sender took the notice and when; the call to WeChat started at sending_at.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    sending_at: Mapped[dt.datetime | None]
    # The in-app inbox: when the parent opened it.
    read_at: Mapped[dt.datetime | None]


class SubscriptionCredit(Base):
    """One-time subscribe-message credits a user granted us, per template key.

    wx.requestSubscribeMessage gives one credit per "accept"; each message sent uses one.
    WeChat holds the real count: this one only spares calls that would get 43101.
    """

    __tablename__ = "subscription_credits"
    __table_args__ = (CheckConstraint("credits >= 0", name="credits_not_negative"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    template_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    credits: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
