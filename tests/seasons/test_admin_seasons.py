"""The bureau's season set-up over HTTP: create (from the previous season or from nothing),
edit, timeline, publish and archive — validated, scoped to the admin's authority, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.admission.models import PriorityTier
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.core.timeutil import local_datetime, zone
from backend.schools.models import School, SeatPlan
from backend.seasons.models import Season, SeasonStatus
from tests.admission._support import County, build_county
from tests.conftest import bearer

API = "/api/v1/admin/seasons"
TIERS = {"tiers": [
    {"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}},
    {"key": "others", "label": "其他", "rule": {}}]}
NOTICE = "一、请如实填写。\n二、报名先后不影响录取。"


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """Authority A (its season's window closed yesterday, schools A and B with plans) and B."""
    return build_county(login_staff)


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def _fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    return {f["field"] for f in error["details"]["fields"]}


def _new_season(client: FlaskClient, county: County, year: int, **body: Any) -> Any:
    return client.post(API, headers=county.auth(), json={
        "year": year, "name": f"{year}年小学招生",
        "registration_opens_at": f"{year}-08-05T08:00",
        "registration_closes_at": f"{year}-08-09T18:00",
        **body})


def test_the_bureau_lists_every_season_of_its_own_authority_drafts_included(
        client: FlaskClient, county: County) -> None:
    year = county.season.year + 1
    assert _new_season(client, county, year).status_code == 201
    items = client.get(API, headers=county.auth()).get_json()["items"]
    assert [(s["year"], s["status"], s["status_name"]) for s in items] == [
        (year, "draft", "草稿"), (county.season.year, "published", "已发布")]
    assert client.get(API, headers=county.auth("other_bureau")).get_json()["items"] == []
    # The public never sees a draft.
    public = client.get(f"/api/v1/seasons?authority={county.authority.code}").get_json()
    assert [s["year"] for s in public["items"]] == [county.season.year]


def test_a_season_copied_from_the_previous_one_takes_its_plans_tiers_notice_and_timeline(
        client: FlaskClient, county: County) -> None:
    source = county.season
    assert client.put(f"/api/v1/admin/priority-tiers/{source.id}/{county.school_a.id}",
                      headers=county.auth(), json=TIERS).status_code == 200
    assert client.patch(f"{API}/{source.id}", headers=county.auth(),
                        json={"must_read_notice": NOTICE}).status_code == 200
    y = source.year
    timeline = [
        {"key": "plan_publicity", "name": "招生方案公示", "starts_at": f"{y}-08-01T00:00",
         "ends_at": f"{y}-08-04T18:00"},
        {"key": "registration", "name": "网上报名",
         "starts_at": source.registration_opens_at.isoformat(),
         "ends_at": source.registration_closes_at.isoformat()}]
    put = client.put(f"{API}/{source.id}/phases", headers=county.auth(),
                     json={"phases": timeline})
    assert put.status_code == 200, put.get_json()
    schools_before = db.session.scalar(select(func.count()).select_from(School))

    created = client.post(API, headers=county.auth(), json={
        "year": y + 1, "name": f"{y + 1}年小学招生", "copy_from_season_id": source.id})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "draft" and body["year"] == y + 1
    assert body["must_read_notice"] == NOTICE
    assert body["copied"]["from_season_id"] == source.id
    assert body["copied"]["seat_plans"] == 2 and body["copied"]["priority_tiers"] == 1
    assert "不随招生季复制" in body["copied"]["shared"]
    season = db.session.get(Season, body["id"])
    assert season is not None and season.status is SeasonStatus.DRAFT
    plans = {p.school_id: (p.classes, p.class_size) for p in db.session.scalars(
        select(SeatPlan).where(SeatPlan.season_id == season.id))}
    assert plans == {county.school_a.id: (1, 6), county.school_b.id: (1, 4)}
    tiers = list(db.session.scalars(select(PriorityTier).where(
        PriorityTier.season_id == season.id).order_by(PriorityTier.rank)))
    assert [(t.school_id, t.key, t.rule) for t in tiers] == [
        (county.school_a.id, "hukou", {"hukou_in_zone": True}),
        (county.school_a.id, "others", {})]
    # The timeline a year on, at the same Beijing wall-clock times; the age rule too.
    phases = {p["key"]: p for p in body["phases"]}
    assert phases["plan_publicity"]["starts_at"] == f"{y + 1}-08-01T00:00:00+08:00"
    opened = source.registration_opens_at.astimezone(zone())
    assert phases["registration"]["starts_at"][:16] == opened.replace(
        year=opened.year + 1).isoformat()[:16]
    assert body["registration_opens_at"] == phases["registration"]["starts_at"]
    assert body["age_cutoff"] == source.age_cutoff.replace(year=source.age_cutoff.year + 1)\
        .isoformat()
    # Schools and zones are the authority's: nothing copied, nothing changed.
    assert db.session.scalar(select(func.count()).select_from(School)) == schools_before
    [audit] = _audits("season.create")
    assert audit.details["copy_from_season_id"] == source.id
    assert audit.details["copied"]["seat_plans"] == 2


def test_given_values_win_over_the_copied_ones(client: FlaskClient, county: County) -> None:
    year = county.season.year + 1
    created = client.post(API, headers=county.auth(), json={
        "year": year, "name": "下一季", "copy_from_season_id": county.season.id,
        "registration_opens_at": f"{year}-08-06T08:00+08:00",
        "registration_closes_at": f"{year}-08-10T17:30", "age_cutoff": f"{year - 6}-08-31",
        "must_read_notice": "本季须知"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["registration_opens_at"], body["registration_closes_at"]) == (
        f"{year}-08-06T08:00:00+08:00", f"{year}-08-10T17:30:00+08:00")
    # The registration phase is the window.
    [phase] = body["phases"]
    assert (phase["key"], phase["starts_at"], phase["ends_at"]) == (
        "registration", body["registration_opens_at"], body["registration_closes_at"])
    assert body["must_read_notice"] == "本季须知"


def test_a_season_from_nothing_needs_its_window_and_defaults_the_age_rule(
        client: FlaskClient, county: County) -> None:
    missing = client.post(API, headers=county.auth(), json={"year": 2031, "name": "2031年"})
    assert _fields(missing) == {"registration_opens_at", "registration_closes_at"}
    created = _new_season(client, county, 2031)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["age_cutoff"] == "2025-08-31" and body["copied"] is None
    assert body["stage"] == "primary" and body["must_read_notice"] == ""
    assert [p["key"] for p in body["phases"]] == ["registration"]


def test_bad_values_are_422_with_the_fields_at_fault(client: FlaskClient,
                                                     county: County) -> None:
    assert _fields(_new_season(client, county, 2031, registration_closes_at="2031-08-05T08:00")
                   ) == {"registration_closes_at"}
    assert _fields(_new_season(client, county, 2031, age_cutoff="2015-08-31")) == {"age_cutoff"}
    assert _fields(_new_season(client, county, 2031, purge_personal_data_after="2031-08-09")
                   ) == {"purge_personal_data_after"}
    assert _fields(_new_season(client, county, 2031, phases=[
        {"key": "publicity", "name": "公示", "starts_at": "2031-08-04T00:00",
         "ends_at": "2031-08-01T00:00"},
        {"key": "registration", "name": "网上报名", "starts_at": "2031-08-05T09:00",
         "ends_at": "2031-08-09T18:00"}])) == {"phases.0.ends_at", "phases.1.starts_at"}
    assert _fields(_new_season(client, county, 2031, colour="red")) == {"colour"}
    assert _fields(_new_season(client, county, 1999)) == {"year"}

    draft = _new_season(client, county, 2032).get_json()
    url = f"{API}/{draft['id']}"
    assert _fields(client.patch(url, headers=county.auth(), json={
        "registration_opens_at": draft["registration_closes_at"]})) == {"registration_closes_at"}
    assert _fields(client.put(f"{url}/phases", headers=county.auth(), json={"phases": [
        {"key": "a", "name": "甲", "starts_at": "2031-01-02T00:00", "ends_at": "2031-01-03T00:00"},
        {"key": "a", "name": "乙", "starts_at": "2031-01-02T00:00",
         "ends_at": "2031-01-01T00:00"}]})) == {"phases.1.key", "phases.1.ends_at"}
    assert db.session.scalar(select(func.count()).select_from(Season).where(
        Season.authority_id == county.authority.id)) == 2
    assert _audits("season.update") == [] and _audits("season.phases") == []


def test_a_second_season_of_the_same_year_is_409(client: FlaskClient, county: County) -> None:
    again = _new_season(client, county, county.season.year)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "SEASON_YEAR_TAKEN"
    copied = client.post(API, headers=county.auth(), json={
        "year": county.season.year, "name": "重复", "copy_from_season_id": county.season.id})
    assert copied.get_json()["error"]["code"] == "SEASON_YEAR_TAKEN"
    # Another stage of the same year is a different season.
    assert _new_season(client, county, county.season.year, stage="junior").status_code == 201


def test_times_are_beijing_time_to_the_minute_and_the_registration_phase_follows(
        client: FlaskClient, county: County) -> None:
    draft = _new_season(client, county, 2031).get_json()
    changed = client.patch(f"{API}/{draft['id']}", headers=county.auth(), json={
        "name": "2031年小学一年级招生", "registration_opens_at": "2031-08-04T08:00:45",
        "registration_closes_at": "2031-08-10T10:00:00Z", "age_cutoff": "2025-08-31",
        "must_read_notice": NOTICE, "purge_personal_data_after": "2031-12-31"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["registration_opens_at"] == "2031-08-04T08:00:00+08:00"
    assert body["registration_closes_at"] == "2031-08-10T18:00:00+08:00"
    assert body["phases"][0]["starts_at"] == body["registration_opens_at"]
    assert body["phases"][0]["ends_at"] == body["registration_closes_at"]
    season = db.session.get(Season, draft["id"])
    assert season is not None
    assert season.registration_opens_at == local_datetime(2031, 8, 4, 8, 0)
    assert season.purge_personal_data_after == dt.date(2031, 12, 31)
    assert season.must_read_notice == NOTICE
    [audit] = _audits("season.update")
    assert audit.details["changed"]["registration_opens_at"] == {
        "before": local_datetime(2031, 8, 5, 8, 0).isoformat(),
        "after": local_datetime(2031, 8, 4, 8, 0).isoformat()}
    assert audit.details["must_read_notice_changed"] is True
    assert NOTICE not in str(audit.details)
    cleared = client.patch(f"{API}/{draft['id']}", headers=county.auth(),
                           json={"purge_personal_data_after": None})
    assert cleared.get_json()["purge_personal_data_after"] is None


def test_publishing_and_archiving_move_the_status_once(client: FlaskClient,
                                                       county: County) -> None:
    year = county.season.year + 1
    draft = _new_season(client, county, year, must_read_notice=NOTICE).get_json()
    url = f"{API}/{draft['id']}"
    assert client.post(f"{url}/archive", headers=county.auth()).get_json()["error"]["code"] \
        == "SEASON_STATE_CONFLICT"

    published = client.post(f"{url}/publish", headers=county.auth())
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["status"] == "published"
    again = client.post(f"{url}/publish", headers=county.auth())
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "SEASON_STATE_CONFLICT"
    public = client.get(f"/api/v1/seasons?authority={county.authority.code}").get_json()
    assert public["items"][0]["id"] == draft["id"]
    assert public["items"][0]["must_read_notice"] == NOTICE
    # The new season is upcoming: it is the one families see now.
    current = client.get(f"/api/v1/seasons/current?authority={county.authority.code}")
    assert current.get_json()["id"] == draft["id"]

    archived = client.post(f"{API}/{county.season.id}/archive", headers=county.auth())
    assert archived.status_code == 200 and archived.get_json()["status"] == "archived"
    frozen = client.patch(f"{API}/{county.season.id}", headers=county.auth(), json={"name": "改"})
    assert frozen.status_code == 409 and frozen.get_json()["error"]["code"] == "SEASON_ARCHIVED"
    assert [a.object_id for a in _audits("season.publish")] == [str(draft["id"])]
    assert [a.object_id for a in _audits("season.archive")] == [str(county.season.id)]
    assert all(a.actor_role == "bureau_admin" and a.actor_user_id for a in
               _audits("season.publish") + _audits("season.archive"))


def test_two_published_seasons_of_a_stage_never_have_overlapping_windows(
        client: FlaskClient, county: County) -> None:
    season = county.season
    overlapping = _new_season(client, county, season.year + 1).get_json()
    assert client.patch(f"{API}/{overlapping['id']}", headers=county.auth(), json={
        "registration_opens_at": (season.registration_closes_at
                                  - dt.timedelta(hours=1)).isoformat(),
        "registration_closes_at": (season.registration_closes_at
                                   + dt.timedelta(days=3)).isoformat()}).status_code == 200
    refused = client.post(f"{API}/{overlapping['id']}/publish", headers=county.auth())
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "WINDOW_OVERLAP"
    assert db.session.get(Season, overlapping["id"]).status is SeasonStatus.DRAFT  # type: ignore[union-attr]


def test_an_open_published_window_keeps_its_start_and_age_rule_and_closes_no_earlier_than_now(
        client: FlaskClient, county: County) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    season = county.season
    season.registration_opens_at = now - dt.timedelta(days=1)
    season.registration_closes_at = now + dt.timedelta(days=2)
    season.phases[0].starts_at = season.registration_opens_at
    season.phases[0].ends_at = season.registration_closes_at
    db.session.flush()
    url, auth = f"{API}/{season.id}", county.auth()

    moved = client.patch(url, headers=auth, json={
        "registration_opens_at": (now + dt.timedelta(hours=1)).isoformat()})
    assert moved.status_code == 409
    assert moved.get_json()["error"]["code"] == "REGISTRATION_ALREADY_OPENED"
    cutoff = client.patch(url, headers=auth, json={"age_cutoff": f"{season.year - 6}-09-30"})
    assert cutoff.get_json()["error"]["code"] == "AGE_CUTOFF_FIXED"
    past = client.patch(url, headers=auth, json={
        "registration_closes_at": (now - dt.timedelta(hours=1)).isoformat()})
    assert past.status_code == 409 and past.get_json()["error"]["code"] == "WINDOW_CLOSES_IN_PAST"
    assert client.post(f"{url}/archive", headers=auth).get_json()["error"]["code"] \
        == "REGISTRATION_OPEN"

    later = (now + dt.timedelta(days=3)).astimezone(zone())
    extended = client.patch(url, headers=auth, json={"registration_closes_at": later.isoformat()})
    assert extended.status_code == 200, extended.get_json()
    assert extended.get_json()["phases"][0]["ends_at"] == later.isoformat()
    shortened = (now + dt.timedelta(hours=2)).astimezone(zone())
    assert client.patch(url, headers=auth, json={
        "registration_closes_at": shortened.isoformat()}).status_code == 200
    events = _audits("season.update")
    assert [e.details["registration_open"] for e in events] == [True, True]
    assert all(e.actor_user_id for e in events)


def test_roles_and_scope(client: FlaskClient, county: County,
                         login_parent: Callable[..., dict[str, Any]]) -> None:
    season = county.season
    draft = _new_season(client, county, season.year + 1).get_json()
    parent = bearer(login_parent()["token"])
    calls = [("GET", API, None), ("POST", API, {"year": 2040, "name": "x"}),
             ("GET", f"{API}/{draft['id']}", None),
             ("PATCH", f"{API}/{draft['id']}", {"name": "改名"}),
             ("PUT", f"{API}/{draft['id']}/phases", {"phases": []}),
             ("POST", f"{API}/{draft['id']}/publish", None),
             ("POST", f"{API}/{draft['id']}/archive", None)]
    for method, path, body in calls:
        for who, status in ((parent, 403), (county.auth("a"), 403)):
            answer = client.open(path, method=method, headers=who, json=body)
            assert answer.status_code == status, (method, path, answer.get_json())
    for method, path, body in calls[2:]:
        answer = client.open(path, method=method, headers=county.auth("other_bureau"), json=body)
        assert answer.status_code == 404, (method, path)
        assert answer.get_json()["error"]["code"] == "SEASON_NOT_FOUND"
    copy = client.post(API, headers=county.auth("other_bureau"), json={
        "year": 2040, "name": "抄", "copy_from_season_id": season.id})
    assert copy.status_code == 404
    assert db.session.get(Season, draft["id"]).name == f"{season.year + 1}年小学招生"  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(Season).where(
        Season.year == 2040)) == 0


def test_a_copy_leaves_out_plans_above_todays_class_size_cap(
        client: FlaskClient, county: County) -> None:
    # A plan of 50 per class, allowed when it was set (the database allows up to 56).
    plan = db.session.scalar(select(SeatPlan).where(SeatPlan.school_id == county.school_b.id))
    assert plan is not None
    plan.class_size = 50
    db.session.flush()
    body = client.post(API, headers=county.auth(), json={
        "year": county.season.year + 1, "name": "下一季",
        "copy_from_season_id": county.season.id}).get_json()
    assert (body["copied"]["seat_plans"], body["copied"]["seat_plans_over_cap"]) == (1, 1)


def test_the_public_season_carries_the_whole_must_read_notice_with_its_dates(
        client: FlaskClient, county: County) -> None:
    season = county.season
    opens = season.registration_opens_at.astimezone(zone(season.authority.timezone))
    assert client.patch(f"{API}/{season.id}", headers=county.auth(),
                        json={"must_read_notice": NOTICE}).status_code == 200

    body = client.get(f"/api/v1/seasons?authority={county.authority.code}").get_json()
    must_read = body["items"][0]["must_read"]

    titles = [s["title"] for s in must_read]
    assert titles[0] == "一、免试就近入学" and titles[-1] == "九、本季须知" and len(titles) == 9
    texts = {s["title"]: s["text"] for s in must_read}
    cutoff = season.age_cutoff
    assert f"{cutoff.year}年{cutoff.month}月{cutoff.day}日 及之前出生" in texts["二、入学年龄"]
    assert f"{opens.month}月{opens.day}日 {opens:%H:%M} 至" in texts["三、报名时间"]
    assert "报名先后不影响录取" in texts["三、报名时间"]
    assert texts["九、本季须知"] == NOTICE
