"""The staff queue: scope (another school's registrations are 404), filters, pages, documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.registrations.models import RegistrationStatus
from tests.conftest import bearer
from tests.reviews._support import (
    County,
    add_registration,
    build_county,
    detail,
    make_family,
    png,
    review,
    submit,
    upload,
)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county with an open window, schools A and B and their reviewers."""
    return build_county(login_staff)


def _ids(client: FlaskClient, county: County, who: str, **params: Any) -> list[int]:
    response = client.get("/api/v1/staff/registrations", query_string=params,
                          headers=county.auth(who))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_a_school_sees_nothing_of_another_school(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county)
    document = upload(client, family)
    theirs = submit(client, family, county.school_b, [document])
    ours = add_registration(county, county.school_a).id

    assert _ids(client, county, "a") == [ours]
    assert _ids(client, county, "b") == [theirs]
    assert sorted(_ids(client, county, "bureau")) == sorted([ours, theirs])
    assert _ids(client, county, "other_bureau") == []

    for who in ("a", "other_bureau"):
        read = detail(client, county, who, theirs)
        assert read.status_code == 404
        assert read.get_json()["error"]["code"] == "REGISTRATION_NOT_FOUND"
        document_read = client.get(
            f"/api/v1/staff/registrations/{theirs}/uploads/{document}", headers=county.auth(who))
        assert document_read.status_code == 404
        decided = review(client, county, who, theirs, decision="approve",
                         expected_status="submitted")
        assert decided.status_code == 404
    # Asking for school B by name is no way round it.
    assert client.get("/api/v1/staff/registrations", query_string={
        "school": county.school_b.code}, headers=county.auth("a")).status_code == 404
    # Nor is a registration id that does not exist any different.
    assert detail(client, county, "a", 2_000_000_000).status_code == 404
    # School B's reviewer and the bureau do reach it.
    assert detail(client, county, "b", theirs).status_code == 200
    assert detail(client, county, "bureau", theirs).status_code == 200


def test_parents_cannot_use_the_staff_queue(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county)
    assert client.get("/api/v1/staff/registrations",
                      headers=family.auth()).status_code == 403
    assert client.get("/api/v1/staff/registrations").status_code == 401


def test_a_reviewer_reads_a_document_and_the_read_is_audited(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county)
    document = upload(client, family)
    other = upload(client, family, kind="birth_certificate")  # uploaded, never submitted
    registration_id = submit(client, family, county.school_a, [document])
    response = client.get(f"/api/v1/staff/registrations/{registration_id}/uploads/{document}",
                          headers=county.auth("a"))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data[:8] == png()[:8]
    assert response.headers["Cache-Control"] == "private, no-store"
    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "upload.view", AuditEvent.object_id == document)).all()
    assert len(audit) == 1
    assert audit[0].details == {"registration_id": registration_id, "kind": "hukou_book"}
    # A document of the same family that was not submitted with this registration: 404.
    assert client.get(f"/api/v1/staff/registrations/{registration_id}/uploads/{other}",
                      headers=county.auth("a")).status_code == 404


def test_filters(client: FlaskClient, county: County) -> None:
    a = county.school_a
    plain = add_registration(county, a, name="张三明")
    migrant = add_registration(county, a, categories=["migrant"], basis="residence_permit",
                               village=county.village_south, out_of_zone=True)
    disabled = add_registration(county, a, categories=["disability"], name="张丽")
    military = add_registration(county, a, categories=["military_child"],
                                status=RegistrationStatus.RETURNED)
    south = add_registration(county, a, village=county.village_south)
    other_school = add_registration(county, county.school_b, name="张三明")

    def ids(**params: Any) -> list[int]:
        return _ids(client, county, "a", **params)

    assert ids() == [plain.id, migrant.id, disabled.id, military.id, south.id]
    assert ids(status="returned") == [military.id]
    assert ids(basis="residence_permit") == [migrant.id]
    assert ids(category="disability") == [disabled.id]
    assert ids(category="preferential") == [military.id]
    assert ids(category="migrant") == [migrant.id]
    assert ids(out_of_zone="true") == [migrant.id]
    assert ids(out_of_zone="false") == [plain.id, disabled.id, military.id, south.id]
    # The town of the address the basis names: household registration, or residence.
    assert ids(town=county.town_south.code) == [migrant.id, south.id]
    assert ids(town=str(county.town_north.id)) == [plain.id, disabled.id, military.id]
    assert ids(q="张*明") == [plain.id]
    assert ids(q="张") == [plain.id, disabled.id]
    assert ids(q="张*") == [disabled.id]
    assert ids(q=str(south.id)) == [south.id]
    assert ids(q=migrant.ticket) == [migrant.id]
    # Only what the mask shows can be searched: a full name finds nothing.
    assert ids(q="张三明") == []
    assert ids(q="%") == []
    assert ids(year=county.season.year) == ids()
    assert ids(year=county.season.year - 1) == []

    bureau = _ids(client, county, "bureau", school=county.school_b.code)
    assert bureau == [other_school.id]
    assert _ids(client, county, "bureau", school=str(county.school_b.id)) == [other_school.id]
    assert _ids(client, county, "bureau", q="张*明") == [plain.id, other_school.id]

    rows = client.get("/api/v1/staff/registrations", headers=county.auth("a")).get_json()
    first = rows["items"][0]
    assert first["child_name"] == "张*明" and first["town"]["name"] == "北镇"
    assert first["school"]["code"] == a.code and first["version"] == 1
    assert rows["fairness_notice"] == "报名先后不影响录取"
    migrant_row = rows["items"][1]
    assert migrant_row["town"]["name"] == "南镇" and migrant_row["basis_name"] == "居住证"
    assert [r["needs_bureau_review"] for r in rows["items"]] == [False, False, True, True, False]

    for params, code in (({"town": "nowhere"}, 404), ({"category": "rich"}, 422),
                         ({"status": "lost"}, 422), ({"per_page": 0}, 422),
                         ({"sort": "created_at"}, 422)):
        response = client.get("/api/v1/staff/registrations", query_string=params,
                              headers=county.auth("a"))
        assert response.status_code == code, params


def test_pages_are_stable_and_capped(client: FlaskClient, county: County) -> None:
    made = [add_registration(county, county.school_a).id for _ in range(5)]
    pages = []
    for page in (1, 2, 3):
        body = client.get("/api/v1/staff/registrations", query_string={
            "page": page, "per_page": 2}, headers=county.auth("a")).get_json()
        assert body["total"] == 5 and body["per_page"] == 2
        pages.append([item["id"] for item in body["items"]])
    assert pages == [made[0:2], made[2:4], made[4:5]]
    capped = client.get("/api/v1/staff/registrations", query_string={"per_page": 5000},
                        headers=county.auth("a")).get_json()
    assert capped["per_page"] == 100 and len(capped["items"]) == 5
    beyond = client.get("/api/v1/staff/registrations", query_string={"page": 9},
                        headers=county.auth("a")).get_json()
    assert beyond["items"] == [] and beyond["total"] == 5


def test_detail_masks_and_shows_the_timeline(client: FlaskClient, county: County) -> None:
    registration = add_registration(county, county.school_a, categories=["disability"],
                                    name="王小丽")
    body = detail(client, county, "a", registration.id).get_json()
    assert body["child"]["name"] == "王*丽"
    assert body["child"]["categories"] == [{"key": "disability", "name": "残疾儿童少年"}]
    assert body["guardian"]["name"] == "王*例"
    assert body["guardian"]["id_number"].count("*") == 8
    assert body["hukou"]["town"]["name"] == "北镇"
    assert [e["actor_role"] for e in body["timeline"]] == ["parent"]
    assert body["timeline"][0]["actor_user_id"] == registration.submitted_by_user_id


def test_an_unknown_token_cannot_review(client: FlaskClient,
                                                   county: County) -> None:
    registration = add_registration(county, county.school_a)
    response = client.post(f"/api/v1/staff/registrations/{registration.id}/review",
                           json={"decision": "approve", "expected_status": "submitted"},
                           headers=bearer("not-a-token"))
    assert response.status_code == 401


@pytest.mark.parametrize("params", [
    {"q": "²"}, {"q": "１２３"}, {"q": "99999999999999999999"}, {"q": "%_\\*"}, {"q": "*"},
    {"q": "T" + "0" * 39}, {"school": "99999999999999999999"}, {"town": "²"},
])
def test_odd_search_input_is_never_a_crash(client: FlaskClient, county: County,
                                           params: dict[str, str]) -> None:
    add_registration(county, county.school_a)
    response = client.get("/api/v1/staff/registrations", query_string=params,
                          headers=county.auth("bureau"))
    assert response.status_code in (200, 404), response.get_json()
    if response.status_code == 200:
        assert response.get_json()["items"] == []


def test_ids_beyond_the_integer_range_are_not_a_crash(client: FlaskClient,
                                                      county: County) -> None:
    for path in ("/api/v1/staff/registrations/99999999999",
                 "/api/v1/staff/registrations/99999999999/uploads/" + "a" * 32):
        response = client.get(path, headers=county.auth("a"))
        assert response.status_code in (404, 422)
