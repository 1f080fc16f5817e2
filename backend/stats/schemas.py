"""Request and response models of the counts API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GROUPINGS = ("school", "status", "basis", "category", "day", "hour", "town")
ShortageLevel = Literal["red", "yellow", "green"]


class StatsQuery(BaseModel):
    """Which grouping, and which season (default: the current one)."""

    model_config = ConfigDict(extra="forbid")
    # A plain string checked by the service, so an unknown value gets its own stable code.
    by: str = Field(default="school", json_schema_extra={"enum": list(GROUPINGS)},
                    description="school | status | basis | category | day | hour | town")
    season: int | None = Field(default=None, ge=1, le=2_147_483_647,
                               description="season id (default: the current season)")


class PublicStatsQuery(BaseModel):
    """Which education authority (default: the deployment's default one)."""

    model_config = ConfigDict(extra="forbid")
    authority: str | None = Field(default=None, max_length=32, description="authority code")


class SeasonRef(BaseModel):
    """The season the counts are about."""

    id: int
    year: int
    stage: str
    name: str


class NamedRef(BaseModel):
    """A school or a town by code and name."""

    code: str
    name: str


class PlanOut(BaseModel):
    """招生计划: classes × class size."""

    classes: int
    class_size: int
    seats: int


class CountItem(BaseModel):
    """One group: its registrations, and those still active (not rejected or withdrawn).

    For `by=school` the item also carries the school's plan and its shortage level.
    """

    key: str = Field(description="status/basis/category key, school or town code, "
                                 "local date (2024-08-05) or local hour (2024-08-05T08)")
    label: str
    registrations: int = Field(description="all registrations in the group")
    active: int = Field(description="registrations neither rejected nor withdrawn")
    school_type: Literal["public", "private"] | None = None
    town: NamedRef | None = None
    plan: PlanOut | None = None
    shortage_level: ShortageLevel | None = Field(
        default=None, description="red: active ≥ seats; yellow: active ≥ the yellow share "
                                  "of seats; green: below; null without a plan")
    all_verified: int | None = Field(
        default=None, description="by=school: active registrations whose every required "
                                  "document a government data source confirmed")
    needs_documents: int | None = Field(
        default=None, description="by=school: active registrations with at least one "
                                  "document for the reviewer to look at")


class Totals(BaseModel):
    """Sums over every item of the answer."""

    registrations: int
    active: int


class StatsOut(BaseModel):
    """Counts of one season in one grouping, as of a moment (Asia/Shanghai time)."""

    season: SeasonRef
    by: str
    as_of: str = Field(description="when the counts were computed from the registrations")
    school: NamedRef | None = Field(description="set for school staff: the only school counted")
    yellow_percent: int = Field(description="share of seats from which a school is yellow")
    totals: Totals
    items: list[CountItem]


class PublicSchool(BaseModel):
    """A school's active registrations against its plan; no personal data."""

    code: str
    name: str
    type: Literal["public", "private"]
    town: NamedRef | None
    active: int = Field(description="registrations neither rejected nor withdrawn")
    plan: PlanOut | None
    shortage_level: ShortageLevel | None


class PublicSeason(BaseModel):
    """One current season's counts per school."""

    season: SeasonRef
    as_of: str
    schools: list[PublicSchool]


class PublicStatsOut(BaseModel):
    """Live counts per school for the public (cached for a few seconds)."""

    authority: NamedRef
    yellow_percent: int
    seasons: list[PublicSeason]
