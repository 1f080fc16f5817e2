"""What the console's on-site desk reads: a school's admitted children with their bookings
(to book on a family's behalf), and who checked a family in, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.accounts.models import User
from backend.core.db import db
from backend.core.pii import mask_name
from backend.identity.models import Child
from tests.onsite._support import County, Family, admitted_family, build_county, create_slot


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county whose registration window has closed, with schools A and B and their staff."""
    return build_county(login_staff)


def _admitted(client: FlaskClient, county: County, who: str = "a", **query: Any) -> Any:
    params = "&".join(f"{k}={v}" for k, v in {"season_id": county.season.id, **query}.items())
    return client.get(f"/api/v1/staff/onsite/admitted?{params}", headers=county.auth(who))


def _ticket_code(client: FlaskClient, family: Family, booking_id: int) -> str:
    response = client.get(f"/api/v1/onsite/bookings/{booking_id}/ticket", headers=family.auth())
    return str(response.get_json()["code"])


def test_staff_list_the_schools_admitted_children_with_their_bookings(
        client: FlaskClient, county: County,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    families = [admitted_family(login_parent, county) for _ in range(3)]
    elsewhere = admitted_family(login_parent, county, county.school_b)
    slot = create_slot(client, county).get_json()
    booked = client.post("/api/v1/onsite/bookings", headers=families[1].auth(),
                         json={"registration_id": families[1].registration_id,
                               "slot_id": slot["id"]})
    assert booked.status_code == 201

    response = _admitted(client, county)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 3 and (body["page"], body["per_page"]) == (1, 20)
    ids = [row["registration_id"] for row in body["items"]]
    assert ids == sorted(f.registration_id for f in families)  # by number, never a ranking
    assert elsewhere.registration_id not in ids
    rows = {row["registration_id"]: row for row in body["items"]}
    with_booking = rows[families[1].registration_id]
    assert with_booking["slot"]["id"] == slot["id"] and with_booking["booked_by_role"] == "parent"
    assert with_booking["checked_in"] is False
    child = db.session.get(Child, families[0].child_id)
    assert child is not None
    assert rows[families[0].registration_id]["child_name"] == mask_name(child.name)
    assert rows[families[0].registration_id]["slot"] is None

    unbooked = _admitted(client, county, booked="false").get_json()
    assert {r["registration_id"] for r in unbooked["items"]} == {
        families[0].registration_id, families[2].registration_id}
    assert [r["registration_id"] for r in _admitted(client, county, booked="true").get_json()[
        "items"]] == [families[1].registration_id]
    by_number = _admitted(client, county, q=families[2].registration_id).get_json()
    assert [r["registration_id"] for r in by_number["items"]] == [families[2].registration_id]
    by_masked_name = _admitted(client, county, q=mask_name(child.name)).get_json()
    assert families[0].registration_id in [r["registration_id"] for r in by_masked_name["items"]]
    assert _admitted(client, county, q="nobody").get_json()["total"] == 0
    paged = _admitted(client, county, per_page=2, page=2).get_json()
    assert paged["total"] == 3 and len(paged["items"]) == 1


def test_the_admitted_list_is_scoped_like_every_staff_view(
        client: FlaskClient, county: County,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    admitted_family(login_parent, county)
    # Another school's staff naming school A: as if it did not exist.
    other = _admitted(client, county, "b", school=county.school_a.code)
    assert other.status_code == 404
    assert _admitted(client, county, "b").get_json()["total"] == 0
    # A bureau admin names the school; another county's bureau sees nothing of it.
    assert _admitted(client, county, "bureau").get_json()["error"]["code"] == "SCHOOL_REQUIRED"
    assert _admitted(client, county, "bureau", school=county.school_a.code).get_json()[
        "total"] == 1
    assert _admitted(client, county, "other_bureau",
                     school=county.school_a.code).status_code == 404


def test_the_desk_and_the_roster_say_who_checked_a_family_in(
        client: FlaskClient, county: County,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    family = admitted_family(login_parent, county)
    slot = create_slot(client, county).get_json()
    booking = client.post("/api/v1/staff/onsite/bookings", headers=county.auth("a"),
                          json={"registration_id": family.registration_id,
                                "slot_id": slot["id"]}).get_json()
    code = _ticket_code(client, family, booking["id"])
    staff = db.session.get(User, county.user_ids["a"])
    assert staff is not None
    staff.display_name = "王老师"
    db.session.commit()
    assert client.post("/api/v1/staff/checkins", json={"code": code},
                       headers=county.auth("a")).status_code == 201

    again = client.post("/api/v1/staff/checkins", json={"code": code}, headers=county.auth("a"))
    assert again.status_code == 409
    details = again.get_json()["error"]["details"]
    assert details["checked_in_by_name"] == "王老师" and details["checked_in_at"]
    roster = client.get(f"/api/v1/staff/onsite/slots/{slot['id']}/bookings",
                        headers=county.auth("a")).get_json()["items"]
    assert roster[0]["checked_in_by_name"] == "王老师"
    assert _admitted(client, county, checked_in="true").get_json()["items"][0][
        "checked_in"] is True
    # Families never see staff names on their own bookings.
    mine = client.get("/api/v1/onsite/bookings", headers=family.auth()).get_json()["items"]
    assert mine[0]["checked_in_by_name"] is None and mine[0]["checked_in_by_user_id"] is None
