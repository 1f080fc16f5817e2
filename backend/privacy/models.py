"""The deletion log: what personal data a purge removed, when, and on whose order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow


class DeletionLog(Base):
    """One purge run for a closed season: counts per kind of data, no personal data."""

    __tablename__ = "deletion_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"), index=True)
    performed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    performed_by: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Anonymous statistics kept after the purge (per school and status).
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
