"""The family's consent to data checks, and one current check per (child, fact)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TimestampMixin, utcnow
from backend.core.types import str_enum
from backend.govdata.sources import Fact


class DataCheckChannel(enum.Enum):
    """Where the guardian agreed to the data checks."""

    MINI_PROGRAM = "mini_program"
    PC = "pc"
    COUNTER = "counter"  # given in person at the school's counter


class DataCheckConsent(Base):
    """A guardian's separate consent to query government data about one child
    (《个人信息保护法》第十四条、第三十一条: specific, separate, informed): who, which
    child, which text version, through which channel, when. Never asked without one."""

    __tablename__ = "data_check_consents"
    __table_args__ = (CheckConstraint("version <> ''", name="version_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[DataCheckChannel] = mapped_column(
        str_enum(DataCheckChannel, "data_check_channel"))
    agreed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CheckStatus(enum.Enum):
    """Where one fact's check stands."""

    PENDING = "pending"  # queued, not asked yet
    CONFIRMED = "confirmed"
    NOT_FOUND = "not_found"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"  # the source was down: asked again at next_attempt_at


class DataCheck(TimestampMixin, Base):
    """The current answer about one fact of one child (the latest query wins)."""

    __tablename__ = "data_checks"
    __table_args__ = (
        UniqueConstraint("child_id", "fact"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The retry chore reads only the checks still waiting for an answer.
        Index("ix_data_checks_due", "next_attempt_at",
              postgresql_where="next_attempt_at IS NOT NULL",
              sqlite_where="next_attempt_at IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"))
    fact: Mapped[Fact] = mapped_column(str_enum(Fact, "data_check_fact"))
    status: Mapped[CheckStatus] = mapped_column(
        str_enum(CheckStatus, "data_check_status"), default=CheckStatus.PENDING)
    source: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(100))
    checked_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))  # Chinese, never a value
    # Household and property records: where the record says the family lives.
    address: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
