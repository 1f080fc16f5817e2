"""Priority tiers (优先顺序): each school's ordered rules and the tier an applicant is in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from backend.accounts import scope
from backend.accounts.models import User
from backend.admission.models import Lottery, LotteryStatus, PriorityTier
from backend.audit.services import client_fingerprint, record_audit
from backend.core.db import db
from backend.core.errors import ApiError
from backend.identity.models import Child
from backend.registrations.models import Registration
from backend.seasons.services import refuse_archived

# BRIEF §2 rule 7 and the county plan: 优抚对象 get their educational preference (served
# first), disabled children are placed near home in an ordinary class (随班就读, 就近安排);
# then household registration and residence in the zone, household registration alone,
# residence-permit holders living in the zone (随迁子女, 以公办学校接收为主), everyone else.
DEFAULT_TIERS: tuple[dict[str, Any], ...] = (
    {"key": "preferential", "label": "优抚对象子女及随班就读残疾儿童",
     "rule": {"categories_any": ["martyr_child", "military_child", "police_hero_child",
                                 "other_entitled", "disability"]}},
    {"key": "hukou_and_residence", "label": "户籍和实际居住地均在片区内",
     "rule": {"hukou_in_zone": True, "residence_in_zone": True}},
    {"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}},
    {"key": "residence_permit", "label": "持居住证在片区内居住（随迁子女）",
     "rule": {"residence_permit": True, "residence_in_zone": True}},
    {"key": "others", "label": "其他", "rule": {}},
)
RULE_KEYS = ("hukou_in_zone", "residence_in_zone", "residence_permit", "out_of_zone",
             "categories_any")


def tiers_for(season_id: int, school_id: int) -> list[dict[str, Any]]:
    """The school's ordered tier rules for the season (the default list when none is set)."""
    rows = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == season_id, PriorityTier.school_id == school_id)
        .order_by(PriorityTier.rank)))
    if not rows:
        return [{"rank": n, **t} for n, t in enumerate(DEFAULT_TIERS, start=1)]
    return [{"rank": r.rank, "key": r.key, "label": r.label, "rule": dict(r.rule)}
            for r in rows]


def tiers_configured(season_id: int, school_id: int) -> bool:
    """Whether the bureau set the school's tiers (else the defaults apply)."""
    return db.session.scalar(select(func.count()).select_from(PriorityTier).where(
        PriorityTier.season_id == season_id, PriorityTier.school_id == school_id)) != 0


def real_lottery(season_id: int, school_id: int) -> Lottery | None:
    """The school's real (not practice) lottery of the season, unless cancelled."""
    return db.session.scalar(select(Lottery).where(
        Lottery.season_id == season_id, Lottery.school_id == school_id,
        Lottery.is_practice.is_(False), Lottery.status != LotteryStatus.CANCELLED))


def set_tiers(user: User, season_id: int, school_id: int, tiers: Sequence[dict[str, Any]],
              client_address: str | None) -> list[dict[str, Any]]:
    """Replace the school's ordered tier rules; fixed once its real lottery is frozen."""
    season = scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    # The tiers of an archived season are the rules its lottery (if any) was drawn by.
    refuse_archived(season)
    if real_lottery(season.id, school.id) is not None:
        raise ApiError(409, "TIERS_FROZEN", "该校已冻结派位名单，优先顺序不能再修改")
    if not tiers or tiers[-1]["rule"]:
        # Everyone must land in some tier: an unmatched applicant would silently vanish.
        raise ApiError(422, "LAST_TIER_MUST_MATCH_ALL", "最后一档须为“其他”（不设条件）")
    keys = [t["key"] for t in tiers]
    if len(set(keys)) != len(keys):
        raise ApiError(422, "DUPLICATE_TIER_KEY", "优先档次的标识不能重复")
    old = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == season.id, PriorityTier.school_id == school.id)))
    before = [{"key": t.key, "rule": t.rule} for t in sorted(old, key=lambda t: t.rank)]
    for row in old:
        db.session.delete(row)
    db.session.flush()
    for rank, tier in enumerate(tiers, start=1):
        db.session.add(PriorityTier(season_id=season.id, school_id=school.id, rank=rank,
                                    key=tier["key"], label=tier["label"],
                                    rule=dict(tier["rule"])))
    db.session.flush()
    record_audit(db.session, action="admission.tiers", actor_user_id=user.id,
                 actor_role=user.role.value, object_type="school", object_id=school.id,
                 client_fingerprint=client_fingerprint(client_address),
                 details={"season_id": season.id, "before": before,
                          "after": [{"key": t["key"], "rule": t["rule"]} for t in tiers]})
    return tiers_for(season.id, school.id)


def applicant_facts(registration: Registration, child: Child,
                    zone_region_ids: set[int]) -> dict[str, Any]:
    """What the tier rules look at, for one approved registration."""
    residence = child.residence_region_id or child.hukou_region_id
    return {
        "hukou_in_zone": child.hukou_region_id in zone_region_ids,
        # No separate residence given: the child lives at the household address.
        "residence_in_zone": residence in zone_region_ids,
        "residence_permit": bool(child.residence_permit),
        "out_of_zone": registration.out_of_zone,
        "categories": set(child.categories or []),
    }


def matches(rule: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether an applicant's facts satisfy every condition of a rule ({} matches all)."""
    for key, wanted in rule.items():
        if key == "categories_any":
            if facts["categories"].isdisjoint(wanted):
                return False
        elif facts.get(key) != wanted:
            return False
    return True


def tier_of(tiers: Sequence[dict[str, Any]], facts: dict[str, Any]) -> int:
    """The rank of the first tier whose rule the applicant satisfies."""
    for tier in tiers:
        if matches(tier["rule"], facts):
            return int(tier["rank"])
    return int(tiers[-1]["rank"]) + 1  # unreachable: the last rule matches everyone

