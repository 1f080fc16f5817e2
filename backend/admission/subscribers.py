"""What admission does when the seasons domain announces something.

A season set up from an earlier one (`seasons.events.season_copied`) takes over that
season's seat plans (招生计划) and priority tiers (优先顺序), school by school, so next
year's draft can be planned from this year's. Schools and zones are the authority's and
need no copy. Nothing else is copied: lotteries, offers and seat counters belong to the
season they happened in (a counter is made from the plan on first use).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from backend.admission.models import PriorityTier
from backend.core.db import db
from backend.schools.models import SeatPlan
from backend.seasons import events as season_events


def _season_copied(season: Any, *, source_season_id: int) -> dict[str, int]:
    """Copy the source season's seat plans and tiers into the new season; the counts."""
    # 超班额: a plan above today's cap is not carried over; the bureau sets it again.
    cap = int(current_app.config["ADMISSION_CLASS_SIZE_CAP"])
    plans = list(db.session.scalars(select(SeatPlan).where(
        SeatPlan.season_id == source_season_id).order_by(SeatPlan.school_id)))
    kept = [p for p in plans if p.class_size <= cap]
    db.session.add_all(SeatPlan(season_id=season.id, school_id=p.school_id, classes=p.classes,
                                class_size=p.class_size) for p in kept)
    tiers = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == source_season_id)
        .order_by(PriorityTier.school_id, PriorityTier.rank)))
    db.session.add_all(PriorityTier(season_id=season.id, school_id=t.school_id, rank=t.rank,
                                    key=t.key, label=t.label, rule=dict(t.rule)) for t in tiers)
    db.session.flush()
    return {"seat_plans": len(kept), "seat_plans_over_cap": len(plans) - len(kept),
            "priority_tiers": len({t.school_id for t in tiers})}


def connect() -> None:
    """Subscribe every receiver (blinker ignores a receiver connected twice)."""
    season_events.season_copied.connect(_season_copied, weak=False)
