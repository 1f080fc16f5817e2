"""Response models of the seasons API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

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


class SeasonList(BaseModel):
    """Published and archived seasons, newest first."""

    items: list[SeasonOut]
