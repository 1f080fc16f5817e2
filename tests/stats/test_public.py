"""The public counts: per school, no login, no personal data, cached for a few seconds."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from backend.core.db import db
from backend.core.redis import redis_store
from backend.registrations.models import Registration, RegistrationStatus
from backend.seasons.models import SeasonStatus
from tests.factories import make_season
from tests.stats._support import World, build_world, expected

SCHOOL_FIELDS = {"code", "name", "type", "town", "active", "plan", "shortage_level"}


@pytest.fixture()
def world(session: Any) -> World:
    """The mixed season (see _support.ROWS), and a draft season nobody may see."""
    world = build_world()
    make_season(world.authority, year=2025, status=SeasonStatus.DRAFT)
    return world


def _public(client: FlaskClient, world: World) -> Any:
    response = client.get("/api/v1/stats/public", query_string={"authority": world.authority.code})
    assert response.status_code == 200, response.get_json()
    return response


def test_public_counts_per_school_without_login(client: FlaskClient, world: World) -> None:
    body = _public(client, world).get_json()
    assert body["authority"] == {"code": world.authority.code, "name": world.authority.name}
    assert body["yellow_percent"] == 80
    assert [s["season"]["year"] for s in body["seasons"]] == [2024]
    schools = {s["code"]: s for s in body["seasons"][0]["schools"]}
    assert set(schools) == {world.schools[k].code for k in "abc"}
    active = {code: counts[1] for code, counts in expected(world.season.id, "school").items()}
    assert {code: s["active"] for code, s in schools.items() if s["active"]} == active
    a, b, c = (schools[world.schools[k].code] for k in "abc")
    assert (a["shortage_level"], b["shortage_level"], c["shortage_level"]) == (
        "red", "yellow", "green")
    assert b["plan"] == {"classes": 1, "class_size": 6, "seats": 6}
    assert a["town"] == {"code": world.towns["t1"].code, "name": "示例镇一"}


def test_public_counts_hold_no_personal_data(client: FlaskClient, world: World) -> None:
    response = _public(client, world)
    body = response.get_json()
    assert set(body) == {"authority", "yellow_percent", "seasons"}
    assert set(body["seasons"][0]) == {"season", "as_of", "schools"}
    for school in body["seasons"][0]["schools"]:
        assert set(school) == SCHOOL_FIELDS
    text = response.get_data(as_text=True)
    # Children's and guardians' names, statuses and categories are not in it.
    for word in ("张小示", "张示例", "rejected", "migrant", "child", "guardian"):
        assert word not in text


def test_public_counts_are_cached_briefly(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _public(client, world)
    assert first.headers["Cache-Control"] == "public, max-age=5"
    # Keyed by the code asked for: a hit reads no database, not even the authority.
    key = redis_store.key("stats", "public", world.authority.code)
    assert 0 < redis_store.client.ttl(key) <= 5
    db.session.execute(update(Registration).where(
        Registration.season_id == world.season.id,
        Registration.status == RegistrationStatus.SUBMITTED).values(
        status=RegistrationStatus.WITHDRAWN))
    db.session.flush()
    for name in ("STATS_MAX_STALENESS_SECONDS", "STATS_REFRESH_SECONDS",
                 "STATS_REFRESH_COST_FACTOR"):
        monkeypatch.setitem(app.config, name, 0)
    # Within the cache's life the same answer, byte for byte …
    assert _public(client, world).get_data() == first.get_data()
    # … and once it expires, the new counts.
    redis_store.client.delete(key)
    schools = {s["code"]: s for s in _public(client, world).get_json()["seasons"][0]["schools"]}
    assert schools[world.schools["b"].code]["active"] == 2
    assert schools[world.schools["b"].code]["shortage_level"] == "green"


def test_unknown_authority_is_not_found(client: FlaskClient, session: Any) -> None:
    response = client.get("/api/v1/stats/public?authority=nowhere")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "AUTHORITY_NOT_FOUND"
