"""Domain events: a lower domain announces, a higher one subscribes (blinker signals).

Each domain declares its signals in its own `events.py`; core only gives the one rule for
signals that ask a question.
"""

from __future__ import annotations

from collections.abc import Iterable


def answered_yes(replies: Iterable[tuple[object, object]]) -> bool:
    """Whether any receiver of a question signal (`*_asked`) answered True."""
    return any(answer is True for _receiver, answer in replies)
