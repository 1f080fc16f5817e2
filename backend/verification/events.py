"""What the verification domain announces, for the domains above it (registrations).

Sent after the check results are committed (by the worker), so a receiver may read them at
once.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A child's data checks have new results. kwargs: child_ids (list[int]).
checks_changed = _signals.signal("checks-changed")
