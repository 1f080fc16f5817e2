"""Shared admission helpers: the applicant's pseudonymous id and a school's time zone."""

from __future__ import annotations

from backend.core import pii
from backend.schools.models import School

PSEUDONYM_PURPOSE = "admission.pseudonym"


def school_zone(school: School) -> str:
    """The time zone of the school's authority (Asia/Shanghai when none is set)."""
    return school.authority.timezone or "Asia/Shanghai"


def pseudonym(season_id: int, child_id: int) -> str:
    """The child's pseudonymous applicant id in a season: stable, keyed, not reversible.

    The HMAC uses the never-rotating blind-index key, so the id (and with it the lottery
    number) is the same however often the family withdraws and applies again.
    """
    digest = pii.blind_index(f"{season_id}:{child_id}", PSEUDONYM_PURPOSE)[:16].upper()
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))
