"""Seasons: where a season stands at a given moment, and the bureau's season set-up."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, scoped_session, selectinload

from backend.accounts import scope
from backend.accounts.models import User
from backend.audit.services import client_fingerprint, record_audit
from backend.authorities.models import EducationAuthority
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import zone
from backend.seasons import events
from backend.seasons.models import Season, SeasonPhase, SeasonStatus

logger = logging.getLogger(__name__)

REGISTRATION_PHASE = "registration"


def season_state(season: Season, now: dt.datetime) -> tuple[str, SeasonPhase | None]:
    """The season's state at `now` and the phase in progress (latest started wins)."""
    current = None
    for phase in season.phases:
        if phase.starts_at <= now < phase.ends_at and (
            current is None or phase.starts_at >= current.starts_at
        ):
            current = phase
    if season.status is SeasonStatus.ARCHIVED:
        return "archived", None
    if season.registration_opens_at <= now < season.registration_closes_at:
        return "registration_open", current
    starts = min([p.starts_at for p in season.phases] + [season.registration_opens_at])
    ends = max([p.ends_at for p in season.phases] + [season.registration_closes_at])
    if now < starts:
        return "upcoming", None
    if now >= ends:
        return "finished", None
    return "in_progress", current


def current_season(authority_id: int, now: dt.datetime | None = None) -> Season:
    """The published season families should see: the open or next one, else the latest."""
    now = now or utcnow()
    seasons = list(db.session.scalars(
        select(Season)
        .where(Season.authority_id == authority_id, Season.status == SeasonStatus.PUBLISHED)
        .options(selectinload(Season.phases))
        .order_by(Season.registration_opens_at)
    ))
    if not seasons:
        raise ApiError(404, "NO_CURRENT_SEASON", "当前没有进行中的招生季")
    for season in seasons:
        if season.registration_closes_at > now:
            return season
    return seasons[-1]


def list_public_seasons(authority_id: int) -> list[Season]:
    """Published and archived seasons of an authority, newest first."""
    return list(db.session.scalars(
        select(Season)
        .where(Season.authority_id == authority_id, Season.status != SeasonStatus.DRAFT)
        .options(selectinload(Season.phases))
        .order_by(Season.year.desc(), Season.id.desc())
    ))


# --- the bureau's season set-up -------------------------------------------------------------
#
# Rules (docs/CONSOLE.md, 招生日程):
# - a new season is a draft, unique per (authority, stage, year); only drafts are private;
# - the `registration` phase is the registration window: it follows the window and may not
#   say otherwise;
# - once a published season's window has opened, families have registered under it: its
#   opening time and age rule are fixed, and its closing time may move later or earlier but
#   never before now (closing it retroactively would strand registrations sent meanwhile);
# - two published seasons of one authority and stage never have overlapping windows, so
#   the intake always knows which season a submission belongs to;
# - archived seasons are history and do not change.

STATUS_CONFLICT_MESSAGE = "招生季的状态已变化，请刷新后重试"


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a timeline (a given time without offset is local time)."""

    key: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class SeasonDraft:
    """A new season as given (times without offset are local); None: default or copied."""

    year: int
    name: str
    stage: str | None = None
    copy_from_season_id: int | None = None
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    age_cutoff: dt.date | None = None
    must_read_notice: str | None = None
    purge_personal_data_after: dt.date | None = None
    phases: list[PhaseSpec] | None = None


@dataclass(frozen=True)
class CopyCounts:
    """What a copy took over (see seasons.events.season_copied)."""

    from_season_id: int
    counts: dict[str, int]
    phases: int


def to_minute(value: dt.datetime, zone_name: str | None = None) -> dt.datetime:
    """A given time in UTC, to the minute; one without an offset is local time."""
    aware = value if value.tzinfo else value.replace(tzinfo=zone(zone_name))
    return aware.astimezone(dt.UTC).replace(second=0, microsecond=0)


def _shift_date(value: dt.date, years: int) -> dt.date:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February in a common year
        return value.replace(year=value.year + years, day=28)


def shift_years(value: dt.datetime, years: int, zone_name: str | None = None) -> dt.datetime:
    """The same local wall-clock minute `years` later (29 February becomes the 28th)."""
    local = value.astimezone(zone(zone_name))
    day = _shift_date(local.date(), years)
    return to_minute(dt.datetime.combine(day, local.time().replace(tzinfo=None),
                                         tzinfo=zone(zone_name)))


class FieldErrors:
    """422 VALIDATION_FAILED with every field at fault, in the shape `@api` uses."""

    def __init__(self) -> None:
        self.fields: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        """One field's problem."""
        self.fields.append({"field": field, "type": "value_error", "message": message})

    def raise_any(self) -> None:
        """Raise the 422 when any field was at fault."""
        if self.fields:
            raise ApiError(422, "VALIDATION_FAILED", "提交的信息有误，请检查后重试",
                           details={"fields": self.fields})


def _check_season(errors: FieldErrors, *, year: int, opens: dt.datetime, closes: dt.datetime,
                  age_cutoff: dt.date, purge_after: dt.date | None, zone_name: str,
                  phases: list[PhaseSpec] | None) -> None:
    """The rules of one season's values (adds to `errors`)."""
    if closes <= opens:
        errors.add("registration_closes_at", "报名截止时间须晚于开始时间")
    # Age rule: six by 31 August of the season's year (BRIEF §2 rule 2); a cutoff years off is
    # a typing slip, not a policy.
    if not year - 7 <= age_cutoff.year <= year - 5:
        errors.add("age_cutoff", f"出生日期截止日应在 {year - 7}–{year - 5} 年之间")
    if purge_after is not None and purge_after <= closes.astimezone(zone(zone_name)).date():
        errors.add("purge_personal_data_after", "个人信息删除日期须晚于报名截止日期")
    if phases is None:
        return
    seen: set[str] = set()
    for n, phase in enumerate(phases):
        if phase.key in seen:
            errors.add(f"phases.{n}.key", "阶段标识不能重复")
        seen.add(phase.key)
        if phase.ends_at <= phase.starts_at and phase.key != REGISTRATION_PHASE:
            errors.add(f"phases.{n}.ends_at", "结束时间须晚于开始时间")
        window = (to_minute(opens), to_minute(closes))
        if phase.key == REGISTRATION_PHASE and (phase.starts_at, phase.ends_at) != window:
            errors.add(f"phases.{n}.starts_at", "“网上报名”阶段即报名时间，请修改报名时间")


def _audit(user: User, action: str, season: Season, client_address: str | None,
           **details: Any) -> None:
    record_audit(db.session, action=action, actor_user_id=user.id, actor_role=user.role.value,
                 object_type="season", object_id=season.id,
                 client_fingerprint=client_fingerprint(client_address), details=details)


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def admin_seasons(user: User) -> list[Season]:
    """Every season of the caller's authority, drafts included, newest first."""
    return list(db.session.scalars(
        select(Season).where(scope.covers_authority(user, Season.authority_id))
        .options(selectinload(Season.phases))
        .order_by(Season.year.desc(), Season.stage, Season.id.desc())))


def admin_season(user: User, season_id: int) -> Season:
    """One season of the caller's authority (404 SEASON_NOT_FOUND otherwise)."""
    return scope.season(user, season_id)


def _year_taken(authority_id: int, stage: str, year: int) -> None:
    if db.session.scalar(select(Season.id).where(
            Season.authority_id == authority_id, Season.stage == stage, Season.year == year)):
        raise ApiError(409, "SEASON_YEAR_TAKEN", f"{year} 年度的该学段招生季已存在",
                       details={"year": year, "stage": stage})


def _phases(season: Season, phases: list[PhaseSpec]) -> None:
    season.phases.clear()
    db.session.flush()  # the old keys go before the new ones arrive (unique per season)
    season.phases.extend(SeasonPhase(key=p.key, name=p.name, starts_at=p.starts_at,
                                     ends_at=p.ends_at) for p in phases)


def _with_window(phases: list[PhaseSpec], opens: dt.datetime,
                 closes: dt.datetime) -> list[PhaseSpec]:
    """The phases with the registration phase moved to the window."""
    return [PhaseSpec(p.key, p.name, opens, closes) if p.key == REGISTRATION_PHASE else p
            for p in phases]


def _normalized(phases: list[PhaseSpec], zone_name: str) -> list[PhaseSpec]:
    return [PhaseSpec(p.key, p.name, to_minute(p.starts_at, zone_name),
                      to_minute(p.ends_at, zone_name)) for p in phases]


def _window(draft: SeasonDraft, source: Season | None, shift: int,
            zone_name: str | None) -> tuple[dt.datetime, dt.datetime]:
    """The window given, else the source's shifted by `shift` years (422 when neither)."""
    errors = FieldErrors()
    times = []
    for field, given, theirs in (
            ("registration_opens_at", draft.opens_at,
             source.registration_opens_at if source else None),
            ("registration_closes_at", draft.closes_at,
             source.registration_closes_at if source else None)):
        if given is not None:
            times.append(to_minute(given, zone_name))
        elif theirs is not None:
            times.append(shift_years(theirs, shift, zone_name))
        else:
            errors.add(field, "此项必填")
    errors.raise_any()
    return times[0], times[1]


def create_season(user: User, draft: SeasonDraft,
                  client_address: str | None) -> tuple[Season, CopyCounts | None]:
    """A new draft season, optionally set up from an earlier one of the authority."""
    authority_id = scope.authority_id(user)
    source = scope.season(user, draft.copy_from_season_id) if draft.copy_from_season_id else None
    authority = db.session.get(EducationAuthority, authority_id)
    zone_name = authority.timezone if authority else None
    shift = draft.year - source.year if source else 0
    opens, closes = _window(draft, source, shift, zone_name)
    stage = draft.stage or (source.stage if source else "primary")
    age_cutoff = draft.age_cutoff or (
        _shift_date(source.age_cutoff, shift) if source else dt.date(draft.year - 6, 8, 31))
    purge_after = draft.purge_personal_data_after or (
        _shift_date(source.purge_personal_data_after, shift)
        if source and source.purge_personal_data_after else None)
    if draft.phases is not None:
        phases = _normalized(draft.phases, zone_name or "")
    elif source is not None:
        phases = _with_window([PhaseSpec(p.key, p.name, shift_years(p.starts_at, shift, zone_name),
                                         shift_years(p.ends_at, shift, zone_name))
                               for p in source.phases], opens, closes)
    else:
        phases = [PhaseSpec(REGISTRATION_PHASE, "网上报名", opens, closes)]
    errors = FieldErrors()
    _check_season(errors, year=draft.year, opens=opens, closes=closes, age_cutoff=age_cutoff,
                  purge_after=purge_after, zone_name=zone_name or "", phases=phases)
    errors.raise_any()
    _year_taken(authority_id, stage, draft.year)
    notice = draft.must_read_notice if draft.must_read_notice is not None else (
        source.must_read_notice if source else "")
    season = Season(authority_id=authority_id, year=draft.year, stage=stage, name=draft.name,
                    age_cutoff=age_cutoff, registration_opens_at=opens,
                    registration_closes_at=closes, status=SeasonStatus.DRAFT,
                    purge_personal_data_after=purge_after, must_read_notice=notice)
    db.session.add(season)
    _phases(season, phases)
    db.session.flush()
    copied = None
    if source is not None:
        counts: Counter[str] = Counter()
        for _receiver, reply in events.season_copied.send(season, source_season_id=source.id):
            if isinstance(reply, dict):
                counts.update(reply)
        copied = CopyCounts(from_season_id=source.id, counts=dict(counts), phases=len(phases))
    _audit(user, "season.create", season, client_address, year=season.year, stage=stage,
           copy_from_season_id=source.id if source else None,
           copied=copied.counts if copied else None)
    logger.info("season created actor_user_id=%s season_id=%s copy_from=%s", user.id,
                season.id, source.id if source else None)
    return season, copied


def _locked(user: User, season_id: int) -> Season:
    """The caller's season, row-locked, as the database has it now."""
    season = scope.season(user, season_id)
    db.session.execute(select(Season.id).where(Season.id == season.id).with_for_update())
    db.session.refresh(season)
    refuse_archived(season)
    return season


def refuse_archived(season: Season) -> None:
    """409 SEASON_ARCHIVED: an archived season is the record of what happened (公开透明)."""
    if season.status is SeasonStatus.ARCHIVED:
        raise ApiError(409, "SEASON_ARCHIVED", "招生季已归档，不能再修改")


def _no_overlap(season: Season, opens: dt.datetime, closes: dt.datetime) -> None:
    """409 WINDOW_OVERLAP when another published season of the stage has an overlapping window."""
    # Publishing and window changes of one authority queue up on its row.
    db.session.execute(select(EducationAuthority.id).where(
        EducationAuthority.id == season.authority_id).with_for_update())
    other = db.session.scalar(select(Season).where(
        Season.authority_id == season.authority_id, Season.stage == season.stage,
        Season.status == SeasonStatus.PUBLISHED, Season.id != season.id,
        Season.registration_opens_at < closes, Season.registration_closes_at > opens))
    if other is not None:
        raise ApiError(409, "WINDOW_OVERLAP",
                       f"报名时间与已发布的“{other.name}”重叠，同一学段同时只能有一个报名时间",
                       details={"season_id": other.id})


def _published_window_rules(season: Season, opens: dt.datetime, closes: dt.datetime,
                            age_cutoff: dt.date, now: dt.datetime) -> None:
    """What may change once families may have registered under a published season."""
    if season.status is not SeasonStatus.PUBLISHED or season.registration_opens_at > now:
        return
    if opens != season.registration_opens_at:
        raise ApiError(409, "REGISTRATION_ALREADY_OPENED",
                       "报名已经开始，开始时间不能再修改（可调整截止时间）")
    if age_cutoff != season.age_cutoff:
        raise ApiError(409, "AGE_CUTOFF_FIXED", "报名已经开始，入学年龄规则不能再修改")
    if closes != season.registration_closes_at and closes < now:
        raise ApiError(409, "WINDOW_CLOSES_IN_PAST", "截止时间不能早于当前时间",
                       details={"fields": [{"field": "registration_closes_at",
                                            "type": "value_error",
                                            "message": "截止时间不能早于当前时间"}]})


def _settings(season: Season) -> dict[str, str | None]:
    """What the audit records of a change (the notice only as changed or not)."""
    return {"name": season.name, "registration_opens_at": _iso(season.registration_opens_at),
            "registration_closes_at": _iso(season.registration_closes_at),
            "age_cutoff": _iso(season.age_cutoff),
            "purge_personal_data_after": _iso(season.purge_personal_data_after)}


def update_season(user: User, season_id: int, changes: dict[str, Any],
                  client_address: str | None, now: dt.datetime | None = None) -> Season:
    """Change a season's name, window, age rule, must-read notice or purge date."""
    now = now or utcnow()
    season = _locked(user, season_id)
    zone_name = season.authority.timezone
    # Left out or null: unchanged (only the purge date may be cleared with null).
    changes = {k: v for k, v in changes.items()
               if v is not None or k == "purge_personal_data_after"}
    for key in ("registration_opens_at", "registration_closes_at"):
        if key in changes:
            changes[key] = to_minute(changes[key], zone_name)
    opens = changes.get("registration_opens_at", season.registration_opens_at)
    closes = changes.get("registration_closes_at", season.registration_closes_at)
    age_cutoff = changes.get("age_cutoff", season.age_cutoff)
    purge_after = changes.get("purge_personal_data_after", season.purge_personal_data_after)
    errors = FieldErrors()
    _check_season(errors, year=season.year, opens=opens, closes=closes, age_cutoff=age_cutoff,
                  purge_after=purge_after, zone_name=zone_name, phases=None)
    errors.raise_any()
    if "purge_personal_data_after" in changes and season.personal_data_purged_at is not None \
            and purge_after != season.purge_personal_data_after:
        raise ApiError(409, "PERSONAL_DATA_PURGED", "本招生季的个人信息已删除，不能再修改删除日期")
    _published_window_rules(season, opens, closes, age_cutoff, now)
    window_moved = (opens, closes) != (season.registration_opens_at,
                                       season.registration_closes_at)
    if window_moved and season.status is SeasonStatus.PUBLISHED:
        _no_overlap(season, opens, closes)
    before = _settings(season)
    season.name = changes.get("name", season.name)
    season.registration_opens_at, season.registration_closes_at = opens, closes
    season.age_cutoff, season.purge_personal_data_after = age_cutoff, purge_after
    notice_changed = ("must_read_notice" in changes
                      and changes["must_read_notice"] != season.must_read_notice)
    season.must_read_notice = changes.get("must_read_notice", season.must_read_notice)
    if window_moved:
        for phase in season.phases:
            if phase.key == REGISTRATION_PHASE:
                phase.starts_at, phase.ends_at = opens, closes
    after = _settings(season)
    changed = {k: {"before": before[k], "after": after[k]} for k in before
               if before[k] != after[k]}
    db.session.flush()
    _audit(user, "season.update", season, client_address, status=season.status.value,
           changed=changed, must_read_notice_changed=notice_changed,
           registration_open=season.registration_opens_at <= now < season.registration_closes_at)
    logger.info("season updated actor_user_id=%s season_id=%s fields=%s", user.id, season.id,
                sorted(changed))
    return season


def replace_phases(user: User, season_id: int, phases: list[PhaseSpec],
                   client_address: str | None) -> Season:
    """Replace the season's timeline (the registration phase must match the window)."""
    season = _locked(user, season_id)
    phases = _normalized(phases, season.authority.timezone)
    errors = FieldErrors()
    _check_season(errors, year=season.year, opens=season.registration_opens_at,
                  closes=season.registration_closes_at, age_cutoff=season.age_cutoff,
                  purge_after=None, zone_name=season.authority.timezone, phases=phases)
    errors.raise_any()
    before = [p.key for p in season.phases]
    phases = _with_window(phases, season.registration_opens_at, season.registration_closes_at)
    _phases(season, phases)
    db.session.flush()
    db.session.refresh(season)
    _audit(user, "season.phases", season, client_address, status=season.status.value,
           before=before, after=[{"key": p.key, "starts_at": _iso(p.starts_at),
                                  "ends_at": _iso(p.ends_at)} for p in phases])
    return season


def _move(user: User, season: Season, source: SeasonStatus, target: SeasonStatus) -> None:
    """Compare-and-set the season's status (409 SEASON_STATE_CONFLICT when it moved)."""
    moved = db.session.execute(
        update(Season).where(Season.id == season.id, Season.status == source)
        .values(status=target, updated_at=utcnow()).execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(season)
        raise ApiError(409, "SEASON_STATE_CONFLICT", STATUS_CONFLICT_MESSAGE,
                       details={"status": season.status.value, "expected": source.value})
    db.session.refresh(season)


def publish_season(user: User, season_id: int, client_address: str | None) -> Season:
    """Draft → published: families see it (the current season is the open or next one)."""
    season = scope.season(user, season_id)
    if season.status is not SeasonStatus.DRAFT:
        raise ApiError(409, "SEASON_STATE_CONFLICT", STATUS_CONFLICT_MESSAGE,
                       details={"status": season.status.value, "expected": "draft"})
    _no_overlap(season, season.registration_opens_at, season.registration_closes_at)
    _move(user, season, SeasonStatus.DRAFT, SeasonStatus.PUBLISHED)
    _audit(user, "season.publish", season, client_address, year=season.year,
           stage=season.stage)
    logger.info("season published actor_user_id=%s season_id=%s", user.id, season.id)
    return season


def archive_season(user: User, season_id: int, client_address: str | None,
                   now: dt.datetime | None = None) -> Season:
    """Published → archived (history); never while its registration window is open."""
    now = now or utcnow()
    season = scope.season(user, season_id)
    if season.status is SeasonStatus.PUBLISHED and \
            season.registration_opens_at <= now < season.registration_closes_at:
        raise ApiError(409, "REGISTRATION_OPEN", "报名正在进行中，报名截止后才能归档")
    _move(user, season, SeasonStatus.PUBLISHED, SeasonStatus.ARCHIVED)
    _audit(user, "season.archive", season, client_address, year=season.year,
           stage=season.stage)
    logger.info("season archived actor_user_id=%s season_id=%s", user.id, season.id)
    return season


def season_authority(session: Session | scoped_session[Session], season_id: object) -> int | None:
    """The authority a season id belongs to (None for no such season): for queued messages
    that name a season."""
    return session.scalar(select(Season.authority_id).where(Season.id == int(str(season_id))))
