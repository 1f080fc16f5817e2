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
        # A parent signs in through WeChat, or is a family account a school made at the
        # counter (代报名) until the family claims it from their own WeChat.
        CheckConstraint(
            "role <> 'parent' OR (username IS NULL AND "
            "(openid IS NOT NULL OR created_by_user_id IS NOT NULL))",
            name="parent_has_openid_or_creator",
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
    # The staff member who made this family account at the counter (代报名); NULL for
    # every account made by a WeChat login. Such an account never signs in.
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_login_at: Mapped[dt.datetime | None]

    authority: Mapped[EducationAuthority | None] = relationship()
    school: Mapped[School | None] = relationship()

    @property
    def is_staff_created(self) -> bool:
        """A family account a school made at the counter, not yet claimed from WeChat."""
        return self.openid is None and self.created_by_user_id is not None

    @property
    def is_staff(self) -> bool:
        """School staff and bureau admins."""
        return self.role in STAFF_ROLES
