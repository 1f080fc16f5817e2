"""Turning users into response models (never a credential or a hash)."""

from __future__ import annotations

from backend.accounts.models import Role, User
from backend.accounts.schemas import MeOut, StaffAccountOut, UserOut
from backend.core.timeutil import local_iso
from backend.identity.serializers import child_out, consent_out, guardian_out
from backend.identity.services import guardian_of


def user_out(user: User) -> UserOut:
    """The public shape of a signed-in user."""
    return UserOut(
        id=user.id,
        role=user.role.value,
        identity_bound=user.role is Role.PARENT and guardian_of(user) is not None,
        username=user.username,
        display_name=user.display_name,
        authority=user.authority.code if user.authority else None,
        school=user.school.code if user.school else None,
    )


def me_out(user: User) -> MeOut:
    """The caller's own view of their account, with the family for parents."""
    me = MeOut(**user_out(user).model_dump())
    guardian = guardian_of(user) if user.role is Role.PARENT else None
    if guardian is not None:
        # Imported here: identity's routes import accounts' schemas.
        from backend.identity.routes import season_for

        me.identity = guardian_out(guardian)
        me.children = [child_out(c, season_for(c)) for c in guardian.children]
        me.consents = [consent_out(c) for c in guardian.children]
    return me


def staff_account_out(user: User) -> StaffAccountOut:
    """A staff account for the bureau's account list."""
    return StaffAccountOut(
        id=user.id, username=user.username or "",
        role="bureau_admin" if user.role is Role.BUREAU_ADMIN else "school_staff",
        display_name=user.display_name, authority=user.authority.code if user.authority else "",
        school=user.school.code if user.school else None,
        school_name=user.school.name if user.school else None, is_active=user.is_active,
        last_login_at=local_iso(user.last_login_at),
    )
