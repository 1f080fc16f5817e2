"""Claim codes: how a family takes over, from its own WeChat, what a school entered for it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TimestampMixin


class ClaimCode(TimestampMixin, Base):
    """The one live claim code of a family account made at the counter (stored hashed).

    Issuing a new code replaces the old one (which then matches nothing); a claim uses it
    up for good.
    """

    __tablename__ = "claim_codes"
    __table_args__ = (
        CheckConstraint("(claimed_at IS NULL) = (claimed_by_user_id IS NULL)",
                        name="claimed_with_claimer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # Keyed blind index of the normalised code: a look-up without keeping the code.
    code_index: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    issued_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
