"""What the identity domain announces, for the domains built on it to act on.

Identity knows nothing of registrations; registrations (and anything else above it)
subscribe here at start-up (`backend.registrations.init_app`). Signals are sent inside the
request's transaction: a receiver that has work for after the commit uses `after_commit`.

The `*_asked` signals are questions: every receiver answers, and one `True` decides
(`backend.core.events.answered_yes`).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A child was added or its details changed. kwargs: child_ids (list[int]), added (bool).
child_changed = _signals.signal("child-changed")

#: A child's details that data checks ask about changed (sent after the change, inside the
#: transaction). kwargs: child_id (int), fields (frozenset[str] of CHECKED_DETAILS),
#: user_id (int: the account that changed them).
child_details_changed = _signals.signal("child-details-changed")

#: The details `child_details_changed` names: the name, the household region (户籍), the
#: region lived in, and the residence permit (ID number and birth date cannot change).
CHECKED_DETAILS = frozenset({"name", "hukou_region", "residence_region", "residence_permit"})

#: A binding moved to another account, with the family's children and documents: after a
#: dispute, or when a family claims what a school registered for it at the counter (代报名).
#: kwargs: old_user_id, new_user_id (int), child_ids (list[int]).
binding_transferred = _signals.signal("binding-transferred")

#: Asked before a child's details change: answer True if they are locked (e.g. the child
#: has a submission in flight or an active registration). sender: the Child.
child_edit_asked = _signals.signal("child-edit-asked")

