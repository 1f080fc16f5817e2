"""Age eligibility (BRIEF §2 rule 2): six years old by the season's cutoff date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Eligibility:
    """Whether a child may register this season, and why, in words a family understands."""

    eligible: bool | None
    reason: str
    season_year: int | None
    age_cutoff: dt.date | None


def _date_cn(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def eligibility(birth_date: dt.date, year: int | None, cutoff: dt.date | None) -> Eligibility:
    """Compare the birth date with a season's year and cutoff (on or before it: eligible).

    `year`/`cutoff` None: there is no season to compare with.
    """
    if year is None or cutoff is None:
        return Eligibility(None, "当前没有招生季，暂无法判断入学年龄", None, None)
    if birth_date > cutoff:
        return Eligibility(
            False, f"未满6周岁：{year}年入学需在{_date_cn(cutoff)}及之前出生", year, cutoff)
    return Eligibility(True, f"符合入学年龄（{_date_cn(cutoff)}及之前出生）", year, cutoff)
