"""The read views the console's admission pages need: each school's lottery steps, the
waitlist with where each applicant stands, paged offers with deadlines, the schools whose
seats are committed to a draw, the admitted lists' status and the public list page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.accounts.models import User
from backend.admission.models import OfferStatus
from backend.admission.services import pseudonym
from backend.core.db import db, utcnow
from backend.registrations.models import RegistrationStatus
from tests.admission._support import (
    County,
    applicant,
    build_county,
    freeze,
    frozen_and_drawn,
    offers_of,
)
from tests.conftest import bearer


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


def _schools(client: FlaskClient, county: County, who: str = "bureau") -> Any:
    return client.get(f"/api/v1/admin/lottery-schools?season_id={county.season.id}",
                      headers=county.auth(who))


def test_lottery_schools_show_what_a_freeze_would_commit_to_and_the_real_lottery(
        client: FlaskClient, county: County) -> None:
    for _ in range(8):
        applicant(county, county.school_a)
    in_review = applicant(county, county.school_a, status=RegistrationStatus.UNDER_REVIEW)
    applicant(county, county.school_b)

    body = _schools(client, county).get_json()
    assert body["registration_closed"] is True
    rows = {r["school"]["code"]: r for r in body["items"]}
    a, b = rows[county.school_a.code], rows[county.school_b.code]
    assert (a["seats"], a["free"], a["applicants"], a["pending_review"]) == (6, 6, 8, 1)
    assert a["oversubscribed"] is True and a["lottery"] is None and a["practice_runs"] == 0
    assert (b["applicants"], b["oversubscribed"]) == (1, False)

    # A practice run is counted apart and never stands in for the real lottery.
    assert freeze(client, county, county.school_a, practice=True).status_code == 201
    a = {r["school"]["code"]: r for r in _schools(client, county).get_json()["items"]}[
        county.school_a.code]
    assert a["practice_runs"] == 1 and a["lottery"] is None

    in_review.status = RegistrationStatus.APPROVED
    db.session.flush()
    frozen = freeze(client, county, county.school_a).get_json()
    a = {r["school"]["code"]: r for r in _schools(client, county).get_json()["items"]}[
        county.school_a.code]
    assert a["lottery"]["id"] == frozen["id"] and a["lottery"]["status"] == "frozen"
    assert a["lottery"]["commitment"] == frozen["commitment"]
    assert a["lottery"]["practice"] is False


def test_lottery_schools_are_scoped(client: FlaskClient, county: County) -> None:
    applicant(county, county.school_a)
    assert _schools(client, county, "other_bureau").status_code == 404
    mine = _schools(client, county, "a").get_json()["items"]
    assert [r["school"]["code"] for r in mine] == [county.school_a.code]


def test_the_waitlist_shows_who_is_next_and_moves_when_a_family_declines(
        client: FlaskClient, county: County,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    parents = [login_parent() for _ in range(9)]
    registrations = [applicant(county, county.school_a,
                               user=db.session.get(User, p["user"]["id"])) for p in parents]
    result = frozen_and_drawn(client, county, county.school_a)
    url = (f"/api/v1/admin/waitlist?season_id={county.season.id}"
           f"&school_id={county.school_a.id}")

    before = client.get(url, headers=county.auth()).get_json()
    assert before["lottery_id"] == result["id"]
    assert (before["seats"], before["taken"], before["free"], before["waiting"]) == (6, 6, 0, 3)
    waitlisted = [r for r in result["result"] if r["outcome"] == "waitlisted"]
    assert [r["pseudonym"] for r in before["items"]] == [r["pseudonym"] for r in waitlisted]
    assert [r["waitlist_position"] for r in before["items"]] == [1, 2, 3]
    assert {r["state"] for r in before["items"]} == {"waiting"}

    # The first admitted family declines through the API: the first waitlisted is offered.
    by_pseudonym = {pseudonym(county.season.id, r.child_id): n
                    for n, r in enumerate(registrations)}
    first_admitted = next(r for r in result["result"] if r["outcome"] == "admitted")
    n = by_pseudonym[first_admitted["pseudonym"]]
    offer = next(o for o in offers_of(county.school_a) if o.registration_id == registrations[n].id)
    declined = client.post(f"/api/v1/offers/{offer.id}/decline",
                           headers=bearer(parents[n]["token"]))
    assert declined.status_code == 200

    after = client.get(url, headers=county.auth()).get_json()
    assert [r["state"] for r in after["items"]] == ["offered", "waiting", "waiting"]
    assert after["items"][0]["state_name"] == "已递补·待确认"
    moved = next(o for o in offers_of(county.school_a) if o.id == after["items"][0]["offer_id"])
    assert moved.status is OfferStatus.OFFERED and moved.source.value == "waitlist"
    assert after["items"][0]["respond_by"].endswith("+08:00")
    assert after["waiting"] == 2 and after["free"] == 0

    # School staff of the school may look; another county may not.
    assert client.get(url, headers=county.auth("a")).status_code == 200
    assert client.get(url, headers=county.auth("other_bureau")).status_code == 404


def test_the_waitlist_of_a_school_without_a_draw_is_empty(
        client: FlaskClient, county: County) -> None:
    body = client.get(f"/api/v1/admin/waitlist?season_id={county.season.id}"
                      f"&school_id={county.school_b.id}", headers=county.auth()).get_json()
    assert body["lottery_id"] is None and body["items"] == [] and body["seats"] == 4


def test_offers_are_paged_with_the_deadline_in_beijing_time_and_overdue_marked(
        client: FlaskClient, county: County) -> None:
    for _ in range(3):
        applicant(county, county.school_b)
    assert freeze(client, county, county.school_b, source="").status_code == 201
    offers = offers_of(county.school_b)
    offers[0].respond_by = utcnow() - dt.timedelta(hours=1)
    db.session.flush()
    base = f"/api/v1/admin/offers?season_id={county.season.id}"

    page = client.get(base + "&page_size=2", headers=county.auth()).get_json()
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (3, 1, 2, 2)
    second = client.get(base + "&page_size=2&page=2", headers=county.auth()).get_json()
    assert [o["id"] for o in page["items"] + second["items"]] == [o.id for o in offers]
    first = page["items"][0]
    assert first["overdue"] is True and first["source_name"] == "随机派位"
    assert first["respond_by"].endswith("+08:00")
    assert page["items"][1]["overdue"] is False

    overdue = client.get(base + "&overdue=true", headers=county.auth()).get_json()
    assert [o["id"] for o in overdue["items"]] == [offers[0].id] and overdue["total"] == 1
    assert client.get(base + "&overdue=false", headers=county.auth()).get_json()["total"] == 2


def test_seat_plans_say_which_schools_have_seats_committed_to_a_pending_draw(
        client: FlaskClient, county: County) -> None:
    for _ in range(7):
        applicant(county, county.school_a)
    assert freeze(client, county, county.school_a).status_code == 201
    rows = client.get(f"/api/v1/admin/seat-plans?season_id={county.season.id}",
                      headers=county.auth()).get_json()["items"]
    pending = {r["school"]["code"]: r["lottery_pending"] for r in rows}
    assert pending == {county.school_a.code: True, county.school_b.code: False}


def test_admitted_list_status_counts_and_the_public_page_after_publication(
        client: FlaskClient, county: County) -> None:
    registrations = [applicant(county, county.school_b, name=f"郑示例{n}") for n in range(3)]
    assert freeze(client, county, county.school_b, source="").status_code == 201
    offers = {o.registration_id: o for o in offers_of(county.school_b)}
    for registration in registrations[:2]:
        offers[registration.id].status = OfferStatus.CONFIRMED
        offers[registration.id].decided_at = utcnow()
    db.session.flush()
    url = f"/api/v1/admin/admitted-lists?season_id={county.season.id}"

    rows = {r["school"]["code"]: r for r in client.get(url, headers=county.auth()).get_json()[
        "items"]}
    b = rows[county.school_b.code]
    assert (b["seats"], b["confirmed"], b["offered"], b["published_at"]) == (4, 2, 1, None)
    page_url = b["public_page_url"]
    assert page_url == f"/portal/admitted/{county.school_b.code}?season_id={county.season.id}"
    assert client.get(page_url).status_code == 404  # not published yet

    assert client.post("/api/v1/admin/admitted-lists", headers=county.auth(), json={
        "season_id": county.season.id, "school_id": county.school_b.id}).status_code == 200
    b = {r["school"]["code"]: r for r in client.get(url, headers=county.auth()).get_json()[
        "items"]}[county.school_b.code]
    assert b["published_at"] and b["published_at"].endswith("+08:00")
    html = client.get(page_url).get_data(as_text=True)
    assert "郑示例0" not in html and "郑**0" in html
    for registration in registrations[:2]:
        assert pseudonym(county.season.id, registration.child_id) in html
    assert pseudonym(county.season.id, registrations[2].child_id) not in html
    assert 'id="lookup-form"' in html
    assert client.get(b["public_list_url"]).get_json()["total"] == 2

    assert client.get(url, headers=county.auth("a")).status_code == 403
    assert client.get(url, headers=county.auth("other_bureau")).status_code == 404
