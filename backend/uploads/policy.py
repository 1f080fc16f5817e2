"""Who may read an uploaded document.

The owner always may. Staff may only where the document was submitted to a school in their
scope — a registration rule, which the registrations domain answers through
`events.staff_read_asked`. Callers turn a refusal into 404, never 403, so nobody learns
that someone else's document exists.
"""

from __future__ import annotations

from backend.accounts.models import Role, User
from backend.core.events import answered_yes
from backend.uploads.events import staff_read_asked
from backend.uploads.models import Upload


def can_read(user: User, upload: Upload) -> bool:
    """The owner, or staff whom the registrations domain allows (nobody answering: no)."""
    if upload.purged_at is not None or upload.storage_name is None or not user.is_active:
        return False
    if user.role is Role.PARENT:
        return upload.owner_user_id == user.id
    return answered_yes(staff_read_asked.send(upload, user=user))
