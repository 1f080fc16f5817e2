"""Response models of the seasons API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SeasonState = Literal["upcoming", "in_progress", "registration_open", "finished", "archived"]


class AuthorityQuery(BaseModel):
    """Which education authority (default: the deployment's default one)."""

    model_config = ConfigDict(extra="forbid")
    authority: str | None = Field(default=None, max_length=32, description="authority code")


class PhaseOut(BaseModel):
    """One step of the season timeline, in Asia/Shanghai time."""

    key: str
    name: str
    starts_at: str
    ends_at: str


class MustReadSection(BaseModel):
    """One section of the 报名须知."""

    title: str
    text: str


class SeasonOut(BaseModel):
    """A season with its timeline and where it stands now."""

    id: int
    authority: str
    year: int
    stage: str
    name: str
    age_cutoff: dt.date = Field(description="a child must be born on or before this date")
    phases: list[PhaseOut]
    registration_opens_at: str
    registration_closes_at: str
    state: SeasonState
    current_phase: str | None = Field(description="key of the phase in progress, if any")
    is_sample: bool
    fairness_notice: str = "报名先后不影响录取"
    must_read_notice: str = Field(
        default="", description="报名须知: the season's own text, shown with the standard "
                                "notice before a family's first registration (may be empty)")
    must_read: list[MustReadSection] = Field(
        default_factory=list, description="the whole 报名须知 to show, standard sections with "
                                          "the season's dates first, must_read_notice last")


class SeasonList(BaseModel):
    """Published and archived seasons, newest first."""

    items: list[SeasonOut]


# --- the bureau's season set-up --------------------------------------------------------------

_TIME = "ISO 8601; a time without offset is Asia/Shanghai; kept to the minute"
SeasonStatusName = Literal["draft", "published", "archived"]
STATUS_NAMES = {"draft": "草稿", "published": "已发布", "archived": "已归档"}
SHARED_CATALOGUE = ("学校、乡镇村（社区）和招生片区由本教育局各招生季共用，不随招生季复制，"
                    "新招生季沿用当前的学校和片区")
MAX_NOTICE = 5000
Stage = Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,19}$", description="e.g. primary")]


class PhaseIn(BaseModel):
    """One step of the timeline; the `registration` phase is the registration window."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="e.g. registration")
    name: str = Field(min_length=1, max_length=100)
    starts_at: dt.datetime = Field(description=_TIME)
    ends_at: dt.datetime = Field(description=_TIME)


class PhasesIn(BaseModel):
    """The season's whole timeline, replacing the one it has."""

    model_config = ConfigDict(extra="forbid")
    phases: list[PhaseIn] = Field(max_length=20)


class SeasonCreateIn(BaseModel):
    """A new season (a draft); with `copy_from_season_id`, set up from that season.

    Copying brings the seat plans, priority tiers, must-read notice, age rule, purge date and
    timeline (shifted by the difference in years) unless given here. Schools and zones are
    the authority's, shared by every season: they are not copied.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    year: int = Field(ge=2000, le=2100)
    name: str = Field(min_length=1, max_length=100)
    stage: Stage | None = Field(default=None, description="default: the source's, or primary")
    copy_from_season_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    registration_opens_at: dt.datetime | None = Field(
        default=None, description=f"{_TIME}; required without copy_from_season_id")
    registration_closes_at: dt.datetime | None = Field(
        default=None, description=f"{_TIME}; required without copy_from_season_id")
    age_cutoff: dt.date | None = Field(
        default=None, description="born on or before this date (default: 31 August, six "
                                  "years before the season's year; or the source's, shifted)")
    must_read_notice: str | None = Field(default=None, max_length=MAX_NOTICE)
    purge_personal_data_after: dt.date | None = None
    phases: list[PhaseIn] | None = Field(
        default=None, max_length=20,
        description="default: the source's, shifted; or the registration window alone")


class SeasonPatchIn(BaseModel):
    """Changes to a season; fields left out stay as they are (purge date: null clears it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    registration_opens_at: dt.datetime | None = Field(default=None, description=_TIME)
    registration_closes_at: dt.datetime | None = Field(default=None, description=_TIME)
    age_cutoff: dt.date | None = None
    must_read_notice: str | None = Field(default=None, max_length=MAX_NOTICE)
    purge_personal_data_after: dt.date | None = None


class AdminSeasonOut(SeasonOut):
    """A season as the bureau sets it up, drafts included."""

    status: SeasonStatusName
    status_name: str
    purge_personal_data_after: dt.date | None
    personal_data_purged_at: str | None
    updated_at: str


class AdminSeasonList(BaseModel):
    """Every season of the caller's authority, newest first."""

    items: list[AdminSeasonOut]


class CopySummary(BaseModel):
    """What a new season took over from the season it was copied from."""

    from_season_id: int
    seat_plans: int = Field(description="schools whose seat plan was copied")
    seat_plans_over_cap: int = Field(
        description="plans not copied: their class size is above today's cap")
    priority_tiers: int = Field(description="schools whose priority tiers were copied")
    phases: int
    shared: str = Field(default=SHARED_CATALOGUE,
                        description="schools and zones belong to the authority, not the season")


class SeasonCreatedOut(AdminSeasonOut):
    """The new draft season, and what was copied into it."""

    copied: CopySummary | None
