"""Education authorities: the top of the data hierarchy (a county or district bureau)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core import httpcache
from backend.core.db import Base, TimestampMixin


class EducationAuthority(TimestampMixin, Base):
    """A county/district education bureau owning its seasons, schools, zones and staff."""

    __tablename__ = "education_authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short code unique in the deployment, used in URLs (?authority=linxian).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # GB/T 2260 administrative division code of the area the authority serves.
    division_code: Mapped[str] = mapped_column(String(12))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    consultation_phone: Mapped[str | None] = mapped_column(String(40))
    complaint_channel: Mapped[str | None] = mapped_column(String(200))
    petition_address: Mapped[str | None] = mapped_column(String(200))
    portal_url: Mapped[str | None] = mapped_column(String(200))
    is_sample: Mapped[bool] = mapped_column(default=False)


# The public catalogue answers are built from these tables (backend/core/httpcache.py).
httpcache.watch(EducationAuthority)
