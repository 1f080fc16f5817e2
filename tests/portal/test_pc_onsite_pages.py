"""The PC pages 现场确认 and 投诉与申诉 over HTTP (without a session they send the browser to
the sign-in: tests/portal/test_pc_login_pages.py): signed in, their page headers, links and
scripts; and the entry ticket's QR image — the family's own booking only, never
cached, the same code the API's ticket carries and staff check-in accepts; also for a
family a school registered at the counter (代报名) once it has claimed the registration
(the browser side is tests/console/test_browser_pc_onsite.py)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from backend.accounts.models import User
from backend.accounts.services import create_family_account
from backend.admission.models import Offer, OfferStatus
from backend.core.db import db
from backend.identity.services import bind_identity_at_counter
from backend.proxy.services import reissue_code
from backend.registrations.models import Registration
from tests.api.test_pc_journey import new_pc, sign_in
from tests.conftest import bearer
from tests.factories import make_id_number
from tests.onsite._support import (
    County,
    add_child,
    admit,
    admitted_family,
    build_county,
    create_slot,
)

Login = Callable[..., dict[str, Any]]


@dataclass
class CounterFamily:
    """A family a school registered at the counter, claimed from a parent's WeChat."""

    parent: dict[str, Any]
    registration_id: int
    booking_id: int | None


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """Schools A and B with their staff; the season's registration window has closed."""
    return build_county(login_staff)


def counter_family(client: FlaskClient, county: County, login_parent: Login, *,
                   booked: bool = True) -> CounterFamily:
    """The counter's family (no phone) with a child admitted to school A, put in a slot by
    the school before the claim when `booked` (as for a family that cannot book itself),
    then claimed with the slip's code by a parent's WeChat account."""
    staff = db.session.get(User, county.user_ids["a"])
    assert staff is not None
    family = create_family_account(staff)
    guardian = bind_identity_at_counter(
        family, name="李示例", document_type="resident_id",
        id_number=make_id_number(dt.date(1958, 4, 2), 961), relation="grandparent", phone=None)
    child = add_child(guardian, county.village)
    registration = admit(county, child, county.school_a)
    registration.entered_by_user_id = staff.id
    _registration, slip = reissue_code(staff, registration.id)
    db.session.flush()
    booking_id = None
    if booked:
        slot = create_slot(client, county)
        assert slot.status_code == 201, slot.get_json()
        made = client.post("/api/v1/staff/onsite/bookings", headers=county.auth("a"), json={
            "registration_id": registration.id, "slot_id": slot.get_json()["id"]})
        assert made.status_code == 201, made.get_json()
        booking_id = made.get_json()["id"]
    parent = login_parent()
    claimed = client.post("/api/v1/me/claims", json={"code": slip.code},
                          headers=bearer(parent["token"]))
    assert claimed.status_code == 200, claimed.get_json()
    return CounterFamily(parent, registration.id, booking_id)


def read_qr(png: bytes) -> str:
    """What a scanner at the desk reads from the image."""
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return str(found.text)


def ticket_code(client: FlaskClient, token: str, booking_id: int) -> str:
    """The code of the API's entry ticket (what the mini-program shows)."""
    response = client.get(f"/api/v1/onsite/bookings/{booking_id}/ticket", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["code"])


def test_signed_in_the_pages_link_each_other_and_load_their_scripts(
        app: Flask, client: FlaskClient, county: County, login_parent: Login) -> None:
    parent = login_parent()
    pc = new_pc(app)
    csrf = sign_in(pc, client, parent)
    for path, title, script in (("/pc/onsite", "现场确认", "pc/onsite.js"),
                                ("/pc/complaints", "投诉与申诉", "pc/complaints.js")):
        response = pc.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "img-src 'self';" in response.headers["Content-Security-Policy"]
        html = response.get_data(as_text=True)
        assert f"<title>{title} - " in html and f'content="{csrf}"' in html
        assert f'href="{path}" aria-current="page">{title}</a>' in html
        assert f"/portal/static/{script}" in html and "https://" not in html
        served = pc.get(f"/portal/static/{script}")
        assert served.status_code == 200
        served.close()
    home = pc.get("/pc/").get_data(as_text=True)
    assert 'id="pc-link-onsite"' in home and 'id="pc-link-complaints"' in home
    # The pages that used to send the family to the mini-program for these now link them.
    registrations = pc.get("/pc/registrations").get_data(as_text=True)
    assert "现场确认入场凭证，现在请在微信小程序" not in registrations
    assert 'href="/pc/onsite"' in registrations and 'href="/pc/complaints"' in registrations


def test_the_ticket_qr_is_the_familys_own_and_never_cached(
        app: Flask, client: FlaskClient, county: County, login_parent: Login) -> None:
    family = admitted_family(login_parent, county)
    other = admitted_family(login_parent, county)
    slot = create_slot(client, county).get_json()
    booked = client.post("/api/v1/onsite/bookings", headers=family.auth(), json={
        "registration_id": family.registration_id, "slot_id": slot["id"]})
    assert booked.status_code == 201, booked.get_json()
    booking_id = booked.get_json()["id"]
    path = f"/pc/onsite/bookings/{booking_id}/qr.png"

    # No session: nothing (an image request is never redirected to a page).
    assert app.test_client().get(path).status_code == 404

    pc = new_pc(app)
    sign_in(pc, client, {"token": family.token, "user": {"id": family.user_id}})
    image = pc.get(path)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Cache-Control"] == "no-store"
    code = ticket_code(client, family.token, booking_id)
    assert read_qr(image.data) == code

    # Another family's PC: the same answer as a booking that does not exist.
    stranger = new_pc(app)
    sign_in(stranger, client, {"token": other.token, "user": {"id": other.user_id}})
    refused = stranger.get(path)
    assert refused.status_code == 404 and refused.mimetype == "text/html"
    assert refused.headers["Cache-Control"] == "no-store"
    assert stranger.get(f"/pc/onsite/bookings/{booking_id + 1000}/qr.png").status_code == 404

    # The offer withdrawn: the ticket is void, so is its image.
    offer = db.session.scalar(select(Offer).where(
        Offer.registration_id == family.registration_id))
    assert offer is not None
    offer.status = OfferStatus.WITHDRAWN
    db.session.flush()
    assert pc.get(path).status_code == 404

    # The scanned code is what the desk accepts (and only once).
    offer.status = OfferStatus.CONFIRMED
    db.session.flush()
    checked = client.post("/api/v1/staff/checkins", json={"code": read_qr(pc.get(path).data)},
                          headers=county.auth("a"))
    assert checked.status_code == 201, checked.get_json()
    assert checked.get_json()["booking_id"] == booking_id


def test_a_counter_familys_ticket_prints_from_the_pc_after_the_claim(
        app: Flask, client: FlaskClient, county: County, login_parent: Login) -> None:
    family = counter_family(client, county, login_parent)
    registration = db.session.get(Registration, family.registration_id)
    assert registration is not None
    assert registration.submitted_by_user_id == family.parent["user"]["id"]

    pc = new_pc(app)
    sign_in(pc, client, family.parent)
    mine = pc.get("/api/v1/onsite/bookings").get_json()["items"]
    assert [b["id"] for b in mine] == [family.booking_id]
    assert mine[0]["booked_by_role"] == "school_staff"
    ticket = pc.get(f"/api/v1/onsite/bookings/{family.booking_id}/ticket")
    assert ticket.status_code == 200, ticket.get_json()
    image = pc.get(f"/pc/onsite/bookings/{family.booking_id}/qr.png")
    assert image.status_code == 200
    assert read_qr(image.data) == ticket.get_json()["code"]
    checked = client.post("/api/v1/staff/checkins", json={"code": read_qr(image.data)},
                          headers=county.auth("a"))
    assert checked.status_code == 201, checked.get_json()
