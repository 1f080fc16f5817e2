"""A live-count read whose answer is cached costs one Redis round trip and no database query,
and is never another scope's answer, nor an answer of a snapshot that was replaced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.accounts.models import User
from backend.accounts.web import cookie_name
from backend.core.db import db
from backend.core.redis import redis_store
from backend.registrations.models import Registration, RegistrationStatus
from backend.worker.periodic import Ticker
from tests.conftest import Trips, bearer
from tests.factories import STAFF_PASSWORD, make_staff
from tests.stats._support import World, answered, expected

Login = Callable[[str, str], dict[str, Any]]
URL = "/api/v1/admin/stats"


def _submitted_become(world: World, status: RegistrationStatus) -> None:
    db.session.execute(update(Registration).where(
        Registration.season_id == world.season.id,
        Registration.status == RegistrationStatus.SUBMITTED).values(status=status))
    db.session.flush()


def _get(client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("params", [{"by": "status"}, {}, {"by": "hour"}])
def test_a_cached_answer_is_one_redis_round_trip_and_no_query(
    client: FlaskClient, world: World, admin: dict[str, str], staff: dict[str, str],
    trips: Trips, params: dict[str, str]
) -> None:
    for headers in (admin, staff):
        first = _get(client, headers, **params)  # builds it (database) and remembers it
        trips.clear()
        assert _get(client, headers, **params) == first
        assert trips.redis == ["EVAL"] and trips.sql == []
    # The season asked for by id: the same.
    explicit = {**params, "season": world.season.id}
    first = _get(client, admin, **explicit)
    trips.clear()
    assert _get(client, admin, **explicit) == first
    assert trips.redis == ["EVAL"] and trips.sql == []


def test_a_console_cookie_is_read_in_the_same_trip(
    client: FlaskClient, world: World, trips: Trips
) -> None:
    login = client.post("/api/v1/auth/staff-login", json={
        "username": world.staff_username, "password": STAFF_PASSWORD, "web_session": True})
    assert login.status_code == 200
    first = _get(client, {}, by="town")
    trips.clear()
    assert _get(client, {}, by="town") == first
    # The session's idle clock restarts, as on every console read.
    assert trips.redis == ["EVAL", "EXPIRE"] and trips.sql == []
    # The console's cookie is no bearer token, and a bearer token is no cookie.
    with client.application.test_request_context():
        name = cookie_name()
    cookie = client.get_cookie(name)
    assert cookie is not None
    client.delete_cookie(name)
    assert client.get(URL, headers=bearer(cookie.value)).status_code == 401


def test_a_request_the_full_path_refuses_is_never_answered_from_redis(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    for _ in range(2):
        _get(client, admin, by="school")
    for query in ("by=school&season=", "by=school&season=0", "by=school&extra=1",
                  "by=name"):
        response = client.get(f"{URL}?{query}", headers=admin)
        assert response.status_code == 422, query


def test_a_refreshed_snapshot_is_never_answered_from_the_old_answer(
    app: Flask, client: FlaskClient, world: World, admin: dict[str, str], trips: Trips,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _get(client, admin, by="status")
    _submitted_become(world, RegistrationStatus.WITHDRAWN)
    # Within the interval, the cached answer (the state at as_of).
    trips.clear()
    assert _get(client, admin, by="status") == before
    assert trips.sql == []
    # Past it, a hit asks the workers' clock for a refresh in the same round trip.
    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATS_REFRESH_COST_FACTOR", 0)
    trips.clear()
    assert _get(client, admin, by="status") == before
    assert trips.redis == ["EVAL"] and trips.sql == []
    assert redis_store.client.smembers(redis_store.key("stats", "wanted")) == {
        str(world.season.id).encode()}
    assert "stats.refresh_wanted" in Ticker(app, "stats-test-ticker").run_due()
    # The refresh published the new snapshot: the old answer (still in Redis) is not served.
    after = _get(client, admin, by="status")
    assert after["as_of"] > before["as_of"]
    assert answered(after) == expected(world.season.id, "status") != answered(before)
    assert {i["key"]: i["registrations"] for i in after["items"]}["withdrawn"] > 1


def test_a_snapshot_past_the_staleness_bound_is_not_answered_from_redis(
    app: Flask, client: FlaskClient, world: World, admin: dict[str, str], trips: Trips,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _get(client, admin, by="status")
    _submitted_become(world, RegistrationStatus.RETURNED)
    for name in ("STATS_MAX_STALENESS_SECONDS", "STATS_REFRESH_SECONDS",
                 "STATS_REFRESH_COST_FACTOR"):
        monkeypatch.setitem(app.config, name, 0)
    trips.clear()
    body = _get(client, admin, by="status")
    assert trips.sql != []  # refreshed in the request
    assert answered(body) == expected(world.season.id, "status") != answered(before)


def test_a_cached_answer_never_crosses_scopes(
    client: FlaskClient, world: World, admin: dict[str, str], staff: dict[str, str],
    login_staff: Login
) -> None:
    school_a, school_b = world.schools["a"], world.schools["b"]
    whole = _get(client, admin, by="school")
    assert len(whole["items"]) == 3
    # The admin's answer is cached; school A's staff still get school A only, twice.
    for _ in range(2):
        mine = _get(client, staff, by="school")
        assert [i["key"] for i in mine["items"]] == [school_a.code]
        assert answered(_get(client, staff, by="status")) == expected(
            world.season.id, "status", school_a.id)
    # Another school's staff, and another authority's admin, never see those answers.
    other_staff = make_staff(world.authority, school=school_b)
    other_admin = make_staff(world.other_season.authority)
    db.session.flush()
    assert other_staff.username and other_admin.username
    b = bearer(login_staff(other_staff.username, STAFF_PASSWORD)["token"])
    for _ in range(2):
        assert [i["key"] for i in _get(client, b, by="school")["items"]] == [school_b.code]
    elsewhere = bearer(login_staff(other_admin.username, STAFF_PASSWORD)["token"])
    for _ in range(2):
        response = client.get(URL, query_string={"by": "school", "season": world.season.id},
                              headers=elsewhere)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "SEASON_NOT_FOUND"
        own = _get(client, elsewhere, by="school")
        assert own["season"]["id"] == world.other_season.id


def test_a_moved_or_disabled_account_loses_its_cached_answers(
    client: FlaskClient, world: World, admin: dict[str, str], staff: dict[str, str],
    login_parent: Callable[..., dict[str, Any]]
) -> None:
    staff_id = db.session.scalar(select(User.id).where(User.username == world.staff_username))
    for _ in range(2):
        assert len(_get(client, staff, by="school")["items"]) == 1
    # Moved to school B: every session of the account ends, the cached scope with it.
    moved = client.patch(f"/api/v1/admin/staff-accounts/{staff_id}", headers=admin,
                         json={"school_code": world.schools["b"].code})
    assert moved.status_code == 200, moved.get_json()
    assert client.get(URL, query_string={"by": "school"}, headers=staff).status_code == 401
    # A parent's token never reads staff answers, cached or not.
    parent = bearer(login_parent()["token"])
    assert client.get(URL, query_string={"by": "school"}, headers=parent).status_code == 403
    # Nor does a forged or expired token.
    assert client.get(URL, headers=bearer("x" * 43)).status_code == 401


def test_the_public_page_from_redis_reads_no_database(
    client: FlaskClient, world: World, trips: Trips
) -> None:
    url = f"/api/v1/stats/public?authority={world.authority.code}"
    first = client.get(url)
    assert first.status_code == 200
    trips.clear()
    again = client.get(url)
    assert again.get_data() == first.get_data()
    assert trips.redis == ["GET"] and trips.sql == []
