"""What the console's class page reads: a filtered page of an assignment's children and its
correction log, scoped like every staff view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.accounts.models import User
from backend.core.db import db
from tests.classes._support import Cohort, admit_cohort, commit, published
from tests.onsite._support import County, build_county


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county whose school A plans 3 classes of 30."""
    return build_county(login_staff, classes=3, class_size=30)


@pytest.fixture()
def cohort(county: County) -> Cohort:
    """50 children admitted to school A, a pair of twins among them, some with needs."""
    return admit_cohort(county, county.school_a, 50, twins=1, special_every=10)


def _pupils(client: FlaskClient, county: County, assignment_id: int, who: str = "a",
            **query: Any) -> Any:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return client.get(f"/api/v1/staff/classes/assignments/{assignment_id}/pupils?{params}",
                      headers=county.auth(who))


def test_the_pupils_of_an_assignment_are_paged_and_filtered_by_the_api(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    first, second = cohort.twins[0]
    assert client.post("/api/v1/staff/classes/together-requests", headers=county.auth("a"),
                       json={"season_id": county.season.id,
                             "registration_ids": [first.id, second.id]}).status_code == 201
    body = published(client, county)
    detail = client.get(f"/api/v1/staff/classes/assignments/{body['id']}",
                        headers=county.auth("a")).get_json()
    everyone = detail["pupils"]

    page = _pupils(client, county, body["id"], per_page=20)
    assert page.status_code == 200, page.get_json()
    listed = page.get_json()
    assert listed["total"] == 50 and len(listed["items"]) == 20
    assert listed["items"] == everyone[:20]  # the committed (pseudonym) order
    assert _pupils(client, county, body["id"], page=3, per_page=20).get_json()["items"] == \
        everyone[40:]
    for class_no in (1, 2, 3):
        in_class = _pupils(client, county, body["id"], class_no=class_no,
                           per_page=100).get_json()
        expected = [p for p in everyone if p["class_no"] == class_no]
        assert in_class["items"] == expected
        assert in_class["total"] == next(s["size"] for s in body["summary"]
                                         if s["class_no"] == class_no)
    girls = _pupils(client, county, body["id"], sex="female", per_page=100).get_json()
    assert girls["total"] == sum(s["female"] for s in body["summary"])
    special = _pupils(client, county, body["id"], special="true", per_page=100).get_json()
    assert special["total"] == sum(s["special"] for s in body["summary"]) == 5
    grouped = _pupils(client, county, body["id"], grouped="true").get_json()["items"]
    assert {p["registration_id"] for p in grouped} == {first.id, second.id}
    assert len({p["class_no"] for p in grouped}) == 1  # twins share a class
    one = everyone[7]
    for q in (one["pseudonym"], one["pseudonym"].lower(), str(one["registration_id"])):
        assert _pupils(client, county, body["id"], q=q).get_json()["items"] == [one]
    assert _pupils(client, county, body["id"], corrected="true").get_json()["total"] == 0


def test_the_correction_log_names_who_corrected_and_why(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    body = published(client, county)
    assert client.get(f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                      headers=county.auth("a")).get_json() == {"items": []}
    pupil = _pupils(client, county, body["id"], class_no=1).get_json()["items"][0]
    admin = db.session.get(User, county.user_ids["bureau"])
    assert admin is not None
    admin.display_name = "刘主任"
    db.session.commit()
    corrected = client.post(f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                            headers=county.auth("bureau"), json={
                                "registration_id": pupil["registration_id"], "to_class": 2,
                                "reason_code": "data_error", "note": "出生日期录入有误"})
    assert corrected.status_code == 201, corrected.get_json()

    log = client.get(f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                     headers=county.auth("a")).get_json()["items"]
    assert [(c["pseudonym"], c["from_class"], c["to_class"], c["reason_code"], c["note"],
             c["corrected_by_name"]) for c in log] == [
        (pupil["pseudonym"], 1, 2, "data_error", "出生日期录入有误", "刘主任")]
    assert log[0]["reason"] == "性别、出生日期等信息有误"
    moved = _pupils(client, county, body["id"], corrected="true").get_json()["items"]
    assert [(p["registration_id"], p["drawn_class_no"], p["class_no"]) for p in moved] == [
        (pupil["registration_id"], 1, 2)]


def test_another_schools_staff_and_another_county_see_nothing_of_it(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    assignment_id = commit(client, county).get_json()["id"]
    for who in ("b", "other_bureau"):
        for path in ("pupils", "corrections"):
            response = client.get(f"/api/v1/staff/classes/assignments/{assignment_id}/{path}",
                                  headers=county.auth(who))
            assert response.status_code == 404, (who, path)
            assert response.get_json()["error"]["code"] == "ASSIGNMENT_NOT_FOUND"
    # Before the draw every child is listed, with no class yet.
    listed = _pupils(client, county, assignment_id, "bureau", per_page=100).get_json()
    assert listed["total"] == 50 and {p["class_no"] for p in listed["items"]} == {None}

