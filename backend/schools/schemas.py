"""Request and response models of the public catalogue (schools, regions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SchoolQuery(BaseModel):
    """Filters of the school list."""

    model_config = ConfigDict(extra="forbid")
    authority: str | None = Field(default=None, max_length=32, description="authority code")
    town: str | None = Field(default=None, max_length=32, description="town region code")


class RegionRef(BaseModel):
    """A region by code and name."""

    code: str
    name: str


class SeatPlanOut(BaseModel):
    """招生计划 of the current season: classes × class size."""

    season_year: int
    classes: int
    class_size: int
    seats: int


class SchoolSummary(BaseModel):
    """A school in the list."""

    code: str
    name: str
    type: Literal["public", "private"]
    authority: str
    town: RegionRef | None
    address: str
    plan: SeatPlanOut | None
    is_sample: bool


class SchoolDetail(SchoolSummary):
    """Everything a family needs to know about one school."""

    contacts: list[dict[str, Any]]
    zone: list[RegionRef] = Field(description="villages/communities in the service zone (划片)")
    required_materials: dict[str, Any]
    implementation_plan: str


class SchoolList(BaseModel):
    """Schools of one authority."""

    items: list[SchoolSummary]


class ZoneLookupQuery(BaseModel):
    """A village/community code from GET /api/v1/regions."""

    model_config = ConfigDict(extra="forbid")
    region_code: str = Field(min_length=1, max_length=32)


class ZoneLookupOut(BaseModel):
    """The school(s) a village/community is zoned to (public and private options)."""

    region: RegionRef
    town: RegionRef | None
    schools: list[SchoolSummary]


class VillageOut(RegionRef):
    """A village or community."""

    level: Literal["village", "community"]


class TownOut(RegionRef):
    """A town with its villages and communities."""

    villages: list[VillageOut]


class RegionList(BaseModel):
    """The address picker: towns → villages/communities."""

    items: list[TownOut]
