"""Users: parents (WeChat openid) and staff (username + password), with their scope."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.authorities.models import EducationAuthority
from backend.core.db import Base, TimestampMixin
from backend.core.types import str_enum
from backend.schools.models import School


class Role(enum.Enum):
    """Who a user is; the scope columns say where they may act."""

    PARENT = "parent"
    SCHOOL_STAFF = "school_staff"
    BUREAU_ADMIN = "bureau_admin"


STAFF_ROLES = (Role.SCHOOL_STAFF, Role.BUREAU_ADMIN)


class User(TimestampMixin, Base):
    """A person who signs in: a parent through WeChat, staff with a password."""

    __tablename__ = "users"
    __table_args__ = (
        # Each role carries exactly the credentials and scope it needs.
        CheckConstraint(
            "role <> 'parent' OR (openid IS NOT NULL AND username IS NULL)",
            name="parent_has_openid",
        ),
        CheckConstraint(
            "role = 'parent' OR (username IS NOT NULL AND password_hash IS NOT NULL "
            "AND authority_id IS NOT NULL)",
            name="staff_has_password_and_authority",
        ),
        CheckConstraint(
            "role <> 'school_staff' OR school_id IS NOT NULL", name="school_staff_has_school"
        ),
        CheckConstraint(
            "role = 'school_staff' OR school_id IS NULL", name="only_school_staff_has_school"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(64))
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("education_authorities.id"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]

    authority: Mapped[EducationAuthority | None] = relationship()
    school: Mapped[School | None] = relationship()

    @property
    def is_staff(self) -> bool:
        """School staff and bureau admins."""
        return self.role in STAFF_ROLES
