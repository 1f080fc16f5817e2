"""What the audit log asks the domains above it (blinker signals).

The log knows objects only by type and id; which objects concern one child is known to the
registrations domain, which answers `child_subject_asked` (connected at start-up by
`backend.registrations.init_app`). Nobody answering means the child is not the caller's to
see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blinker import Namespace

_signals = Namespace()


@dataclass(frozen=True)
class AuditSubject:
    """A child as the audit filter sees it: a masked label, the objects about it (type and a
    SELECT of their ids as text), and a SELECT of its registrations' ids (events that name
    a registration in their details, e.g. a placement, count too)."""

    label: str
    objects: tuple[tuple[str, Any], ...]
    registration_ids: Any


#: Asked with kwargs user (the staff member) and child_id: answer an AuditSubject when the
#: child is in the user's scope, else None.
child_subject_asked = _signals.signal("audit-child-subject-asked")
