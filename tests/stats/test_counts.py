"""Live counts for administrators and school staff equal the registrations in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.core.db import db
from backend.core.jobs import stream_key
from backend.core.redis import redis_store
from backend.identity.models import Child
from backend.registrations.models import Registration, RegistrationStatus
from backend.stats.models import CountSnapshot
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.periodic import Ticker
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.conftest import bearer
from tests.factories import make_child, make_id_number, make_registration
from tests.stats._support import World, answered, expected

GROUPINGS = ("school", "status", "basis", "category", "day", "hour", "town")
Login = Callable[[str, str], dict[str, Any]]


def _stats(client: FlaskClient, headers: dict[str, str], by: str, **params: Any) -> Any:
    response = client.get("/api/v1/admin/stats", query_string={"by": by, **params},
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _refreshes_queued() -> int:
    """Recount jobs on the queue the batch loop reads (there should never be any)."""
    return sum(1 for _id, fields in redis_store.client.xrange(stream_key())
               if fields[b"type"] == b"stats.refresh")


def _refreshes_asked() -> int:
    """Seasons readers asked the workers' clock to recount."""
    return int(redis_store.client.scard(redis_store.key("stats", "wanted")))


def _worker() -> Worker:
    worker = Worker(load_handlers(), name="stats-test-worker",
                    settings=WorkerSettings(block_ms=10, linger_ms=0),
                    batch_handlers=load_batch_handlers())
    worker.ensure_group()
    return worker


@pytest.mark.parametrize("by", GROUPINGS)
def test_counts_equal_the_registrations_for_every_grouping(
    client: FlaskClient, world: World, admin: dict[str, str], by: str
) -> None:
    body = _stats(client, admin, by)
    assert body["season"]["id"] == world.season.id and body["by"] == by
    assert answered(body) == expected(world.season.id, by)
    assert body["school"] is None
    assert body["as_of"].endswith("+08:00")
    # Totals count each registration once (a child in two categories is in two items).
    assert body["totals"] == {"registrations": 12, "active": 9}


def test_groupings_have_readable_labels_and_local_days(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status = {i["key"]: i for i in _stats(client, admin, "status")["items"]}
    assert list(status) == [s.value for s in RegistrationStatus]
    assert status["rejected"] == {"key": "rejected", "label": "未通过", "registrations": 2,
                                  "active": 0, "school_type": None, "town": None,
                                  "plan": None, "shortage_level": None,
                                  "all_verified": None, "needs_documents": None}
    category = {i["key"]: i for i in _stats(client, admin, "category")["items"]}
    assert category["migrant"]["label"] == "随迁子女"
    assert category["none"]["registrations"] == 6
    assert category["hmt"]["registrations"] == 0  # every known category, zeros included
    days = _stats(client, admin, "day")["items"]
    # 07:30 on 8/6 in Shanghai is 23:30 on 8/5 in UTC: it counts on 8/6.
    assert [(d["key"], d["label"], d["registrations"]) for d in days] == [
        ("2024-08-05", "8月5日", 5), ("2024-08-06", "8月6日", 6), ("2024-08-07", "8月7日", 1)]
    hours = {h["key"]: h for h in _stats(client, admin, "hour")["items"]}
    assert hours["2024-08-06T07"]["registrations"] == 3
    assert hours["2024-08-06T07"]["label"] == "8月6日 07:00"
    towns = {t["key"]: t for t in _stats(client, admin, "town")["items"]}
    assert towns[world.towns["t1"].code]["label"] == "示例镇一"


def test_schools_carry_plan_and_shortage_level(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    items = {i["key"]: i for i in _stats(client, admin, "school")["items"]}
    a, b, c = (items[world.schools[k].code] for k in "abc")
    # A: 4 active against 3 seats → red; B: 5 of 6 → yellow (≥ 80 %); C: none → green.
    assert (a["active"], a["plan"], a["shortage_level"]) == (
        4, {"classes": 1, "class_size": 3, "seats": 3}, "red")
    assert (b["active"], b["registrations"], b["shortage_level"]) == (5, 6, "yellow")
    assert (c["active"], c["registrations"], c["shortage_level"]) == (0, 0, "green")
    assert a["town"] == {"code": world.towns["t1"].code, "name": "示例镇一"}
    assert a["school_type"] == "public"
    # The other authority's school is not there.
    assert set(items) == {world.schools[k].code for k in "abc"}


def test_counts_follow_the_registrations_after_the_worker_refreshes(
    app: Flask, client: FlaskClient, world: World, admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _stats(client, admin, "status")
    assert answered(first) == expected(world.season.id, "status")
    # Reviews, withdrawals and new registrations happen in code that knows nothing of counts.
    db.session.execute(update(Registration).where(
        Registration.season_id == world.season.id,
        Registration.status == RegistrationStatus.SUBMITTED).values(
        status=RegistrationStatus.WITHDRAWN))
    guardian = db.session.scalars(select(Child)).first().guardian  # type: ignore[union-attr]
    birth = dt.date(2018, 4, 1)
    child = make_child(guardian, world.villages["t1"], birth=birth,
                       id_number=make_id_number(birth, 907))
    make_registration(world.season, child, world.schools["c"])
    db.session.flush()
    # Within the refresh interval the snapshot stands as it is, and says when it is from.
    assert _stats(client, admin, "status") == first
    assert _refreshes_asked() == 0
    # Older than the interval: the reader gets the snapshot and one refresh is asked for,
    # once however many read. It is not a job in the queue: a recount of seconds there
    # would hold up the intake batches behind it.
    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATS_REFRESH_COST_FACTOR", 0)
    assert _stats(client, admin, "status")["items"] == first["items"]
    _stats(client, admin, "school")
    assert _refreshes_asked() == 1 and _refreshes_queued() == 0
    _worker().run_once()  # the batch loop has other jobs (the staff logins' audit events)
    assert _refreshes_asked() == 1
    # The workers' clock runs it, in its own thread beside the batch loop.
    assert "stats.refresh_wanted" in Ticker(app, "stats-test-ticker").run_due()
    assert _refreshes_asked() == 0
    for by in GROUPINGS:
        body = _stats(client, admin, by)
        assert answered(body) == expected(world.season.id, by), by
    assert body["totals"] == {"registrations": 13, "active": 6}
    assert body["as_of"] > first["as_of"]


def test_a_snapshot_past_the_staleness_bound_is_refreshed_in_the_request(
    app: Flask, client: FlaskClient, world: World, admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _stats(client, admin, "status")
    # The answer for this snapshot is kept briefly; a refresh gives a new snapshot, a new key.
    cached = list(redis_store.client.scan_iter(match=redis_store.key("stats", "answer", "*")))
    assert len(cached) == 1 and 0 < redis_store.client.ttl(cached[0]) <= 5
    db.session.execute(update(Registration).where(
        Registration.season_id == world.season.id,
        Registration.status == RegistrationStatus.SUBMITTED).values(
        status=RegistrationStatus.RETURNED))
    db.session.flush()
    # The worker is down and nobody looked for a while.
    for name in ("STATS_MAX_STALENESS_SECONDS", "STATS_REFRESH_SECONDS",
                 "STATS_REFRESH_COST_FACTOR"):
        monkeypatch.setitem(app.config, name, 0)
    body = _stats(client, admin, "status")
    assert answered(body) == expected(world.season.id, "status") != answered(before)
    assert {i["key"]: i["registrations"] for i in body["items"]}["returned"] == 5
    snapshot = db.session.get(CountSnapshot, world.season.id)
    assert snapshot is not None and snapshot.registrations == 12


def test_school_staff_see_only_their_school(
    client: FlaskClient, world: World, staff: dict[str, str]
) -> None:
    school_a = world.schools["a"]
    body = _stats(client, staff, "school")
    assert [i["key"] for i in body["items"]] == [school_a.code]
    assert body["school"] == {"code": school_a.code, "name": school_a.name}
    assert body["items"][0]["shortage_level"] == "red"
    for by in GROUPINGS[1:]:
        body = _stats(client, staff, by)
        assert answered(body) == expected(world.season.id, by, school_a.id), by
        assert body["totals"] == {"registrations": 6, "active": 4}


def test_another_authoritys_season_is_not_found(
    client: FlaskClient, world: World, admin: dict[str, str], staff: dict[str, str]
) -> None:
    for headers in (admin, staff):
        response = client.get("/api/v1/admin/stats",
                              query_string={"season": world.other_season.id}, headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "SEASON_NOT_FOUND"
    own = _stats(client, admin, "school", season=world.season.id)
    assert own["season"]["year"] == 2024


def test_unknown_grouping_is_a_422_with_a_stable_code(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    response = client.get("/api/v1/admin/stats?by=name", headers=admin)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "UNKNOWN_GROUPING"
    assert error["details"]["allowed"] == list(GROUPINGS)
    assert client.get("/api/v1/admin/stats?season=x",
                      headers=admin).get_json()["error"]["code"] == "VALIDATION_FAILED"


def test_parents_and_strangers_get_no_counts(
    client: FlaskClient, world: World, login_parent: Callable[..., dict[str, Any]]
) -> None:
    assert client.get("/api/v1/admin/stats").status_code == 401
    parent = bearer(login_parent()["token"])
    response = client.get("/api/v1/admin/stats", headers=parent)
    assert response.status_code == 403
