"""Staff scope: the one place that says which schools, seasons and records a caller may see.

School staff see their own school; bureau admins see every school of their education
authority; nobody else (parents, disabled accounts) sees anything through staff views.
Anything outside the scope answers exactly like something that does not exist — 404 with
the usual "not found" code, never 403 — so nobody learns that another school's record
exists (BRIEF: children's data protected).

Every domain asks here; none re-implements the rule. Records that belong to a school are
tested with `covers_school(user, Model.school_id)` (SQL) or `may_see_school(user, school)`
(Python); records that belong to an authority with `covers_authority`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import QueryableAttribute

from backend.accounts.models import Role, User
from backend.core.db import db
from backend.core.errors import ApiError
from backend.schools.models import School
from backend.seasons.models import Season


@dataclass(frozen=True)
class Scope:
    """Where one caller may look: an authority, and for school staff one school in it."""

    authority_id: int | None
    school_id: int | None

    @property
    def empty(self) -> bool:
        """True when the caller may see nothing through staff views."""
        return self.authority_id is None


NOWHERE = Scope(authority_id=None, school_id=None)

# A column holding a school's or an authority's id (e.g. `Registration.school_id`).
Column = QueryableAttribute[Any] | ColumnElement[Any]


def scope_of(user: User) -> Scope:
    """The caller's scope; parents and disabled accounts get the empty one."""
    if not user.is_active or user.authority_id is None:
        return NOWHERE
    if user.role is Role.BUREAU_ADMIN:
        return Scope(authority_id=user.authority_id, school_id=None)
    if user.role is Role.SCHOOL_STAFF and user.school_id is not None:
        # A school of another authority would be a broken account: it sees nothing.
        school = db.session.get(School, user.school_id)
        if school is None or school.authority_id != user.authority_id:
            return NOWHERE
        return Scope(authority_id=user.authority_id, school_id=user.school_id)
    return NOWHERE


def is_school_staff(user: User) -> bool:
    """School staff act for one school only."""
    return user.role is Role.SCHOOL_STAFF


def not_found(code: str = "SCHOOL_NOT_FOUND", message: str = "未找到该学校") -> ApiError:
    """The answer for anything outside the caller's scope: the same as for a missing one."""
    return ApiError(404, code, message)


# --- SQL conditions ----------------------------------------------------------------------


def covers_school(user: User, school_id: Column) -> ColumnElement[bool]:
    """SQL: the school id in `school_id` (a column) is a school the caller may see."""
    scope = scope_of(user)
    if scope.empty:
        return false()
    if scope.school_id is not None:
        return school_id == scope.school_id
    return school_id.in_(select(School.id).where(School.authority_id == scope.authority_id))


def covers_authority(user: User, authority_id: Column) -> ColumnElement[bool]:
    """SQL: the authority in `authority_id` (a column) is the caller's."""
    scope = scope_of(user)
    return false() if scope.empty else authority_id == scope.authority_id


def covers_owner(user: User, school_id: Column, authority_id: Column) -> ColumnElement[bool]:
    """SQL for records owned by a school or by the county itself (e.g. announcements).

    School staff see their school's own records only; bureau admins every record of
    their authority, the county's and its schools' alike.
    """
    scope = scope_of(user)
    if scope.empty:
        return false()
    if scope.school_id is not None:
        return school_id == scope.school_id
    return authority_id == scope.authority_id


# --- objects -------------------------------------------------------------------------------


def may_see_school(user: User, school: School | None) -> bool:
    """Whether the caller may see and act for this school."""
    scope = scope_of(user)
    if school is None or scope.empty or school.authority_id != scope.authority_id:
        return False
    return scope.school_id is None or scope.school_id == school.id


def school(user: User, *, school_id: int | None = None, code: str | None = None) -> School:
    """A school in the caller's scope, by id or by code (404 SCHOOL_NOT_FOUND otherwise)."""
    found: School | None = None
    if school_id is not None:
        found = db.session.get(School, school_id)
    elif code is not None:
        found = db.session.scalar(select(School).where(School.code == code))
    if found is None or not may_see_school(user, found):
        raise not_found()
    return found


def school_or_own(user: User, code: str | None) -> School:
    """The school a staff request is about: school staff their own, bureau admins by code.

    School staff may name their own school's code (any other: 404); a bureau admin must
    name one (422 SCHOOL_REQUIRED).
    """
    own = own_school(user)
    if own is not None:
        if code is not None and code != own.code:
            raise not_found()
        return own
    if code is None:
        raise ApiError(422, "SCHOOL_REQUIRED", "请指定学校")
    return school(user, code=code)


def own_school(user: User) -> School | None:
    """School staff's own school (None for everyone else)."""
    scope = scope_of(user)
    if scope.school_id is None:
        if is_school_staff(user):
            raise not_found()
        return None
    return db.session.get(School, scope.school_id)


def season(user: User, season_id: int) -> Season:
    """A season of the caller's authority (404 SEASON_NOT_FOUND otherwise)."""
    found = db.session.get(Season, season_id)
    scope = scope_of(user)
    if found is None or scope.empty or found.authority_id != scope.authority_id:
        raise not_found("SEASON_NOT_FOUND", "未找到该招生季")
    return found


def authority_id(user: User) -> int:
    """The caller's authority (404 for a caller with none, e.g. a broken account)."""
    scope = scope_of(user)
    if scope.authority_id is None:
        raise not_found("AUTHORITY_NOT_FOUND", "未找到该教育局")
    return scope.authority_id
