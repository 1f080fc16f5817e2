"""Input is accepted exactly as the OpenAPI document describes it (findings of the fuzz test).

Each test is one thing tests/api/test_contract_fuzz.py found, pinned as plain behaviour.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.core.sessions import create_session
from backend.schools.models import School
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_parent,
    make_school,
    make_staff,
)


def _admin(school: bool = False) -> tuple[School, dict[str, str]]:
    authority = make_authority()
    home = make_school(authority)
    user = make_staff(authority, school=home if school else None)
    role = "school_staff" if school else "bureau_admin"
    return home, bearer(create_session(user.id, role, 600))


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()["error"]
    assert body["code"] == "VALIDATION_FAILED"
    return [f["field"] for f in body["details"]["fields"]]


@pytest.mark.parametrize("path", ["/api/v1/admin/audit-events?date_to=0",
                                  "/api/v1/admin/notices?date_from=20240101",
                                  "/api/v1/staff/onsite/no-shows?date=1700000000"])
def test_a_number_is_not_a_date_in_the_query(client: FlaskClient, session: Any,
                                             path: str) -> None:
    # Pydantic would read digits as a Unix timestamp; the document says format: date.
    _, auth = _admin()
    name = path.split("?")[1].split("=")[0]
    assert _fields(client.get(path, headers=auth)) == [name]


@pytest.mark.parametrize("publish_at", [0, "0", "1700000000", True])
def test_a_number_is_not_a_date_time_in_a_body(client: FlaskClient, session: Any,
                                               publish_at: Any) -> None:
    _, auth = _admin()
    response = client.post("/api/v1/staff/announcements", headers=auth, json={
        "category": "plan", "title": "招生公告", "body": "正文", "publish_at": publish_at})
    assert _fields(response) == ["publish_at"]


def test_dates_nested_in_lists_are_checked_too(client: FlaskClient, session: Any) -> None:
    _, auth = _admin()
    response = client.post("/api/v1/admin/seasons", headers=auth, json={
        "year": 2031, "name": "2031年小学招生",
        "registration_opens_at": "2031-08-05T08:00:00+08:00",
        "registration_closes_at": "2031-08-09T18:00:00+08:00",
        "phases": [{"key": "registration", "name": "网上报名", "starts_at": "1",
                    "ends_at": "2031-08-09T18:00:00+08:00"}]})
    assert _fields(response) == ["phases.0.starts_at"]


@pytest.mark.parametrize("year", ["2031", 2031.5, True])
def test_json_types_are_strict(client: FlaskClient, session: Any, year: Any) -> None:
    # "2031" is a string and true a boolean, whatever Python would make of them.
    _, auth = _admin()
    response = client.post("/api/v1/admin/seasons", headers=auth, json={
        "year": year, "name": "2031年小学招生",
        "registration_opens_at": "2031-08-05T08:00:00+08:00",
        "registration_closes_at": "2031-08-09T18:00:00+08:00"})
    assert _fields(response) == ["year"]


def test_null_for_a_field_that_takes_no_null_is_422(client: FlaskClient, session: Any) -> None:
    _, auth = _admin()
    for field in ("username", "password", "role"):
        body: dict[str, Any] = {"username": "newstaff1", "password": STAFF_PASSWORD,
                                "role": "bureau_admin", field: None}
        response = client.post("/api/v1/admin/staff-accounts", headers=auth, json=body)
        assert _fields(response) == [field]


def test_null_display_name_means_none_as_documented(client: FlaskClient, session: Any) -> None:
    # display_name is documented as string or null (no display name); a number is neither.
    _, auth = _admin()
    created = client.post("/api/v1/admin/staff-accounts", headers=auth, json={
        "username": "newstaff2", "password": STAFF_PASSWORD, "role": "bureau_admin",
        "display_name": None})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["display_name"] is None
    wrong = client.post("/api/v1/admin/staff-accounts", headers=auth, json={
        "username": "newstaff3", "password": STAFF_PASSWORD, "role": "bureau_admin",
        "display_name": 42})
    assert _fields(wrong) == ["display_name"]


def test_unknown_subscription_key_is_422(client: FlaskClient, session: Any) -> None:
    parent = make_parent()
    auth = bearer(create_session(parent.id, "parent", 600))
    response = client.post("/api/v1/me/subscriptions", headers=auth,
                           json={"results": {"no_such_template": "accept"}})
    assert _fields(response) == ["results.no_such_template.[key]"]
    ok = client.post("/api/v1/me/subscriptions", headers=auth,
                     json={"results": {"review_result": "accept"}})
    assert ok.status_code == 200, ok.get_json()


@pytest.mark.parametrize("ids", [[0, 5], [5, 5], [5, 2_000_000_001]])
def test_together_request_ids_are_checked_as_documented(client: FlaskClient, session: Any,
                                                        ids: list[int]) -> None:
    _, auth = _admin(school=True)
    response = client.post("/api/v1/staff/classes/together-requests", headers=auth,
                           json={"season_id": 1, "registration_ids": ids})
    assert _fields(response)[0].startswith("registration_ids")


def test_an_id_beyond_the_database_range_is_422(client: FlaskClient, session: Any) -> None:
    _, auth = _admin()
    response = client.get("/api/v1/admin/complaints/99999999999", headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "VALUE_OUT_OF_RANGE"
