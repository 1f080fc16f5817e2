"""Turning users into response models (never a credential or a hash)."""

from __future__ import annotations

from backend.accounts.models import Role, User
from backend.accounts.schemas import MeOut, StaffAccountOut, UserOut


def user_out(user: User) -> UserOut:
    """The public shape of a signed-in user."""
    return UserOut(
        id=user.id,
        role=user.role.value,
        identity_bound=False,
        username=user.username,
        display_name=user.display_name,
        authority=user.authority.code if user.authority else None,
        school=user.school.code if user.school else None,
    )


def me_out(user: User) -> MeOut:
    """The caller's own view of their account."""
    return MeOut(**user_out(user).model_dump())


def staff_account_out(user: User) -> StaffAccountOut:
    """A staff account for the bureau's account list."""
    return StaffAccountOut(
        id=user.id, username=user.username or "",
        role="bureau_admin" if user.role is Role.BUREAU_ADMIN else "school_staff",
        display_name=user.display_name, authority=user.authority.code if user.authority else "",
        school=user.school.code if user.school else None, is_active=user.is_active,
    )
