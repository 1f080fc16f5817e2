"""On-site slots, bookings, entry tickets and check-in through HTTP, as families and staff."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.admission.models import OfferStatus
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.notices.models import Notice
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from tests.onsite._support import (
    County,
    Family,
    add_slot,
    admitted_family,
    build_county,
    create_slot,
)

CODE = re.compile(r"T1-\d+-[A-Z2-7]{8}-[A-Z2-7]{16}")


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county whose registration window has closed, with schools A and B and their staff."""
    return build_county(login_staff)


@pytest.fixture()
def family(login_parent: Callable[..., dict[str, Any]], county: County) -> Family:
    """A signed-in parent whose child holds a confirmed offer at school A."""
    return admitted_family(login_parent, county)


def _book(client: FlaskClient, family: Family, slot_id: int) -> Any:
    return client.post("/api/v1/onsite/bookings", headers=family.auth(),
                       json={"registration_id": family.registration_id, "slot_id": slot_id})


def _ticket(client: FlaskClient, family: Family, booking_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/onsite/bookings/{booking_id}/ticket",
                          headers=family.auth())
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _check_in(client: FlaskClient, county: County, code: str, who: str = "a") -> Any:
    return client.post("/api/v1/staff/checkins", json={"code": code}, headers=county.auth(who))


def _assign(client: FlaskClient, county: County, family: Family, slot_id: int,
            who: str = "a") -> Any:
    return client.post("/api/v1/staff/onsite/bookings", headers=county.auth(who),
                       json={"registration_id": family.registration_id, "slot_id": slot_id})


# --- slots ---------------------------------------------------------------------------------


def test_staff_create_slots_in_local_time_for_their_own_school_only(
        client: FlaskClient, county: County) -> None:
    created = create_slot(client, county)
    assert created.status_code == 201, created.get_json()
    slot = created.get_json()
    assert slot["starts_at"].endswith("T09:00:00+08:00")
    assert slot["school"]["code"] == county.school_a.code
    assert (slot["capacity"], slot["booked"], slot["available"]) == (10, 0, 10)

    # A bureau admin names the school; another county's school does not exist for them.
    assert create_slot(client, county, "bureau").get_json()["error"]["code"] == "SCHOOL_REQUIRED"
    assert create_slot(client, county, "bureau", school=county.school_b.code).status_code == 201
    assert create_slot(client, county, "other_bureau",
                       school=county.school_a.code).status_code == 404
    # School staff of B neither see nor change A's slot.
    listed = client.get("/api/v1/staff/onsite/slots", headers=county.auth("b")).get_json()
    assert slot["id"] not in [s["id"] for s in listed["items"]]
    assert client.patch(f"/api/v1/staff/onsite/slots/{slot['id']}", json={"capacity": 3},
                        headers=county.auth("b")).status_code == 404
    assert create_slot(client, county, ends_at="2000-01-01T10:00:00",
                       starts_at="2000-01-01T09:00:00").status_code == 422


def test_a_family_books_gets_the_appointment_notice_and_a_qr_ticket(
        client: FlaskClient, county: County, family: Family) -> None:
    slot_id = create_slot(client, county).get_json()["id"]
    open_slots = client.get(f"/api/v1/onsite/slots?registration_id={family.registration_id}",
                            headers=family.auth()).get_json()["items"]
    assert [s["id"] for s in open_slots] == [slot_id]

    booked = _book(client, family, slot_id)
    assert booked.status_code == 201, booked.get_json()
    booking = booked.get_json()
    assert booking["slot"]["booked"] == 1 and booking["checked_in"] is False

    [notice] = db.session.scalars(select(Notice).where(Notice.user_id == family.user_id))
    assert notice.template_key == "appointment"
    assert set(notice.data) == {"school", "time", "place", "note"}
    assert notice.data["place"] == "学校一楼大厅" and "~" in notice.data["time"]

    ticket = _ticket(client, family, booking["id"])
    assert CODE.fullmatch(ticket["code"]) and ticket["used"] is False
    image = Image.open(io.BytesIO(base64.b64decode(ticket["qr_png_base64"])))
    assert image.format == "PNG" and image.size[0] >= 100
    assert ticket["qr_data_url"] == "data:image/png;base64," + ticket["qr_png_base64"]
    # Booking the same slot again changes nothing and sends nothing.
    assert _book(client, family, slot_id).status_code == 201
    assert _ticket(client, family, booking["id"])["code"] == ticket["code"]
    assert len(list(db.session.scalars(select(Notice).where(
        Notice.user_id == family.user_id)))) == 1


def test_only_a_confirmed_offer_books_and_only_at_its_school(
        client: FlaskClient, county: County, family: Family,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    slot_a = create_slot(client, county).get_json()["id"]
    slot_b = create_slot(client, county, "b").get_json()["id"]
    offered = admitted_family(login_parent, county, status=OfferStatus.OFFERED)
    assert _book(client, offered, slot_a).get_json()["error"]["code"] == "NOT_ADMITTED"
    # Another school's slot does not exist for this family; nor does another family's child.
    assert _book(client, family, slot_b).status_code == 404
    stranger = Family(offered.token, offered.user_id, family.child_id, family.registration_id)
    assert _book(client, stranger, slot_a).status_code == 404
    # A slot that has started can no longer be booked by a family.
    started = add_slot(county, county.school_a, starts_in=-dt.timedelta(minutes=5))
    assert _book(client, family, started.id).get_json()["error"]["code"] == "SLOT_CLOSED"


def test_a_full_slot_refuses_the_next_family(
        client: FlaskClient, county: County, family: Family,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    slot_id = create_slot(client, county, capacity=2).get_json()["id"]
    assert _book(client, family, slot_id).status_code == 201
    assert _book(client, admitted_family(login_parent, county), slot_id).status_code == 201
    refused = _book(client, admitted_family(login_parent, county), slot_id)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "SLOT_FULL"
    assert db.session.get(OnsiteSlot, slot_id).booked == 2  # type: ignore[union-attr]
    # Staff cannot shrink a slot below its bookings either.
    shrink = client.patch(f"/api/v1/staff/onsite/slots/{slot_id}", json={"capacity": 1},
                          headers=county.auth("a"))
    assert shrink.status_code == 409
    assert shrink.get_json()["error"]["code"] == "CAPACITY_BELOW_BOOKED"


def test_moving_to_another_slot_voids_the_old_ticket_and_frees_the_place(
        client: FlaskClient, county: County, family: Family) -> None:
    first = create_slot(client, county).get_json()["id"]
    second = create_slot(client, county, place="操场").get_json()["id"]
    booking_id = _book(client, family, first).get_json()["id"]
    old_code = _ticket(client, family, booking_id)["code"]
    moved = _book(client, family, second).get_json()
    assert moved["id"] == booking_id and moved["slot"]["id"] == second
    db.session.expire_all()
    assert db.session.get(OnsiteSlot, first).booked == 0  # type: ignore[union-attr]
    new_code = _ticket(client, family, booking_id)["code"]
    assert new_code != old_code
    assert _check_in(client, county, old_code).get_json()["error"]["code"] == "TICKET_INVALID"
    assert _check_in(client, county, new_code).status_code == 201


def test_check_in_records_who_checked_whom_and_when_and_is_audited(
        client: FlaskClient, county: County, family: Family) -> None:
    # Staff put the family in a slot that is under way (分时段: now is inside the window).
    slot = add_slot(county, county.school_a, starts_in=-dt.timedelta(minutes=10))
    assigned = _assign(client, county, family, slot.id)
    assert assigned.status_code == 201, assigned.get_json()
    assert assigned.get_json()["booked_by_role"] == "school_staff"
    code = _ticket(client, family, assigned.get_json()["id"])["code"]

    before = utcnow()
    response = _check_in(client, county, code)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["checked_in_by_user_id"] == county.user_ids["a"]
    assert body["off_slot"] is False and body["warning"] is None
    assert re.fullmatch(r"王\*.", body["child_name"])
    booking = db.session.get(OnsiteBooking, body["booking_id"], populate_existing=True)
    assert booking is not None and booking.checked_in_by_user_id == county.user_ids["a"]
    assert booking.checked_in_at is not None and booking.checked_in_at >= before
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "onsite.check_in"))
    assert audit is not None and audit.actor_user_id == county.user_ids["a"]
    assert audit.object_id == str(booking.id)

    roster = client.get(f"/api/v1/staff/onsite/slots/{slot.id}/bookings",
                        headers=county.auth("a")).get_json()["items"]
    assert roster[0]["checked_in"] is True
    assert roster[0]["checked_in_by_user_id"] == county.user_ids["a"]
    assert _ticket(client, family, booking.id)["used"] is True


def test_forged_tickets_are_rejected_with_a_stable_code(
        client: FlaskClient, county: County, family: Family,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    slot_id = create_slot(client, county).get_json()["id"]
    booking_id = _book(client, family, slot_id).get_json()["id"]
    other = admitted_family(login_parent, county)
    other_id = _book(client, other, slot_id).get_json()["id"]
    code = _ticket(client, family, booking_id)["code"]
    prefix, number, nonce, signature = code.split("-")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forgeries = [
        "hello", "", "T1-1-AAAA", f"{prefix}-{number}-{nonce}-{flipped}",
        f"{prefix}-{other_id}-{nonce}-{signature}",  # a signature moved to another booking
        f"{prefix}-999999-{nonce}-{signature}",  # no such booking
        f"{prefix}-{number}-{'A' * 8}-{signature}",  # another nonce
    ]
    for forged in forgeries:
        response = _check_in(client, county, forged)
        assert response.status_code == 422, forged
        if forged:
            assert response.get_json()["error"]["code"] == "TICKET_INVALID", forged
    assert db.session.get(OnsiteBooking, booking_id).checked_in_at is None  # type: ignore[union-attr]
    # What a scanner or a person types: case and spaces do not matter.
    typed = _check_in(client, county, " " + code.lower().replace("-", " - ", 1) + "\n")
    assert typed.status_code == 201, typed.get_json()


def test_a_used_ticket_is_refused_the_second_time(
        client: FlaskClient, county: County, family: Family) -> None:
    booking_id = _book(client, family, create_slot(client, county).get_json()["id"]).get_json()[
        "id"]
    code = _ticket(client, family, booking_id)["code"]
    assert _check_in(client, county, code).status_code == 201
    again = _check_in(client, county, code)
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "TICKET_USED"
    assert error["details"]["checked_in_by_user_id"] == county.user_ids["a"]
    assert len(list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "onsite.check_in")))) == 1
    # Once checked in, the family can neither move nor cancel.
    other_slot = create_slot(client, county).get_json()["id"]
    assert _book(client, family, other_slot).get_json()["error"]["code"] == "ALREADY_CHECKED_IN"
    cancel = client.delete(f"/api/v1/onsite/bookings/{booking_id}", headers=family.auth())
    assert cancel.status_code == 409


def test_another_schools_ticket_is_refused_and_stays_unused(
        client: FlaskClient, county: County, family: Family) -> None:
    booking_id = _book(client, family, create_slot(client, county).get_json()["id"]).get_json()[
        "id"]
    code = _ticket(client, family, booking_id)["code"]
    refused = _check_in(client, county, code, who="b")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "TICKET_OTHER_SCHOOL"
    assert db.session.get(OnsiteBooking, booking_id).checked_in_at is None  # type: ignore[union-attr]
    # Check-in is the school desk's job: a bureau admin is not at any desk.
    assert _check_in(client, county, code, who="bureau").status_code == 403
    assert _check_in(client, county, code).status_code == 201


def test_a_check_in_on_the_wrong_day_is_accepted_and_flagged(
        client: FlaskClient, county: County, family: Family) -> None:
    booking_id = _book(client, family, create_slot(client, county).get_json()["id"]).get_json()[
        "id"]
    response = _check_in(client, county, _ticket(client, family, booking_id)["code"])
    assert response.status_code == 201
    body = response.get_json()
    assert body["off_slot"] is True and "预约" in body["warning"]
    assert db.session.get(OnsiteBooking, booking_id).off_slot is True  # type: ignore[union-attr]


def test_a_withdrawn_offer_voids_the_ticket(
        client: FlaskClient, county: County, family: Family) -> None:
    from backend.admission.models import Offer

    booking_id = _book(client, family, create_slot(client, county).get_json()["id"]).get_json()[
        "id"]
    code = _ticket(client, family, booking_id)["code"]
    db.session.execute(update(Offer).where(Offer.registration_id == family.registration_id)
                       .values(status=OfferStatus.WITHDRAWN))
    assert _check_in(client, county, code).get_json()["error"]["code"] == "NOT_ADMITTED"


def test_no_shows_are_listed_per_ended_slot(
        client: FlaskClient, county: County, family: Family,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    came = admitted_family(login_parent, county)
    slot_id = create_slot(client, county).get_json()["id"]
    upcoming = create_slot(client, county).get_json()["id"]
    missing_id = _book(client, family, slot_id).get_json()["id"]
    came_id = _book(client, came, slot_id).get_json()["id"]
    _book(client, admitted_family(login_parent, county), upcoming)
    assert _check_in(client, county, _ticket(client, came, came_id)["code"]).status_code == 201

    # The slot is over (moved into the past); the upcoming one is not.
    ended = utcnow() - dt.timedelta(hours=3)
    db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == slot_id).values(
        starts_at=ended, ends_at=ended + dt.timedelta(hours=1)))
    response = client.get(f"/api/v1/staff/onsite/no-shows?season_id={county.season.id}",
                          headers=county.auth("a"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 1
    [row] = body["items"]
    assert row["slot"]["id"] == slot_id and row["slot"]["checked_in"] == 1
    assert [n["booking_id"] for n in row["no_shows"]] == [missing_id]
    assert re.fullmatch(r"王\*.", row["no_shows"][0]["child_name"])

    local_day = ended.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    other_day = local_day - dt.timedelta(days=2)
    for day, total in ((local_day, 1), (other_day, 0)):
        by_day = client.get(f"/api/v1/staff/onsite/no-shows?date={day.isoformat()}",
                            headers=county.auth("bureau")).get_json()
        assert by_day["total"] == total
    assert client.get("/api/v1/staff/onsite/no-shows",
                      headers=county.auth("b")).get_json()["total"] == 0


def test_a_family_may_cancel_before_the_slot_and_a_changed_slot_is_notified(
        client: FlaskClient, county: County, family: Family) -> None:
    slot_id = create_slot(client, county).get_json()["id"]
    booking_id = _book(client, family, slot_id).get_json()["id"]
    changed = client.patch(f"/api/v1/staff/onsite/slots/{slot_id}", json={"place": "礼堂"},
                           headers=county.auth("a"))
    assert changed.status_code == 200 and changed.get_json()["place"] == "礼堂"
    notices = list(db.session.scalars(select(Notice).where(Notice.user_id == family.user_id)
                                      .order_by(Notice.id)))
    assert [n.data["place"] for n in notices] == ["学校一楼大厅", "礼堂"]
    assert client.delete(f"/api/v1/staff/onsite/slots/{slot_id}",
                         headers=county.auth("a")).status_code == 409
    assert client.delete(f"/api/v1/onsite/bookings/{booking_id}",
                         headers=family.auth()).status_code == 204
    db.session.expire_all()
    assert db.session.get(OnsiteSlot, slot_id).booked == 0  # type: ignore[union-attr]
    assert client.delete(f"/api/v1/staff/onsite/slots/{slot_id}",
                         headers=county.auth("a")).status_code == 204


def test_the_capacity_guard_holds_in_the_database(
        client: FlaskClient, county: County) -> None:
    slot = add_slot(county, county.school_a, starts_in=dt.timedelta(days=1), capacity=2)
    # The booking path's conditional UPDATE stops at the capacity…
    for expected in (1, 1, 0):
        result = db.session.execute(update(OnsiteSlot).where(
            OnsiteSlot.id == slot.id, OnsiteSlot.booked < OnsiteSlot.capacity)
            .values(booked=OnsiteSlot.booked + 1))
        assert result.rowcount == expected  # type: ignore[attr-defined]
    # …and the CHECK constraint refuses anything that tries to go past it.
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == slot.id)
                           .values(booked=OnsiteSlot.capacity + 1))
    savepoint.rollback()
    db.session.expire_all()
    assert db.session.get(OnsiteSlot, slot.id).booked == 2  # type: ignore[union-attr]
