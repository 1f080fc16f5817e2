"""Who may read an uploaded document.

A document is "submitted to" the school of every registration it is attached to. Callers
turn a refusal into 404, never 403, so nobody learns that someone else's document exists.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.core.db import db
from backend.registrations.models import Registration, registration_uploads
from backend.schools.models import School
from backend.uploads.models import Upload


def can_read(user: User, upload: Upload) -> bool:
    """The owner, staff of a school it was submitted to, or admins of that school's authority."""
    if upload.purged_at is not None or upload.storage_name is None or not user.is_active:
        return False
    if user.role is Role.PARENT:
        return upload.owner_user_id == user.id
    submitted_to = (
        select(Registration.id)
        .join(registration_uploads, registration_uploads.c.registration_id == Registration.id)
        .where(registration_uploads.c.upload_id == upload.id)
    )
    if user.role is Role.SCHOOL_STAFF and user.school_id is not None:
        query = submitted_to.where(Registration.school_id == user.school_id)
    elif user.role is Role.BUREAU_ADMIN and user.authority_id is not None:
        query = submitted_to.join(School, School.id == Registration.school_id).where(
            School.authority_id == user.authority_id
        )
    else:
        return False
    return db.session.scalar(query.limit(1)) is not None
