"""What notices do when the domains below them announce a change.

- a binding transferred to another account takes the family's notices along: the inbox
  is the family's, and what is still unsent goes to the account that can receive it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from backend.core.db import db
from backend.identity import events as identity_events
from backend.notices.models import Notice

logger = logging.getLogger(__name__)


def _binding_transferred(_sender: Any, *, old_user_id: int, new_user_id: int,
                         child_ids: list[int]) -> None:
    db.session.execute(update(Notice).where(Notice.user_id == old_user_id)
                       .values(user_id=new_user_id))
    logger.info("notices moved with a binding from_user_id=%s to_user_id=%s",
                old_user_id, new_user_id)


def connect() -> None:
    """Subscribe every receiver (blinker ignores a receiver connected twice)."""
    identity_events.binding_transferred.connect(_binding_transferred, weak=False)
