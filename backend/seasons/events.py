"""What the seasons domain announces, for the domains built on it to act on.

Seasons knows nothing of admission: when the bureau sets up a season from an earlier one,
the domains that keep per-season settings (admission: seat plans and priority tiers)
subscribe here at start-up and copy their own. Signals are sent inside the request's
transaction, so a copy is written with the season or not at all.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A season was created from another. sender: the new Season; kwargs: source_season_id (int).
#: Each receiver copies what it keeps and answers a dict of counts (summed for the response).
season_copied = _signals.signal("season-copied")
