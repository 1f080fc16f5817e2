"""Public catalogue: the current season with its state, schools with plans, regions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient

from backend.core.db import utcnow
from backend.schools.models import RegionLevel, SchoolType
from backend.seasons.models import SeasonPhase, SeasonStatus
from backend.seasons.services import season_state
from tests.factories import (
    make_authority,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
)


def test_current_season_is_the_open_one_in_shanghai_time(
    client: FlaskClient, session: Any
) -> None:
    authority = make_authority()
    make_season(authority, year=2024, status=SeasonStatus.ARCHIVED)
    now = utcnow()
    make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                closes=now + dt.timedelta(days=3))
    response = client.get(f"/api/v1/seasons/current?authority={authority.code}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["year"] == now.year + 1
    assert body["state"] == "registration_open"
    assert body["current_phase"] == "registration"
    assert body["registration_opens_at"].endswith("+08:00")
    assert body["fairness_notice"] == "报名先后不影响录取"


def test_2024_timeline_is_shown_as_the_plan_states_it(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    make_season(authority, year=2024)
    body = client.get(f"/api/v1/seasons?authority={authority.code}").get_json()
    season = body["items"][0]
    assert season["registration_opens_at"] == "2024-08-05T08:00:00+08:00"
    assert season["registration_closes_at"] == "2024-08-09T18:00:00+08:00"
    assert season["age_cutoff"] == "2018-08-31"
    assert season["state"] == "finished"


def test_season_state_follows_the_clock(session: Any) -> None:
    authority = make_authority()
    season = make_season(authority, year=2024)
    season.phases.append(SeasonPhase(
        key="publicity", name="招生宣传",
        starts_at=dt.datetime(2024, 7, 29, 16, tzinfo=dt.UTC),
        ends_at=dt.datetime(2024, 8, 4, 16, tzinfo=dt.UTC)))
    at = lambda *a: dt.datetime(*a, tzinfo=dt.UTC)  # noqa: E731
    assert season_state(season, at(2024, 7, 1))[0] == "upcoming"
    state, phase = season_state(season, at(2024, 8, 1))
    assert (state, phase.key if phase else None) == ("in_progress", "publicity")
    # 8/5 07:59 Shanghai is still before the window; 08:00 opens it.
    assert season_state(season, at(2024, 8, 4, 23, 59))[0] == "in_progress"
    assert season_state(season, at(2024, 8, 5, 0, 0))[0] == "registration_open"
    assert season_state(season, at(2024, 8, 9, 10, 0))[0] == "finished"


def test_no_published_season_is_404(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    make_season(authority, status=SeasonStatus.DRAFT)
    response = client.get(f"/api/v1/seasons/current?authority={authority.code}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NO_CURRENT_SEASON"


def test_unknown_authority_is_404(client: FlaskClient, session: Any) -> None:
    response = client.get("/api/v1/schools?authority=atlantis")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "AUTHORITY_NOT_FOUND"


def test_schools_list_detail_and_zones(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    town = make_region(authority, name="临泉镇")
    other_town = make_region(authority, name="白文镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例村")
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    public = make_school(authority, town_id=town.id, zone=[village])
    private = make_school(authority, town_id=town.id, zone=[village], type=SchoolType.PRIVATE)
    make_school(authority, town_id=other_town.id)
    make_seat_plan(season, public, classes=3, class_size=45)

    listed = client.get(f"/api/v1/schools?authority={authority.code}&town={town.code}")
    items = {s["code"]: s for s in listed.get_json()["items"]}
    assert set(items) == {public.code, private.code}
    assert items[public.code]["plan"] == {"season_year": now.year + 1, "classes": 3,
                                         "class_size": 45, "seats": 135}
    assert items[private.code]["type"] == "private" and items[private.code]["plan"] is None

    detail = client.get(f"/api/v1/schools/{public.code}").get_json()
    assert detail["zone"] == [{"code": village.code, "name": "示例村"}]
    assert detail["town"]["name"] == "临泉镇"
    missing = client.get("/api/v1/schools/NOPE")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "SCHOOL_NOT_FOUND"


def test_regions_are_towns_with_villages(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    town = make_region(authority, name="城庄镇")
    make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例一村")
    make_region(authority, level=RegionLevel.COMMUNITY, parent=town, name="示例社区")
    body = client.get(f"/api/v1/regions?authority={authority.code}").get_json()
    assert [t["name"] for t in body["items"]] == ["城庄镇"]
    assert {v["name"]: v["level"] for v in body["items"][0]["villages"]} == {
        "示例一村": "village", "示例社区": "community"}
