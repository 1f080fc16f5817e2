"""Live registration counts: a per-season snapshot derived from the registrations.

Reading: a request sums a few hundred precomputed cells (`registration_counts`), so it costs
the same on 1,000 or 1,000,000 registrations. Refreshing: one statement counts the whole
season again (exact by construction, nothing incremental to drift) and only the cells that
changed are written. A reader that finds the snapshot older than the refresh interval asks
the worker for a refresh (at most one queued per season); one that finds it older than the
staleness bound (worker down, nobody read for a while) refreshes it in the request. The
interval grows with the cost of a refresh, so refreshing never takes more than a fixed share
of the database. Nothing in the code that writes registrations has to know about any of
this. docs/STATS.md has the design and the measurements.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app, g, has_app_context
from sqlalchemy import String as SqlString
from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, joinedload

from backend.accounts import scope
from backend.accounts.models import User
from backend.authorities.services import resolve_authority
from backend.core.auth import STAFF, caller_token, session_admitted
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.core.redis import redis_store
from backend.core.sessions import session_key
from backend.core.timeutil import local_iso, zone
from backend.identity.categories import CATEGORIES
from backend.identity.models import Child
from backend.registrations.models import (
    INACTIVE_STATUSES,
    Basis,
    Registration,
    RegistrationStatus,
)
from backend.registrations.requirements import all_verified, confirmed_facts, confirmed_in
from backend.registrations.schemas import STATUS_NAMES
from backend.schools.models import Region, School, SeatPlan
from backend.seasons.models import Season, SeasonStatus
from backend.stats.models import CountSnapshot, RegistrationCount
from backend.stats.schemas import GROUPINGS, PublicStatsOut, StatsOut

logger = logging.getLogger(__name__)

COUNTS = cast(Table, RegistrationCount.__table__)

# Defaults; each can be overridden by the app config key of the same name.
# 红黄绿 (as Hangzhou publishes): red when active registrations reach the plan's seats,
# yellow from this share of the seats, green below it.
STATS_YELLOW_PERCENT = 80
# A reader asks the worker for a refresh once the snapshot is older than this …
STATS_REFRESH_SECONDS = 5.0
# … or than this many times the last refresh's duration, whichever is longer: refreshing
# then takes at most 1/5 of one database core, however large the season.
STATS_REFRESH_COST_FACTOR = 5.0
# Older than this (worker down, nobody looked for a while): the reader refreshes it itself.
STATS_MAX_STALENESS_SECONDS = 120.0
# The public page's answer is cached in Redis this long (it is read by many families).
STATS_PUBLIC_CACHE_SECONDS = 5
# An admin or staff answer is kept this long for the same snapshot (a refresh changes it at
# once; this bounds how long an edited plan or school name takes to show).
STATS_ANSWER_CACHE_SECONDS = 5

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NONE_KEY = "none"
VERIFIED_KEY = "all_verified"  # every requirement confirmed by a government data source
DOCUMENTS_KEY = "needs_documents"
INACTIVE = frozenset(s.value for s in INACTIVE_STATUSES)
BASIS_NAMES = {"hukou": "户籍", "residence": "实际居住地", "residence_permit": "居住证"}

Cell = tuple[str, int, str]  # (dimension, school id, key)


def setting(name: str) -> Any:
    """A stats setting: the app config's value if set, else this module's default."""
    default = globals()[name]
    if has_app_context():
        return type(default)(current_app.config.get(name, default))
    return default


# --- computing the snapshot ----------------------------------------------------------


def _utc_hour(dialect: str) -> Any:
    """The registration's UTC hour as text, 'YYYY-MM-DD HH' (bucketed by the database)."""
    # Constants as SQL text, not parameters: the GROUP BY must repeat the select's expression.
    if dialect == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), Registration.created_at),
                            literal_column("'YYYY-MM-DD HH24'"))
    return func.strftime(literal_column("'%Y-%m-%d %H'"), Registration.created_at)


def _count_statement(season_id: int, dialect: str) -> Any:
    """One statement (so one consistent view of the data) with two groupings of the season.

    'z' rows: school × status × basis × zoning region × categories × all verified (needs
    the children and their data checks);
    'h' rows: school × status × UTC hour (the registrations alone).
    """
    status = sql_cast(Registration.status, SqlString)
    # The region the registration is zoned by, as the intake decides it: household
    # registration for hukou, the residence for residence and residence permit.
    zoning = case((Registration.basis == literal_column(f"'{Basis.HUKOU.value}'"),
                   Child.hukou_region_id),
                  else_=Child.residence_region_id)
    categories = sql_cast(Child.categories, SqlString)
    # Every requirement confirmed by a source (registrations.requirements); grouped by its
    # output name, since the condition's parameters would not repeat in a GROUP BY.
    # The confirmed facts are joined once, not probed per registration (4× faster at 1M).
    confirmed = confirmed_facts()
    verified = case((all_verified(confirmed_in(confirmed.c.mask)),
                     literal_column(f"'{VERIFIED_KEY}'")),
                    else_=literal_column(f"'{DOCUMENTS_KEY}'"))
    by_child = (
        select(literal("z").label("part"), Registration.school_id, status.label("status"),
               sql_cast(Registration.basis, SqlString).label("basis"),
               sql_cast(zoning, SqlString).label("a"), categories.label("b"),
               verified.label("data_checked"), func.count().label("n"))
        .join(Child, Registration.child_id == Child.id)
        .outerjoin(confirmed, confirmed.c.child_id == Registration.child_id)
        .where(Registration.season_id == season_id)
        .group_by(Registration.school_id, status, Registration.basis, zoning, categories,
                  literal_column("data_checked"))
    )
    hour = _utc_hour(dialect)
    by_hour = (
        select(literal("h"), Registration.school_id, status, sql_cast(null(), SqlString),
               hour, sql_cast(null(), SqlString), sql_cast(null(), SqlString), func.count())
        .where(Registration.season_id == season_id)
        .group_by(Registration.school_id, status, hour)
    )
    return union_all(by_child, by_hour)


def _towns(session: Session) -> dict[int, int]:
    """Region id → the id of its town (a town is its own)."""
    parents = dict(session.execute(select(Region.id, Region.parent_id)).all())
    towns: dict[int, int] = {}
    for region_id in parents:
        current, seen = region_id, set()
        while parents.get(current) is not None and current not in seen:
            seen.add(current)
            current = cast(int, parents[current])
        towns[region_id] = current
    return towns


def _categories(raw: str | None) -> list[str]:
    """A child's category keys (stored as a JSON list), or ["none"]."""
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        value = []
    keys = {str(v)[:40] for v in value} if isinstance(value, list) else set()
    return sorted(keys) or [NONE_KEY]


# PostgreSQL settings for the counting statement only. The planner expects about one group
# per row and would sort the season; there are a few thousand groups, which hash in memory
# (1M rows: ~30 MB). Compiling it (JIT) costs more than it saves.
_PG_SETTINGS = {"work_mem": "64MB", "enable_sort": "off", "jit": "off"}


def _run(session: Session, statement: Any) -> list[Any]:
    """Execute the counting statement, with the settings above on PostgreSQL."""
    if session.get_bind().dialect.name != "postgresql":
        return list(session.execute(statement))
    previous = {name: session.scalar(text("SELECT current_setting(:name)"), {"name": name})
                for name in _PG_SETTINGS}
    change = text("SELECT set_config(:name, :value, true)")
    for name, value in _PG_SETTINGS.items():
        session.execute(change, {"name": name, "value": value})
    rows = list(session.execute(statement))
    # Back as they were for whatever else runs in the same transaction (a worker batch); a
    # failed statement rolls back to the savepoint, which undoes them anyway.
    for name, value in previous.items():
        session.execute(change, {"name": name, "value": value})
    return rows


def compute_cells(session: Session, season: Season) -> dict[Cell, tuple[int, int]]:
    """Count the season's registrations now: (dimension, school, key) → (total, active)."""
    dialect = session.get_bind().dialect.name
    towns = _towns(session)
    tz = zone(season.authority.timezone)
    cells: dict[Cell, list[int]] = {}

    def add(dimension: str, school_id: int, key: str, total: int, active: int) -> None:
        cell = cells.setdefault((dimension, school_id, key), [0, 0])
        cell[0] += total
        cell[1] += active

    hours: dict[str, str] = {}
    for part, school_id, status, basis, a, b, checked, n in _run(
            session, _count_statement(season.id, dialect)):
        active = 0 if status in INACTIVE else n
        if part == "z":
            add("status", school_id, status, n, active)
            add("verification", school_id, checked, n, active)
            add("basis", school_id, basis, n, active)
            town = towns.get(int(a)) if a is not None else None
            add("town", school_id, str(town) if town is not None else NONE_KEY, n, active)
            for category in _categories(b):
                add("category", school_id, category, n, active)
        else:
            local = hours.get(a)
            if local is None:
                # Exact for zones whose offset is whole hours (all of China: UTC+8).
                start = dt.datetime.strptime(a, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
                local = hours[a] = start.astimezone(tz).strftime("%Y-%m-%dT%H")
            add("hour", school_id, local, n, active)
            add("day", school_id, local[:10], n, active)
    return {cell: (v[0], v[1]) for cell, v in cells.items()}


def _lock_snapshot(session: Session, season_id: int) -> CountSnapshot:
    """The season's snapshot row, created if missing and locked: one refresher at a time."""
    dialect = session.get_bind().dialect.name
    values = {"season_id": season_id, "computed_at": NEVER, "registrations": 0,
              "duration_ms": 0}
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(CountSnapshot).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(CountSnapshot).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - the two supported databases are above
        stmt = insert(CountSnapshot).values(values)
    session.execute(stmt)
    return session.scalars(select(CountSnapshot).where(CountSnapshot.season_id == season_id)
                           .with_for_update().execution_options(populate_existing=True)).one()


def _write_cells(session: Session, season_id: int,
                 cells: dict[Cell, tuple[int, int]]) -> int:
    """Write only what changed since the last refresh; returns how many cells it touched."""
    old = {(d, s, k): (t, a) for d, s, k, t, a in session.execute(
        select(COUNTS.c.dimension, COUNTS.c.school_id, COUNTS.c.key, COUNTS.c.total,
               COUNTS.c.active).where(COUNTS.c.season_id == season_id))}
    gone = [cell for cell in old if cell not in cells]
    new = [cell for cell in cells if cell not in old]
    changed = [cell for cell, value in cells.items() if cell in old and old[cell] != value]
    where = and_(COUNTS.c.season_id == season_id, COUNTS.c.dimension == bindparam("d"),
                 COUNTS.c.school_id == bindparam("s"), COUNTS.c.key == bindparam("k"))
    if gone:
        session.execute(delete(COUNTS).where(where),
                        [{"d": d, "s": s, "k": k} for d, s, k in gone])
    if changed:
        session.execute(
            update(COUNTS).where(where).values(total=bindparam("t"), active=bindparam("a")),
            [{"d": d, "s": s, "k": k, "t": cells[(d, s, k)][0], "a": cells[(d, s, k)][1]}
             for d, s, k in changed])
    if new:
        session.execute(insert(COUNTS), [
            {"season_id": season_id, "dimension": d, "school_id": s, "key": k,
             "total": cells[(d, s, k)][0], "active": cells[(d, s, k)][1]}
            for d, s, k in new])
    return len(gone) + len(new) + len(changed)


def refresh_counts(session: Session, season_id: int,
                   requested_at: dt.datetime | None = None) -> CountSnapshot | None:
    """Recount a season's registrations into its snapshot (skipped when someone else already
    did after `requested_at`); None for an unknown season. The caller commits."""
    season = session.get(Season, season_id)
    if season is None:
        return None
    snapshot = _lock_snapshot(session, season_id)
    if requested_at is not None and snapshot.computed_at >= requested_at:
        return snapshot
    # Taken before counting: the counts include everything committed by then, so as_of
    # is never later than the data it describes.
    computed_at = utcnow()
    started = time.perf_counter()
    cells = compute_cells(session, season)
    written = _write_cells(session, season_id, cells)
    snapshot.computed_at = computed_at
    snapshot.registrations = sum(t for (d, _s, _k), (t, _a) in cells.items() if d == "status")
    snapshot.duration_ms = round((time.perf_counter() - started) * 1000)
    session.flush()
    logger.info("counts refreshed season_id=%s registrations=%s cells=%s written=%s ms=%s",
                season_id, snapshot.registrations, len(cells), written, snapshot.duration_ms)
    return snapshot


def refresh_interval(snapshot: CountSnapshot) -> float:
    """Seconds before a reader asks for a refresh: longer when a refresh costs more."""
    return max(float(setting("STATS_REFRESH_SECONDS")),
               float(setting("STATS_REFRESH_COST_FACTOR")) * snapshot.duration_ms / 1000)


def _refresh_key(season_id: int) -> str:
    return redis_store.key("stats", "refresh", season_id)


def _wanted_key() -> str:
    return redis_store.key("stats", "wanted")


def release_refresh(season_ids: Iterable[int]) -> None:
    """Allow the next refresh request for these seasons (their refresh is committed)."""
    keys = [_refresh_key(s) for s in season_ids]
    if keys:
        redis_store.client.delete(*keys)


def _request_refresh(season_id: int, requested_at: dt.datetime, interval: float) -> None:
    """After the commit: ask the workers' clock for one refresh of the season unless one is
    already asked for. Not a queued job: a recount of seconds in the batch loop would hold up
    the intake batches behind it; the workers' ticker thread runs it beside them."""

    def push() -> None:
        # The key expires on its own if no worker gets to it: a later reader asks again
        # (or, past the staleness bound, refreshes in the request).
        ttl_ms = max(int(interval * 2000), 1000)
        if redis_store.client.set(_refresh_key(season_id), requested_at.isoformat(),
                                  nx=True, px=ttl_ms):
            redis_store.client.sadd(_wanted_key(), season_id)

    after_commit(push)


def refresh_wanted(session: Session) -> int:
    """Refresh every season readers asked for since the last round, each committed on its
    own (the workers' periodic chore `stats.refresh_wanted`); how many were refreshed."""
    client: Any = redis_store.client
    season_ids = sorted(int(s) for s in client.spop(_wanted_key(), 1000) or [])
    done = 0
    for season_id in season_ids:
        asked = client.get(_refresh_key(season_id))
        requested_at = dt.datetime.fromisoformat(asked.decode()) if asked else utcnow()
        snapshot = refresh_counts(session, season_id, requested_at=requested_at)
        version = version_of(snapshot) if snapshot is not None else None
        session.commit()
        if version is not None:
            done += 1
            publish_version(season_id, *version)
        release_refresh([season_id])
    return done


def fresh_snapshot(season: Season, snapshot: CountSnapshot | None = None) -> CountSnapshot:
    """The season's snapshot for a reader (pass it if already loaded): refreshed now if
    missing or past the staleness bound, else as it is, with a refresh queued if it is
    older than the interval."""
    now = utcnow()
    snapshot = snapshot or db.session.get(CountSnapshot, season.id)
    if snapshot is not None:
        interval = refresh_interval(snapshot)
        age = (now - snapshot.computed_at).total_seconds()
        bound = max(float(setting("STATS_MAX_STALENESS_SECONDS")), 4 * interval)
        if age <= bound:
            if age > interval:
                _request_refresh(season.id, now, interval)
            return snapshot
    refreshed = refresh_counts(db.session(), season.id, requested_at=now)
    if refreshed is None:  # the season was deleted meanwhile
        raise ApiError(404, "SEASON_NOT_FOUND", "未找到该招生季")
    return refreshed


# --- reading -------------------------------------------------------------------------


def shortage_level(active: int, seats: int | None) -> str | None:
    """红/黄/绿: red once active registrations reach the seats, yellow from the yellow share."""
    if not seats:
        return None
    if active >= seats:
        return "red"
    if active * 100 >= int(setting("STATS_YELLOW_PERCENT")) * seats:
        return "yellow"
    return "green"


def _current(authority_id: int) -> tuple[Season, CountSnapshot | None]:
    """The current season by the rule of seasons.services.current_season (the open or next
    published one, else the latest), with its snapshot: one query, without phases."""
    now = utcnow()
    rows = [(season, snapshot) for season, snapshot in db.session.execute(
        _with_snapshot().where(Season.authority_id == authority_id,
                               Season.status == SeasonStatus.PUBLISHED)
        .order_by(Season.registration_opens_at))]
    if not rows:
        raise ApiError(404, "NO_CURRENT_SEASON", "当前没有进行中的招生季")
    return next((r for r in rows if r[0].registration_closes_at > now), rows[-1])


def _with_snapshot() -> Any:
    return (select(Season, CountSnapshot).options(joinedload(Season.authority))
            .outerjoin(CountSnapshot, CountSnapshot.season_id == Season.id))


def _season_of(authority_id: int,
               season_id: int | None) -> tuple[Season, CountSnapshot | None]:
    """The season asked for (default: the current one) with its snapshot, if any."""
    if season_id is None:
        return _current(authority_id)
    row = db.session.execute(_with_snapshot().where(Season.id == season_id)).first()
    if row is None or row[0].authority_id != authority_id:
        raise ApiError(404, "SEASON_NOT_FOUND", "未找到该招生季")
    return row[0], row[1]


def _scope(user: User) -> tuple[int, School | None]:
    """(authority id, the one school for school staff)."""
    if not user.is_staff:
        raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
    school = scope.own_school(user)
    return (school.authority_id if school else scope.authority_id(user)), school


def _sums(season_id: int, dimension: str, school_id: int | None,
          by_school: bool = False) -> dict[Any, tuple[int, int]]:
    group = COUNTS.c.school_id if by_school else COUNTS.c.key
    stmt = (select(group, func.sum(COUNTS.c.total), func.sum(COUNTS.c.active))
            .where(COUNTS.c.season_id == season_id, COUNTS.c.dimension == dimension)
            .group_by(group))
    if school_id is not None:
        stmt = stmt.where(COUNTS.c.school_id == school_id)
    return {k: (int(t), int(a)) for k, t, a in db.session.execute(stmt)}


@dataclass(frozen=True)
class SchoolRow:
    """A school with its town, plan and counts in one season (plain values)."""

    id: int
    code: str
    name: str
    type: str
    town: dict[str, str] | None
    plan: dict[str, int] | None
    total: int
    active: int

    @property
    def level(self) -> str | None:
        """Its shortage level."""
        return shortage_level(self.active, self.plan["seats"] if self.plan else None)


def school_rows(season: Season, school_id: int | None = None) -> list[SchoolRow]:
    """Per school: counts, plan and town; every active school of the authority, and any
    other school that has registrations this season."""
    sums = _sums(season.id, "status", school_id, by_school=True)
    town = aliased(Region)
    stmt = (select(School.id, School.code, School.name, School.type, SeatPlan.classes,
                   SeatPlan.class_size, town.code, town.name)
            .outerjoin(SeatPlan, and_(SeatPlan.school_id == School.id,
                                      SeatPlan.season_id == season.id))
            .outerjoin(town, town.id == School.town_id))
    if school_id is not None:
        stmt = stmt.where(School.id == school_id)
    else:
        stmt = stmt.where(or_(and_(School.authority_id == season.authority_id,
                                   School.is_active.is_(True)),
                              School.id.in_(list(sums))))
    rows = []
    for sid, code, name, kind, classes, class_size, town_code, town_name in db.session.execute(
            stmt.order_by(School.code)):
        total, active = sums.get(sid, (0, 0))
        plan = ({"classes": classes, "class_size": class_size, "seats": classes * class_size}
                if classes is not None else None)
        rows.append(SchoolRow(
            id=sid, code=code, name=name, type=kind.value, plan=plan, total=total, active=active,
            town={"code": town_code, "name": town_name} if town_code is not None else None))
    return rows


def _ref(item: School | Region | None) -> dict[str, str] | None:
    return {"code": item.code, "name": item.name} if item is not None else None


def _verification(season_id: int, school_id: int | None) -> dict[tuple[int, str], int]:
    """(school id, all_verified | needs_documents) → active registrations."""
    stmt = (select(COUNTS.c.school_id, COUNTS.c.key, func.sum(COUNTS.c.active))
            .where(COUNTS.c.season_id == season_id, COUNTS.c.dimension == "verification")
            .group_by(COUNTS.c.school_id, COUNTS.c.key))
    if school_id is not None:
        stmt = stmt.where(COUNTS.c.school_id == school_id)
    return {(s, k): int(n) for s, k, n in db.session.execute(stmt)}


def _school_items(season: Season, school_id: int | None) -> list[dict[str, Any]]:
    checked = _verification(season.id, school_id)
    return [{"key": row.code, "label": row.name, "registrations": row.total,
             "active": row.active, "school_type": row.type, "town": row.town,
             "plan": row.plan, "shortage_level": row.level,
             "all_verified": checked.get((row.id, VERIFIED_KEY), 0),
             "needs_documents": checked.get((row.id, DOCUMENTS_KEY), 0)}
            for row in school_rows(season, school_id)]


def _hour_label(key: str) -> str:
    return f"{int(key[5:7])}月{int(key[8:10])}日 {key[11:13]}:00"


def _day_label(key: str) -> str:
    return f"{int(key[5:7])}月{int(key[8:10])}日"


def _keyed_items(season: Season, by: str, school_id: int | None) -> list[dict[str, Any]]:
    sums = _sums(season.id, by, school_id)
    labels: dict[str, str]
    if by == "status":
        labels = {s.value: STATUS_NAMES.get(s.value, s.value) for s in RegistrationStatus}
    elif by == "basis":
        labels = dict(BASIS_NAMES)
    elif by == "category":
        labels = {key: name for key, (name, _kinds) in CATEGORIES.items()}
        labels[NONE_KEY] = "无特殊类别"
    elif by == "town":
        # Every town of the authority (zeros included), then any other present.
        ids = {int(k) for k in sums if k != NONE_KEY}
        towns = db.session.scalars(select(Region).where(or_(
            and_(Region.authority_id == season.authority_id, Region.parent_id.is_(None)),
            Region.id.in_(ids))).order_by(Region.code)).all()
        items = [{"key": t.code, "label": t.name, "registrations": sums.get(str(t.id), (0, 0))[0],
                  "active": sums.get(str(t.id), (0, 0))[1]} for t in towns]
        if NONE_KEY in sums:
            items.append({"key": NONE_KEY, "label": "未填写居住地",
                          "registrations": sums[NONE_KEY][0], "active": sums[NONE_KEY][1]})
        return items
    else:  # day, hour: the ones that have registrations, in order
        label = _day_label if by == "day" else _hour_label
        labels = {key: label(key) for key in sorted(sums)}
    keys = list(labels) + sorted(k for k in sums if k not in labels)
    return [{"key": key, "label": labels.get(key, key), "registrations": sums.get(key, (0, 0))[0],
             "active": sums.get(key, (0, 0))[1]} for key in keys]


def _season_ref(season: Season) -> dict[str, Any]:
    return {"id": season.id, "year": season.year, "stage": season.stage, "name": season.name}


def admin_stats_json(user: User, by: str, season_id: int | None) -> str:
    """Counts of a season in one grouping, as JSON text: the admin's authority, or the
    staff's school. The answer for one snapshot is kept in Redis for a few seconds."""
    if by not in GROUPINGS:
        raise ApiError(422, "UNKNOWN_GROUPING", "不支持该统计维度",
                       details={"allowed": list(GROUPINGS)})
    authority_id, school = _scope(user)
    season, loaded = _season_of(authority_id, season_id)
    snapshot = fresh_snapshot(season, loaded)
    school_id = school.id if school is not None else None
    computed_us, duration_ms = version_of(snapshot)
    # Keyed by the caller's authority and scope and by the snapshot: a refresh changes the
    # key, the TTL bounds plan and name edits.
    key = _answer_key(authority_id, season.id, by, school_id, computed_us)
    client: Any = redis_store.client
    ttl = int(setting("STATS_ANSWER_CACHE_SECONDS"))
    cached = client.get(key) if ttl > 0 else None
    if cached is not None:
        return str(cached.decode())
    items = (_school_items(season, school_id) if by == "school"
             else _keyed_items(season, by, school_id))
    if by == "category":
        # A child in two groups is in two items: the totals count registrations once.
        whole = _sums(season.id, "status", school_id, by_school=True)
        totals = {"registrations": sum(t for t, _a in whole.values()),
                  "active": sum(a for _t, a in whole.values())}
    else:
        totals = {"registrations": sum(i["registrations"] for i in items),
                  "active": sum(i["active"] for i in items)}
    body = StatsOut.model_validate({
        "season": _season_ref(season), "by": by,
        "as_of": local_iso(snapshot.computed_at, season.authority.timezone),
        "school": _ref(school), "yellow_percent": int(setting("STATS_YELLOW_PERCENT")),
        "totals": totals, "items": items}).model_dump_json()
    if ttl > 0:
        caller = g.get("current_session")
        season_ttl_ms = (_current_ttl_ms(season, ttl) if season_id is None else 0)

        def remember() -> None:
            # What the next request of this caller needs to be answered from Redis alone.
            with client.pipeline(transaction=False) as pipe:
                pipe.set(key, body, ex=ttl)
                if caller is not None:
                    pipe.set(_who_key(caller.token_hash), f"{authority_id}:{school_id or 'all'}",
                             ex=WHO_SECONDS)
                if season_ttl_ms > 0:
                    pipe.set(_current_key(authority_id), season.id, px=season_ttl_ms)
                pipe.execute()
            publish_version(season.id, computed_us, duration_ms)

        after_commit(remember)
    return body


# --- the hit path: one Redis round trip -------------------------------------------------

# How long the caller's scope is remembered for its session (the session itself is checked
# on every read: changing an account's role or school, or disabling it, ends its sessions).
WHO_SECONDS = 12 * 3600
# A season's snapshot version is kept this long after its last publication.
VERSION_SECONDS = 24 * 3600

# Follows session → the caller's scope → the current season → its snapshot version → the
# answer, all in Redis; and asks for a refresh when the snapshot is past the interval, as
# fresh_snapshot does. Returns nil (no session), {session}, or {session, answer}.
# ARGV: 1 session key, 2 scope key, 3 "<prefix>stats:", 4 grouping, 5 season id or "",
# 6 now (µs), 7 STATS_REFRESH_SECONDS, 8 STATS_REFRESH_COST_FACTOR,
# 9 STATS_MAX_STALENESS_SECONDS, 10 now (ISO 8601, the refresh's requested_at).
_HIT_SCRIPT = """
local raw = redis.call('GET', ARGV[1])
if not raw then return false end
local who = redis.call('GET', ARGV[2])
if not who then return {raw} end
local authority, school = string.match(who, '^(%d+):(%w+)$')
if not authority then return {raw} end
local stats, season = ARGV[3], ARGV[5]
if season == '' then
  season = redis.call('GET', stats .. 'current:' .. authority)
  if not season then return {raw} end
end
local version = redis.call('GET', stats .. 'version:' .. season)
if not version then return {raw} end
local computed, duration = string.match(version, '^(%d+):(%d+)$')
if not computed then return {raw} end
local age = (tonumber(ARGV[6]) - tonumber(computed)) / 1000000
local interval = math.max(tonumber(ARGV[7]), tonumber(ARGV[8]) * tonumber(duration) / 1000)
if age > math.max(tonumber(ARGV[9]), 4 * interval) then return {raw} end
local body = redis.call('GET', stats .. 'answer:' .. authority .. ':' .. season .. ':' ..
                        ARGV[4] .. ':' .. school .. ':' .. computed)
if not body then return {raw} end
if age > interval then
  local ttl = math.max(math.floor(interval * 2000), 1000)
  if redis.call('SET', stats .. 'refresh:' .. season, ARGV[10], 'NX', 'PX', ttl) then
    redis.call('SADD', stats .. 'wanted', season)
  end
end
return {raw, body}
"""

# Raises a season's version, never lowers it: a reader that read the snapshot just before a
# refresh committed must not hide the refresh's answers.
_PUBLISH_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current then
  local computed = tonumber(string.match(current, '^(%d+)'))
  if computed and computed >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


def _answer_key(authority_id: int, season_id: int, by: str, school_id: int | None,
                computed_us: int) -> str:
    return redis_store.key("stats", "answer", authority_id, season_id, by, school_id or "all",
                           computed_us)


def _who_key(token_hash: str) -> str:
    return redis_store.key("stats", "who", token_hash)


def _current_key(authority_id: int) -> str:
    return redis_store.key("stats", "current", authority_id)


def _version_key(season_id: int) -> str:
    return redis_store.key("stats", "version", season_id)


def version_of(snapshot: CountSnapshot) -> tuple[int, int]:
    """A snapshot's version: (computed_at in µs since the epoch, its refresh's duration, ms)."""
    return round(snapshot.computed_at.timestamp() * 1_000_000), int(snapshot.duration_ms)


def _current_ttl_ms(season: Season, ttl: int) -> int:
    """How long `season` may be remembered as its authority's current one: the answer's TTL
    (a newly published season shows as late as an edited plan), and never past its closing,
    when the rule of `_current` may choose another."""
    left = (season.registration_closes_at - utcnow()).total_seconds()
    return int(min(ttl, left) * 1000) if left > 0 else ttl * 1000


def publish_version(season_id: int, computed_us: int, duration_ms: int) -> None:
    """Tell the hit path about a season's committed snapshot (only ever a newer one)."""
    redis_store.client.eval(_PUBLISH_SCRIPT, 1, _version_key(season_id), computed_us,
                            duration_ms, VERSION_SECONDS)


def cached_admin_stats(args: Mapping[str, str]) -> str | None:
    """The answer to GET /admin/stats from Redis alone, in one round trip, or None (then the
    request takes the full path: session and scope from the database, the snapshot …).

    Served only for a valid staff session whose scope, season and snapshot version are known
    and whose answer is cached for exactly that authority, season, grouping, school and
    version; anything else (another scope, a refreshed snapshot, an expired entry) is a miss.
    """
    ttl = int(setting("STATS_ANSWER_CACHE_SECONDS"))
    by, season = args.get("by", "school"), args.get("season", "")
    if (ttl <= 0 or by not in GROUPINGS or set(args) - {"by", "season"}
            or ("season" in args and not (season.isdigit() and str(int(season)) == season))):
        return None
    hashed, web = caller_token(STAFF)
    if hashed is None:
        return None
    now = utcnow()
    reply: Any = redis_store.client.eval(
        _HIT_SCRIPT, 0, session_key(hashed), _who_key(hashed), redis_store.key("stats", ""),
        by, season, round(now.timestamp() * 1_000_000),
        float(setting("STATS_REFRESH_SECONDS")), float(setting("STATS_REFRESH_COST_FACTOR")),
        float(setting("STATS_MAX_STALENESS_SECONDS")), now.isoformat())
    if not reply or len(reply) < 2 or session_admitted(reply[0], hashed, web, STAFF) is None:
        return None
    return str(reply[1].decode())


def public_seasons(authority_id: int, now: dt.datetime | None = None) -> list[Season]:
    """The current published season of each stage (the open or next one, else the latest)."""
    now = now or utcnow()
    seasons = db.session.scalars(
        select(Season).where(Season.authority_id == authority_id,
                             Season.status == SeasonStatus.PUBLISHED)
        .order_by(Season.stage, Season.registration_opens_at)).all()
    chosen: dict[str, Season] = {}
    for season in seasons:
        current = chosen.get(season.stage)
        if current is None or current.registration_closes_at <= now:
            chosen[season.stage] = season
    return list(chosen.values())


def _public_key(code: str | None) -> str:
    # By the code asked for ("-": the default authority), so a hit needs no database.
    return redis_store.key("stats", "public", code or "-")


def public_stats_json(code: str | None) -> str:
    """The public counts of the authority with this code (default: the deployment's) as
    JSON text, from Redis for a few seconds after they were built."""
    client: Any = redis_store.client
    cached = client.get(_public_key(code))
    if cached is not None:
        return str(cached.decode())
    authority = resolve_authority(code)
    seasons = []
    for season in public_seasons(authority.id):
        snapshot = fresh_snapshot(season)
        seasons.append({
            "season": _season_ref(season),
            "as_of": local_iso(snapshot.computed_at, authority.timezone),
            "schools": [{"code": row.code, "name": row.name, "type": row.type,
                         "town": row.town, "active": row.active, "plan": row.plan,
                         "shortage_level": row.level}
                        for row in school_rows(season)],
        })
    body = PublicStatsOut.model_validate({
        "authority": {"code": authority.code, "name": authority.name},
        "yellow_percent": int(setting("STATS_YELLOW_PERCENT")), "seasons": seasons,
    }).model_dump_json()
    ttl = int(setting("STATS_PUBLIC_CACHE_SECONDS"))
    if ttl > 0:
        after_commit(lambda: client.set(_public_key(code), body, ex=ttl))
    return body

