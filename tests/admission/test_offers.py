"""Offers and waitlists: confirm or decline by a deadline, the seat moves on, one offer each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import User
from backend.admission.models import Offer, OfferSource, OfferStatus, SeatCount
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.core.jobs import enqueue
from backend.registrations.models import Registration
from backend.worker.periodic import Ticker
from tests.admission._support import (
    County,
    applicant,
    build_county,
    freeze,
    frozen_and_drawn,
    notices_of,
    offers_of,
)
from tests.conftest import bearer
from tests.reviews._support import worker


@dataclass
class Drawn:
    """School A drawn: our family admitted (tier 1), eight in the zone for five seats."""

    ours: Registration
    token: str
    result: dict[str, Any]
    waitlist: list[Registration]

    def auth(self) -> dict[str, str]:
        """Our parent's Authorization header."""
        return bearer(self.token)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


@pytest.fixture()
def drawn(client: FlaskClient, county: County,
          login_parent: Callable[..., dict[str, Any]]) -> Drawn:
    """Our family (preferential, so admitted) and eight zone applicants for five seats."""
    login = login_parent()
    parent = db.session.get(User, login["user"]["id"])
    ours = applicant(county, county.school_a, user=parent, hukou=county.village_out,
                     categories=["police_hero_child"])
    zone = [applicant(county, county.school_a) for _ in range(8)]
    result = frozen_and_drawn(client, county, county.school_a)
    by_pseudonym = {r["pseudonym"]: r for r in result["result"]}
    from backend.admission.services import pseudonym

    waitlist = sorted((r for r in zone if by_pseudonym[pseudonym(
        county.season.id, r.child_id)]["outcome"] == "waitlisted"),
        key=lambda r: by_pseudonym[pseudonym(county.season.id, r.child_id)]["position"])
    assert len(waitlist) == 3
    return Drawn(ours, login["token"], result, waitlist)


def _offer_of(registration: Registration) -> Offer:
    [offer] = [o for o in offers_of() if o.registration_id == registration.id]
    return offer


def _taken(county: County, school_id: int | None = None) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(SeatCount.taken).where(
        SeatCount.school_id == (school_id or county.school_a.id))) or 0)


def test_the_draw_offers_seats_and_tells_every_family_its_result(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    assert offer.status is OfferStatus.OFFERED and offer.source is OfferSource.LOTTERY
    assert offer.respond_by is not None and offer.respond_by > utcnow()
    [notice] = notices_of(drawn.ours.submitted_by_user_id)
    assert notice.data["result"] == "拟录取" and notice.data["note"].startswith("请于")
    assert notice.data["school"] == county.school_a.name and "*" in notice.data["child"]
    first_waiting = drawn.waitlist[0]
    [waiting] = notices_of(first_waiting.submitted_by_user_id)
    assert (waiting.data["result"], waiting.data["note"]) == ("候补", "候补第1位")
    mine = client.get("/api/v1/offers", headers=drawn.auth()).get_json()["items"]
    assert [(o["id"], o["status"], o["actions"]) for o in mine] == [
        (offer.id, "offered", ["confirm", "decline"])]
    assert _taken(county) == 6


def test_a_family_confirms_its_own_offer_only(client: FlaskClient, county: County,
                                              drawn: Drawn,
                                              login_parent: Callable[..., dict[str, Any]]
                                              ) -> None:
    offer = _offer_of(drawn.ours)
    stranger = bearer(login_parent()["token"])
    assert client.post(f"/api/v1/offers/{offer.id}/confirm",
                       headers=stranger).status_code == 404
    assert client.post(f"/api/v1/offers/{offer.id}/confirm",
                       headers=county.auth()).status_code == 403
    response = client.post(f"/api/v1/offers/{offer.id}/confirm", headers=drawn.auth())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    assert response.get_json()["actions"] == ["withdraw"]
    again = client.post(f"/api/v1/offers/{offer.id}/decline", headers=drawn.auth())
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "OFFER_NOT_OPEN"


def test_a_decline_offers_the_seat_to_the_next_on_the_waitlist_with_a_notice(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    response = client.post(f"/api/v1/offers/{offer.id}/decline", headers=drawn.auth())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "declined"
    nxt = drawn.waitlist[0]
    moved = _offer_of(nxt)
    assert moved.status is OfferStatus.OFFERED and moved.source is OfferSource.WAITLIST
    assert moved.respond_by is not None
    results = [n.data["result"] for n in notices_of(nxt.submitted_by_user_id)]
    assert results == ["候补", "候补录取"]
    assert _taken(county) == 6
    # Nobody else moved: the second on the waitlist is still waiting.
    assert [o for o in offers_of() if o.registration_id == drawn.waitlist[1].id] == []


def test_a_withdrawal_after_confirming_also_moves_the_waitlist(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    client.post(f"/api/v1/offers/{offer.id}/confirm", headers=drawn.auth())
    response = client.post(f"/api/v1/offers/{offer.id}/withdraw", headers=drawn.auth(),
                           json={"reason": "举家迁往外地"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "withdrawn"
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED


def test_offers_past_their_deadline_expire_and_the_seat_moves_on(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    offer.respond_by = utcnow() - dt.timedelta(minutes=1)
    db.session.flush()
    late = client.post(f"/api/v1/offers/{offer.id}/confirm", headers=drawn.auth())
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "OFFER_EXPIRED"
    response = client.post("/api/v1/admin/offers/expire-overdue", headers=county.auth(),
                           json={"season_id": county.season.id})
    assert response.status_code == 200 and response.get_json() == {"expired": 1}
    assert _offer_of(drawn.ours).status is OfferStatus.EXPIRED
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED
    assert client.post("/api/v1/admin/offers/expire-overdue", headers=county.auth(),
                       json={"season_id": county.season.id}).get_json() == {"expired": 0}


def test_the_worker_job_expires_overdue_offers(client: FlaskClient, county: County,
                                               drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    offer.respond_by = utcnow() - dt.timedelta(minutes=1)
    db.session.flush()
    enqueue("admission.expire_offers", {"season_id": county.season.id})
    worker().run_once()
    assert _offer_of(drawn.ours).status is OfferStatus.EXPIRED
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED
    assert _taken(county) == 6


def test_a_workers_clock_expires_overdue_offers(app: Flask, client: FlaskClient,
                                               county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    offer.respond_by = utcnow() - dt.timedelta(minutes=1)
    db.session.flush()
    assert "admission.expire_offers" in Ticker(app, "worker-1").run_due()
    assert _offer_of(drawn.ours).status is OfferStatus.EXPIRED
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED
    # Another worker in the same round does nothing; the next round finds nothing to do.
    assert "admission.expire_offers" not in Ticker(app, "worker-2").run_due()
    assert _taken(county) == 6


def test_no_child_can_ever_hold_two_live_offers(client: FlaskClient, county: County,
                                                drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.add(Offer(season_id=offer.season_id, school_id=county.school_b.id,
                             child_id=offer.child_id, registration_id=offer.registration_id,
                             source=OfferSource.BUREAU_PLACEMENT, placement_reason="x",
                             status=OfferStatus.OFFERED))
        db.session.flush()
    # PostgreSQL names the index; SQLite names its columns.
    assert any(name in str(caught.value) for name in (
        "uq_admission_offers_live_child_season",
        "admission_offers.season_id, admission_offers.child_id"))
    response = client.post("/api/v1/admin/placements", headers=county.auth(), json={
        "registration_id": drawn.ours.id, "school_id": county.school_b.id,
        "reason": "统筹安排测试"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "ALREADY_PLACED"
    # Once declined, the seat is given back, and the child may be offered another.
    client.post(f"/api/v1/offers/{offer.id}/decline", headers=drawn.auth())
    placed = client.post("/api/v1/admin/placements", headers=county.auth(), json={
        "registration_id": drawn.ours.id, "school_id": county.school_b.id,
        "reason": "家长申请就近统筹"})
    assert placed.status_code == 201, placed.get_json()


def test_the_bureau_places_a_child_not_placed_with_a_recorded_reason(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    waiting = drawn.waitlist[2]
    unplaced = client.get(f"/api/v1/admin/unplaced?season_id={county.season.id}",
                          headers=county.auth()).get_json()["items"]
    assert {u["registration_id"] for u in unplaced} == {r.id for r in drawn.waitlist}
    assert all("*" in u["child_name"] for u in unplaced)
    assert client.post("/api/v1/admin/placements", headers=county.auth("a"), json={
        "registration_id": waiting.id, "school_id": county.school_b.id,
        "reason": "统筹"}).status_code == 403
    response = client.post("/api/v1/admin/placements", headers=county.auth(), json={
        "registration_id": waiting.id, "school_id": county.school_b.id,
        "reason": "甲校学位已满，统筹至乙校"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["source"] == "bureau_placement" and body["status"] == "offered"
    assert body["placement_reason"] == "甲校学位已满，统筹至乙校"
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "admission.placement"))
    assert audit is not None and audit.details["reason"] == "甲校学位已满，统筹至乙校"
    assert notices_of(waiting.submitted_by_user_id)[-1].data["result"] == "统筹安排"
    assert _taken(county, county.school_b.id) == 1

    # A seat freed at A skips the child now placed at B (no child holds two offers).
    client.post(f"/api/v1/offers/{_offer_of(drawn.ours).id}/decline", headers=drawn.auth())
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED
    assert [o.school_id for o in offers_of(child_id=waiting.child_id)] == [
        county.school_b.id]


def test_placement_never_fills_a_school_past_its_plan(client: FlaskClient,
                                                      county: County) -> None:
    children = [applicant(county, county.school_a) for _ in range(5)]
    # School B: 4 seats, none applied, no lottery; the bureau places four, the fifth fails.
    codes = [client.post("/api/v1/admin/placements", headers=county.auth(), json={
        "registration_id": r.id, "school_id": county.school_b.id, "reason": "统筹安排"}
    ).status_code for r in children]
    assert codes == [201, 201, 201, 201, 409]
    assert _taken(county, county.school_b.id) == 4


def test_no_placement_into_a_school_whose_draw_is_pending(client: FlaskClient,
                                                          county: County) -> None:
    for _ in range(8):
        applicant(county, county.school_a)
    elsewhere = applicant(county, county.school_b)
    assert freeze(client, county, county.school_a).status_code == 201
    response = client.post("/api/v1/admin/placements", headers=county.auth(), json={
        "registration_id": elsewhere.id, "school_id": county.school_a.id,
        "reason": "统筹安排"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "LOTTERY_PENDING"


def test_the_bureau_withdraws_an_offer_with_a_reason_and_the_seat_moves_on(
        client: FlaskClient, county: County, drawn: Drawn) -> None:
    offer = _offer_of(drawn.ours)
    assert client.post(f"/api/v1/admin/offers/{offer.id}/withdraw", headers=county.auth(),
                       json={"reason": "x"}).status_code == 422
    response = client.post(f"/api/v1/admin/offers/{offer.id}/withdraw", headers=county.auth(),
                           json={"reason": "经核查户籍材料不实"})
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert _offer_of(drawn.waitlist[0]).status is OfferStatus.OFFERED
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "admission.offer_withdraw")) is not None
    listed = client.get(f"/api/v1/admin/offers?season_id={county.season.id}&status=withdrawn",
                        headers=county.auth("a")).get_json()["items"]
    assert [o["id"] for o in listed] == [offer.id]
