"""Seat plans (招生计划) and priority tiers: set by the bureau, capped, never below taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from backend.admission.models import PriorityTier, SeatCount
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.schools.models import SeatPlan
from backend.seasons.models import SeasonStatus
from tests.admission._support import (
    County,
    applicant,
    build_county,
    freeze,
    frozen_and_drawn,
    offers_of,
)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


def _plan_url(county: County, school_id: int | None = None) -> str:
    return f"/api/v1/admin/seat-plans/{county.season.id}/{school_id or county.school_a.id}"


def test_the_bureau_sets_a_plan_within_the_class_size_cap(client: FlaskClient,
                                                          county: County) -> None:
    response = client.put(_plan_url(county), headers=county.auth(),
                          json={"classes": 3, "class_size": 45})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["seats"], body["taken"], body["free"], body["class_size_cap"]) == (
        135, 0, 135, 45)
    plan = db.session.scalar(select(SeatPlan).where(SeatPlan.school_id == county.school_a.id))
    assert plan is not None and (plan.classes, plan.class_size) == (3, 45)

    over = client.put(_plan_url(county), headers=county.auth(),
                      json={"classes": 3, "class_size": 46})
    assert over.status_code == 422
    assert over.get_json()["error"]["code"] == "CLASS_SIZE_OVER_CAP"
    assert client.put(_plan_url(county), headers=county.auth("a"),
                      json={"classes": 3, "class_size": 40}).status_code == 403
    assert client.put(_plan_url(county), headers=county.auth("other_bureau"),
                      json={"classes": 3, "class_size": 40}).status_code == 404
    listed = client.get(f"/api/v1/admin/seat-plans?season_id={county.season.id}",
                        headers=county.auth()).get_json()["items"]
    assert {row["school"]["id"]: row["seats"] for row in listed} == {
        county.school_a.id: 135, county.school_b.id: 4}
    # School staff see their own school only.
    mine = client.get(f"/api/v1/admin/seat-plans?season_id={county.season.id}",
                      headers=county.auth("a")).get_json()["items"]
    assert [row["school"]["id"] for row in mine] == [county.school_a.id]
    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "admission.seat_plan")).all()
    assert len(audit) == 1 and audit[0].details["seats"] == 135


def test_a_plan_can_never_drop_below_the_seats_taken(client: FlaskClient,
                                                     county: County) -> None:
    for _ in range(8):
        applicant(county, county.school_a)
    frozen_and_drawn(client, county, county.school_a)  # 6 offers hold 6 seats
    response = client.put(_plan_url(county), headers=county.auth(),
                          json={"classes": 1, "class_size": 5})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "PLAN_BELOW_TAKEN"
    assert response.get_json()["error"]["details"]["taken"] == 6
    # Growing the plan offers the new seats to the waitlist at once.
    grown = client.put(_plan_url(county), headers=county.auth(),
                       json={"classes": 1, "class_size": 7})
    assert grown.status_code == 200
    assert grown.get_json()["taken"] == 7


def test_a_plan_can_not_drop_below_the_seats_committed_to_a_pending_draw(
        client: FlaskClient, county: County) -> None:
    for _ in range(8):
        applicant(county, county.school_a)
    assert freeze(client, county, county.school_a).status_code == 201
    response = client.put(_plan_url(county), headers=county.auth(),
                          json={"classes": 1, "class_size": 5})
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["committed_to_lottery"] == 6


def test_the_database_itself_refuses_a_counter_past_the_plan(client: FlaskClient,
                                                              county: County) -> None:
    """The CHECK behind every admission path, on SQLite and PostgreSQL alike."""
    applicant(county, county.school_a)
    assert freeze(client, county, county.school_a).get_json()["status"] == "settled"
    counter = db.session.scalar(select(SeatCount).where(
        SeatCount.school_id == county.school_a.id))
    assert counter is not None and (counter.seats, counter.taken) == (6, 1)
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.execute(text("UPDATE admission_seat_counts SET taken = seats + 1 "
                                "WHERE id = :id"), {"id": counter.id})
    assert "taken_within_seats" in str(caught.value)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(text("UPDATE admission_seat_counts SET seats = 0 WHERE id = :id"),
                           {"id": counter.id})


def _tiers_url(county: County) -> str:
    return f"/api/v1/admin/priority-tiers/{county.season.id}/{county.school_a.id}"


def test_the_default_tiers_apply_until_the_bureau_sets_its_own(client: FlaskClient,
                                                               county: County) -> None:
    default = client.get(_tiers_url(county), headers=county.auth("a")).get_json()
    assert default["configured"] is False
    assert [t["key"] for t in default["tiers"]] == [
        "preferential", "hukou_and_residence", "hukou", "residence_permit", "others"]
    assert default["tiers"][0]["rule"]["categories_any"][:2] == ["martyr_child",
                                                                 "military_child"]
    response = client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "permit_in_zone", "label": "持居住证在片区内居住",
         "rule": {"residence_permit": True, "residence_in_zone": True}},
        {"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}},
        {"key": "others", "label": "其他"}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["configured"] is True
    assert [t["rank"] for t in response.get_json()["tiers"]] == [1, 2, 3]
    assert db.session.scalar(select(PriorityTier.key).where(PriorityTier.rank == 1)) == (
        "permit_in_zone")


def test_the_configured_tiers_decide_the_draw(client: FlaskClient, county: County) -> None:
    client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "permit_in_zone", "label": "持居住证在片区内居住",
         "rule": {"residence_permit": True, "residence_in_zone": True}},
        {"key": "others", "label": "其他"}]})
    permit = [applicant(county, county.school_a, hukou=county.village_out,
                        residence=county.village_in, permit=True) for _ in range(2)]
    for _ in range(8):
        applicant(county, county.school_a)
    result = frozen_and_drawn(client, county, county.school_a)
    assert [r["tier"] for r in result["result"]] == [1, 1] + [2] * 8
    assert {r["outcome"] for r in result["result"][:2]} == {"admitted"}
    assert {p.id for p in permit} <= {o.registration_id for o in offers_of(county.school_a)}


def test_tiers_are_fixed_once_the_list_is_frozen_and_must_end_with_everyone(
        client: FlaskClient, county: County) -> None:
    bad = client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}}]})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "LAST_TIER_MUST_MATCH_ALL"
    unknown = client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "x", "label": "x", "rule": {"exam_score": 90}}]})
    assert unknown.status_code == 422  # no rule may test or score a child (BRIEF §2 rule 1)
    for _ in range(8):
        applicant(county, county.school_a)
    freeze(client, county, county.school_a)
    late = client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "others", "label": "其他"}]})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "TIERS_FROZEN"


def test_an_archived_season_keeps_its_plan_and_tiers(client: FlaskClient,
                                                     county: County) -> None:
    assert client.put(_plan_url(county), headers=county.auth(),
                      json={"classes": 2, "class_size": 40}).status_code == 200
    county.season.status = SeasonStatus.ARCHIVED
    db.session.flush()
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))

    plan = client.put(_plan_url(county), headers=county.auth(),
                      json={"classes": 3, "class_size": 45})
    assert plan.status_code == 409
    assert plan.get_json()["error"]["code"] == "SEASON_ARCHIVED"
    tiers = client.put(_tiers_url(county), headers=county.auth(), json={"tiers": [
        {"key": "others", "label": "其他"}]})
    assert tiers.status_code == 409
    assert tiers.get_json()["error"]["code"] == "SEASON_ARCHIVED"

    saved = db.session.scalar(select(SeatPlan).where(SeatPlan.season_id == county.season.id,
                                                     SeatPlan.school_id == county.school_a.id))
    assert saved is not None and (saved.classes, saved.class_size) == (2, 40)
    assert db.session.scalar(select(func.count()).select_from(PriorityTier).where(
        PriorityTier.season_id == county.season.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits
    # Reading stays open: the archive is for looking up.
    assert client.get(_tiers_url(county), headers=county.auth()).status_code == 200
    assert client.get(f"/api/v1/admin/seat-plans?season_id={county.season.id}",
                      headers=county.auth()).status_code == 200
