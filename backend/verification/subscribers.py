"""What verification does when identity (below it) announces a change: checks asked with
details that changed go back to pending and are asked again."""

from __future__ import annotations

from typing import Any

from backend.core.db import db
from backend.identity import events as identity_events
from backend.identity.models import Child
from backend.verification import services


def _child_details_changed(_sender: Any, *, child_id: int, fields: frozenset[str],
                           user_id: int) -> None:
    child = db.session.get(Child, child_id)
    if child is None:
        return
    # The region ids were just assigned: load the regions they name.
    db.session.flush()
    db.session.expire(child, ["hukou_region", "residence_region"])
    services.ask_again(child, fields, actor_user_id=user_id, actor_role="parent")


def _binding_transferred(_sender: Any, *, old_user_id: int, new_user_id: int,
                         child_ids: list[int]) -> None:
    # The guardian behind the questions now answers to another account: every check of the
    # family's children is asked again (as the system), if the consent stands.
    for child_id in child_ids:
        child = db.session.get(Child, child_id)
        if child is not None:
            services.ask_again(child, frozenset({"guardian"}), actor_user_id=None,
                               actor_role="system")


def connect() -> None:
    """Subscribe every receiver (blinker ignores a receiver connected twice)."""
    identity_events.child_details_changed.connect(_child_details_changed, weak=False)
    identity_events.binding_transferred.connect(_binding_transferred, weak=False)
