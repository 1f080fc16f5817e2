"""What staff may see because of a registration: the child who applied, the documents sent.

A child or a document is visible to staff only through a registration at a school in their
scope (`backend.accounts.scope`); anything else is 404 to them, never 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from backend.accounts import scope
from backend.accounts.models import User
from backend.core.db import db
from backend.registrations.models import Registration, registration_uploads
from backend.uploads.models import Upload


def staff_can_see_child(user: User, child_id: int) -> bool:
    """The child applied to a school in the caller's scope."""
    return db.session.scalar(select(Registration.id).where(
        Registration.child_id == child_id,
        scope.covers_school(user, Registration.school_id)).limit(1)) is not None


def staff_can_read_upload(user: User, upload: Upload) -> bool:
    """The document was submitted with a registration at a school in the caller's scope."""
    return db.session.scalar(
        select(Registration.id)
        .join(registration_uploads, registration_uploads.c.registration_id == Registration.id)
        .where(registration_uploads.c.upload_id == upload.id,
               scope.covers_school(user, Registration.school_id))
        .limit(1)) is not None


def upload_in_use(upload_id: str) -> bool:
    """The document was submitted with a registration (so its owner may not delete it)."""
    return db.session.scalar(
        select(registration_uploads.c.registration_id)
        .where(registration_uploads.c.upload_id == upload_id).limit(1)) is not None


def families_in_scope(user: User, school_id: int | None = None) -> Select[Any]:
    """SQL: the accounts of families with a registration at a school in the caller's scope
    (or at one school of it): whose notices staff may follow."""
    stmt = select(Registration.submitted_by_user_id).where(
        scope.covers_school(user, Registration.school_id))
    if school_id is not None:
        stmt = stmt.where(Registration.school_id == school_id)
    return stmt


def registration_by_reference(user: User, reference: str) -> Registration:
    """A registration in the caller's scope by its number or its ticket (404 otherwise)."""
    reference = reference.strip()
    condition = Registration.ticket == reference
    if reference.isdigit() and len(reference) < 12:
        condition = or_(condition, Registration.id == int(reference))
    found = db.session.scalar(select(Registration).where(
        condition, scope.covers_school(user, Registration.school_id)).limit(1))
    if found is None:
        raise scope.not_found("REGISTRATION_NOT_FOUND", "未找到该报名")
    return found
