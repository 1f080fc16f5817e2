"""HTTP caching of the public catalogue (backend/core/httpcache.py) and the ticket poll's single
Redis round trip: ETag, 304, Cache-Control, invalidation by staff changes, private answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backend.core.db import utcnow
from backend.schools.models import RegionLevel
from tests.admission._support import County, build_county
from tests.conftest import Trips, bearer
from tests.factories import make_authority, make_region, make_school, make_season, make_seat_plan
from tests.integration import test_intake

# The intake's own set-up: an open season, a zoned school, a family with a child and a 户口簿.
world, family = test_intake.world, test_intake.family

PUBLIC_READS = ("/api/v1/seasons/current?authority={a}", "/api/v1/seasons?authority={a}",
                "/api/v1/schools?authority={a}", "/api/v1/regions?authority={a}",
                "/api/v1/zones/lookup?region_code={v}", "/api/v1/schools/{s}",
                "/api/v1/categories", "/api/v1/registrations/requirements")


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """An authority with a season, two zoned schools with plans, and its bureau's login."""
    return build_county(login_staff)


def _urls(county: County) -> list[str]:
    return [u.format(a=county.authority.code, v=county.village_in.code, s=county.school_a.code)
            for u in PUBLIC_READS]


def _max_age(response: Any) -> int:
    control = response.headers["Cache-Control"]
    assert control.startswith("public, max-age="), control
    return int(control.rsplit("=", 1)[1])


def test_every_public_read_has_an_etag_and_answers_304_when_unchanged(
        client: FlaskClient, county: County) -> None:
    for url in _urls(county):
        first = client.get(url)
        assert first.status_code == 200, (url, first.get_json())
        etag = first.headers["ETag"]
        assert etag.startswith('"') and _max_age(first) > 0, url
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.data == b"" and again.headers["ETag"] == etag
        assert again.headers["Cache-Control"].startswith("public, max-age=")
        # Another version of the answer (or none) gets the whole body.
        other = client.get(url, headers={"If-None-Match": '"not-this-one"'})
        assert other.status_code == 200 and other.get_json() == first.get_json()


def test_each_authority_has_its_own_answer(client: FlaskClient, county: County) -> None:
    other = make_authority()
    make_season(other, year=county.season.year, name="另一个县的招生季")
    mine = client.get(f"/api/v1/seasons/current?authority={county.authority.code}")
    theirs = client.get(f"/api/v1/seasons/current?authority={other.code}")
    assert mine.get_json()["authority"] == county.authority.code
    assert theirs.get_json()["authority"] == other.code
    assert mine.headers["ETag"] != theirs.headers["ETag"]


def test_publishing_a_season_changes_the_current_season_at_once(
        client: FlaskClient, county: County) -> None:
    url = f"/api/v1/seasons/current?authority={county.authority.code}"
    before = client.get(url)
    assert before.get_json()["id"] == county.season.id
    year = county.season.year + 1
    draft = client.post("/api/v1/admin/seasons", headers=county.auth(), json={
        "year": year, "name": f"{year}年小学招生",
        "registration_opens_at": f"{year}-08-05T08:00",
        "registration_closes_at": f"{year}-08-09T18:00"}).get_json()
    # A draft is not public: the kept answer still stands.
    assert client.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code \
        in (200, 304)
    assert client.get(url).get_json()["id"] == county.season.id
    published = client.post(f"/api/v1/admin/seasons/{draft['id']}/publish",
                            headers=county.auth())
    assert published.status_code == 200, published.get_json()
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["id"] == draft["id"]
    assert after.headers["ETag"] != before.headers["ETag"]


@pytest.mark.parametrize("check_seconds", [0, 60])
def test_a_staff_edit_of_the_season_shows_in_the_public_answer(
        app: Flask, client: FlaskClient, county: County, monkeypatch: pytest.MonkeyPatch,
        check_seconds: int) -> None:
    # 60: the process remembers the version it read, and still sees its own change at once.
    monkeypatch.setitem(app.config, "CATALOGUE_VERSION_CHECK_SECONDS", check_seconds)
    year = county.season.year + 1
    draft = client.post("/api/v1/admin/seasons", headers=county.auth(), json={
        "year": year, "name": f"{year}年小学招生",
        "registration_opens_at": f"{year}-08-05T08:00",
        "registration_closes_at": f"{year}-08-09T18:00"}).get_json()
    client.post(f"/api/v1/admin/seasons/{draft['id']}/publish", headers=county.auth())
    url = f"/api/v1/seasons?authority={county.authority.code}"
    before = client.get(url)
    assert before.get_json()["items"][0]["name"] == f"{year}年小学招生"
    renamed = client.patch(f"/api/v1/admin/seasons/{draft['id']}", headers=county.auth(),
                           json={"name": f"{year}年小学一年级招生"})
    assert renamed.status_code == 200, renamed.get_json()
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["items"][0]["name"] == f"{year}年小学一年级招生"


def test_new_schools_regions_and_plans_show_at_once(client: FlaskClient,
                                                    county: County) -> None:
    schools = f"/api/v1/schools?authority={county.authority.code}"
    regions = f"/api/v1/regions?authority={county.authority.code}"
    before_schools, before_regions = client.get(schools), client.get(regions)
    village = make_region(county.authority, level=RegionLevel.VILLAGE, parent=county.town,
                          name="新村")
    school = make_school(county.authority, zone=[village], name="新建小学")
    make_seat_plan(county.season, school, 2, 45)
    after_schools = client.get(schools, headers={"If-None-Match": before_schools.headers["ETag"]})
    assert after_schools.status_code == 200
    names = {s["name"]: s for s in after_schools.get_json()["items"]}
    assert names["新建小学"]["plan"]["seats"] == 90
    after_regions = client.get(regions, headers={"If-None-Match": before_regions.headers["ETag"]})
    assert after_regions.status_code == 200
    assert "新村" in {v["name"] for t in after_regions.get_json()["items"] for v in t["villages"]}
    zone = client.get(f"/api/v1/zones/lookup?region_code={village.code}").get_json()
    assert [s["name"] for s in zone["schools"]] == ["新建小学"]


def test_an_answer_is_fresh_only_until_the_season_opens(client: FlaskClient,
                                                        session: Any) -> None:
    authority = make_authority()
    now = utcnow()
    make_season(authority, year=now.year + 1, opens=now + dt.timedelta(seconds=12),
                closes=now + dt.timedelta(days=3))
    response = client.get(f"/api/v1/seasons/current?authority={authority.code}")
    assert response.get_json()["state"] == "upcoming"
    assert 0 < _max_age(response) <= 12


def test_a_lost_catalogue_version_never_serves_an_answer_kept_before(
        app: Flask, client: FlaskClient, county: County, session: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from backend.core import httpcache
    from backend.core.redis import redis_store

    monkeypatch.setitem(app.config, "CATALOGUE_VERSION_CHECK_SECONDS", 0)
    url = f"/api/v1/seasons/current?authority={county.authority.code}"
    first = client.get(url).get_json()
    # Changed behind the ORM's back (no bump), then Redis restarts empty: the kept answer
    # belongs to a version that no longer exists.
    session.execute(text("UPDATE seasons SET name = '改名后的招生季' WHERE id = :id"),
                    {"id": county.season.id})
    redis_store.client.delete(httpcache.version_key())
    assert client.get(url).get_json()["name"] == "改名后的招生季" != first["name"]
    assert client.get(url).get_json()["name"] == "改名后的招生季"


def test_private_answers_are_never_marked_public(
        client: FlaskClient, county: County,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    parent = bearer(login_parent()["token"])
    for url, headers in (("/api/v1/me", parent), ("/api/v1/me/children", parent),
                         ("/api/v1/registrations", parent),
                         ("/api/v1/admin/stats?by=status", county.auth()),
                         ("/api/v1/admin/seasons", county.auth())):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.get_json())
        assert "public" not in response.headers.get("Cache-Control", ""), url
        assert "ETag" not in response.headers, url


# --- the ticket poll: one Redis round trip ------------------------------------------------------

def test_a_ticket_poll_is_one_redis_round_trip(
        client: FlaskClient, family: dict[str, Any], world: dict[str, Any],
        login_parent: Callable[..., dict[str, Any]], trips: Trips) -> None:
    receipt = client.post("/api/v1/registrations", headers={
        **bearer(family["token"]), "Idempotency-Key": "poll-0000001"}, json={
        "child_id": family["child"].id, "school_code": world["public"].code, "basis": "hukou",
        "upload_ids": [family["upload"]]}).get_json()

    trips.clear()
    answer = client.get(f"/api/v1/registrations/tickets/{receipt['ticket']}",
                        headers=bearer(family["token"]))
    assert answer.status_code == 200
    assert answer.get_json()["state"] == "queued" and answer.get_json()["position"] == 1
    assert trips.redis == ["pipeline"]
    # Someone else's poll of that ticket is a 404, also from that one trip.
    trips.clear()
    stranger = client.get(f"/api/v1/registrations/tickets/{receipt['ticket']}",
                          headers=bearer(login_parent()["token"]))
    assert stranger.status_code == 404
    assert stranger.get_json()["error"]["code"] == "TICKET_NOT_FOUND"
