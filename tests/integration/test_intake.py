"""Registration intake: 202 with a ticket, checks that are final, the worker's outcome."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.jobs import INTAKE, stream_key
from backend.core.redis import redis_store
from backend.notices.models import Notice
from backend.registrations import catalog, intake
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import RegionLevel, SchoolType
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.conftest import bearer
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _worker() -> Worker:
    return Worker(load_handlers(), name="intake-test", batch_handlers=load_batch_handlers(),
                  settings=WorkerSettings(block_ms=10, linger_ms=0))


@pytest.fixture()
def world(session: Any) -> dict[str, Any]:
    """An open season, a public school zoned to one village, a private school, a family."""
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    elsewhere = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    public = make_school(authority, zone=[village])
    private = make_school(authority, type=SchoolType.PRIVATE)
    far = make_school(authority, zone=[elsewhere])
    for school in (public, private, far):
        make_seat_plan(season, school)
    return {"authority": authority, "village": village, "season": season, "public": public,
            "private": private, "far": far}


@pytest.fixture()
def family(client: FlaskClient, login_parent: Callable[..., dict[str, Any]],
           world: dict[str, Any]) -> dict[str, Any]:
    """A signed-in parent with a child in the zone and an uploaded 户口簿."""
    login = login_parent()
    guardian = make_guardian(db.session.get(User, login["user"]["id"]))
    child = make_child(guardian, world["village"], birth=dt.date(utcnow().year - 6, 3, 1))
    upload = client.post("/api/v1/uploads", headers=bearer(login["token"]), data={
        "kind": "hukou_book", "file": (io.BytesIO(_png()), "hukou.png")},
        content_type="multipart/form-data").get_json()["upload_id"]
    return {"token": login["token"], "user_id": login["user"]["id"], "child": child,
            "guardian": guardian, "upload": upload}


def _submit(client: FlaskClient, family: dict[str, Any], school: Any, key: str = "key-00000001",
            **body: Any) -> Any:
    payload = {"child_id": family["child"].id, "school_code": school.code, "basis": "hukou",
               "upload_ids": [family["upload"]], **body}
    return client.post("/api/v1/registrations", json=payload,
                       headers={**bearer(family["token"]), "Idempotency-Key": key})


def test_a_submission_is_queued_then_accepted_with_history_and_notice(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    response = _submit(client, family, world["public"])
    assert response.status_code == 202, response.get_json()
    receipt = response.get_json()
    assert receipt["state"] == "queued" and receipt["position"] == 1
    assert receipt["fairness_notice"] == "报名先后不影响录取"
    ticket_url = f"/api/v1/registrations/tickets/{receipt['ticket']}"
    assert client.get(ticket_url, headers=bearer(family["token"])).get_json()["state"] == "queued"

    assert _worker().run_once() == 1
    status = client.get(ticket_url, headers=bearer(family["token"])).get_json()
    assert status["state"] == "accepted"
    detail = client.get(f"/api/v1/registrations/{status['registration_id']}",
                        headers=bearer(family["token"])).get_json()
    assert detail["status"] == "submitted" and detail["status_name"] == "已受理"
    assert [e["status"] for e in detail["timeline"]] == ["submitted"]
    assert detail["timeline"][0]["actor_role"] == "parent"
    assert detail["uploads"] == [{"upload_id": family["upload"], "kind": "hukou_book"}]
    assert detail["out_of_zone"] is False and detail["can_withdraw"] is True
    notice = db.session.scalar(select(Notice).where(Notice.user_id == family["user_id"]))
    assert notice is not None and notice.template_key == "registration_received"
    mine = client.get("/api/v1/registrations", headers=bearer(family["token"])).get_json()
    assert [r["id"] for r in mine["items"]] == [status["registration_id"]]


def test_the_same_key_gives_the_same_ticket(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    first = _submit(client, family, world["public"]).get_json()["ticket"]
    assert _submit(client, family, world["public"]).get_json()["ticket"] == first
    _worker().run_once()
    again = _submit(client, family, world["public"])
    assert again.status_code == 202
    assert again.get_json() | {"position": None} == {
        "ticket": first, "state": "accepted", "position": None, "registration_id": None,
        "error": None, "fairness_notice": "报名先后不影响录取"}
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


def test_a_retry_gets_its_ticket_even_after_the_window_closed(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    first = _submit(client, family, world["public"]).get_json()["ticket"]
    world["season"].registration_closes_at = utcnow() - dt.timedelta(minutes=1)
    db.session.flush()
    catalog.clear()
    retry = _submit(client, family, world["public"])
    assert retry.status_code == 202 and retry.get_json()["ticket"] == first
    fresh = _submit(client, family, world["public"], key="key-after-close")
    assert fresh.status_code == 409
    assert fresh.get_json()["error"]["code"] == "REGISTRATION_CLOSED"


def test_a_second_submission_for_the_child_is_409(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    assert _submit(client, family, world["public"]).status_code == 202
    in_flight = _submit(client, family, world["private"], key="key-00000002")
    assert in_flight.status_code == 409
    assert in_flight.get_json()["error"]["code"] == "ALREADY_REGISTERED"
    _worker().run_once()
    after = _submit(client, family, world["private"], key="key-00000003")
    assert after.get_json()["error"]["code"] == "ALREADY_REGISTERED"


def test_withdrawing_frees_the_child_for_another_school(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    ticket = _submit(client, family, world["public"]).get_json()["ticket"]
    _worker().run_once()
    registration_id = client.get(f"/api/v1/registrations/tickets/{ticket}",
                                 headers=bearer(family["token"])).get_json()["registration_id"]
    withdrawn = client.post(f"/api/v1/registrations/{registration_id}/withdraw",
                            headers=bearer(family["token"]))
    assert withdrawn.status_code == 200
    assert [e["status"] for e in withdrawn.get_json()["timeline"]] == ["submitted", "withdrawn"]
    again = client.post(f"/api/v1/registrations/{registration_id}/withdraw",
                        headers=bearer(family["token"]))
    assert again.get_json()["error"]["code"] == "CANNOT_WITHDRAW"
    assert _submit(client, family, world["private"], key="key-00000009").status_code == 202


def test_the_key_is_required(client: FlaskClient, family: dict[str, Any],
                             world: dict[str, Any]) -> None:
    response = client.post("/api/v1/registrations", headers=bearer(family["token"]), json={
        "child_id": family["child"].id, "school_code": world["public"].code, "basis": "hukou",
        "upload_ids": [family["upload"]]})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"


@pytest.mark.parametrize(
    ("school", "body", "status", "code"),
    [
        ("far", {}, 422, "OUT_OF_ZONE"),
        ("public", {"upload_ids": []}, 422, "UPLOADS_MISSING"),
        ("public", {"basis": "residence"}, 422, "RESIDENCE_REQUIRED"),
        ("public", {"child_id": 999_999}, 404, "CHILD_NOT_FOUND"),
        ("public", {"upload_ids": ["0" * 32]}, 422, "UPLOAD_NOT_FOUND"),
        ("public", {"school_code": "NOPE"}, 404, "SCHOOL_NOT_FOUND"),
    ],
)
def test_final_checks_answer_at_once(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any],
    school: str, body: dict[str, Any], status: int, code: str,
) -> None:
    response = _submit(client, family, world[school], **body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert redis_store.client.xlen(stream_key(INTAKE)) == 0


def test_private_schools_take_children_from_outside_any_zone(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    ticket = _submit(client, family, world["private"]).get_json()["ticket"]
    _worker().run_once()
    registration = db.session.scalar(select(Registration).where(Registration.ticket == ticket))
    assert registration is not None and registration.out_of_zone is True


def test_a_child_too_young_is_refused(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    young = make_child(family["guardian"], world["village"], name="幼示例",
                       birth=world["season"].age_cutoff + dt.timedelta(days=1))
    response = _submit(client, family, world["public"], child_id=young.id)
    assert response.status_code == 422
    assert "未满6周岁" in response.get_json()["error"]["message"]


def test_another_parents_upload_or_ticket_is_not_theirs(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any],
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    ticket = _submit(client, family, world["public"]).get_json()["ticket"]
    stranger = login_parent()["token"]
    assert client.get(f"/api/v1/registrations/tickets/{ticket}",
                      headers=bearer(stranger)).status_code == 404
    _worker().run_once()
    registration_id = db.session.scalar(select(Registration.id))
    assert client.get(f"/api/v1/registrations/{registration_id}",
                      headers=bearer(stranger)).status_code == 404


def test_rate_limit_per_caller(app: Flask, client: FlaskClient, family: dict[str, Any],
                               world: dict[str, Any]) -> None:
    app.config["SUBMIT_LIMIT_PER_CALLER"] = "2/minute"
    try:
        codes = [_submit(client, family, world["public"], key=f"key-rate-{n:04d}").status_code
                 for n in range(3)]
    finally:
        app.config["SUBMIT_LIMIT_PER_CALLER"] = "30/minute"
    assert codes[:2] == [202, 409] and codes[2] == 429


def _window_submit(app: Flask, family: dict[str, Any], school: Any,
                   now: dt.datetime) -> str:
    with app.test_request_context():
        try:
            return intake.submit(family["user_id"], idempotency_key=f"edge-{now.timestamp()}",
                                 child_id=family["child"].id, school_code=school.code,
                                 basis="hukou", upload_ids=[family["upload"]], now=now).state
        except ApiError as exc:
            return exc.code


def test_window_boundaries_in_shanghai_time(
    app: Flask, family: dict[str, Any], world: dict[str, Any]
) -> None:
    season = world["season"]
    season.registration_opens_at = dt.datetime(2030, 8, 5, 0, 0, tzinfo=dt.UTC)  # 08:00 +08
    season.registration_closes_at = dt.datetime(2030, 8, 9, 10, 0, tzinfo=dt.UTC)  # 18:00 +08
    db.session.flush()
    second = dt.timedelta(seconds=1)
    assert _window_submit(app, family, world["public"],
                          season.registration_opens_at - second) == "REGISTRATION_NOT_OPEN"
    assert _window_submit(app, family, world["public"],
                          season.registration_closes_at + second) == "REGISTRATION_CLOSED"
    assert _window_submit(app, family, world["public"],
                          season.registration_closes_at - second) == "queued"
    redis_store.client.delete(intake.child_holder_key(season.id, family["child"].id))
    assert _window_submit(app, family, world["public"],
                          season.registration_opens_at + second) == "queued"


def test_not_open_names_the_opening_time(
    app: Flask, family: dict[str, Any], world: dict[str, Any]
) -> None:
    season = world["season"]
    season.registration_opens_at = utcnow() + dt.timedelta(days=1)
    db.session.flush()
    with app.test_request_context(), pytest.raises(ApiError) as caught:
        intake.submit(family["user_id"], idempotency_key="edge-open-0001",
                      child_id=family["child"].id, school_code=world["public"].code,
                      basis="hukou", upload_ids=[family["upload"]])
    local = season.registration_opens_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"{local.month}月{local.day}日 {local:%H:%M}" in caught.value.message


def test_durability_mode_refuses_a_redis_without_fsync(
    app: Flask, client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    app.config["INTAKE_DURABILITY"] = "aof"
    intake._durable_until = 0.0
    try:
        response = _submit(client, family, world["public"])
    finally:
        app.config["INTAKE_DURABILITY"] = "none"
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "INTAKE_NOT_DURABLE"
    assert redis_store.client.xlen(stream_key(INTAKE)) == 0


def test_withdrawn_registrations_leave_the_active_index(session: Any, world: dict[str, Any]
                                                       ) -> None:
    guardian = make_guardian()
    child = make_child(guardian, world["village"])
    from tests.factories import make_registration

    first = make_registration(world["season"], child, world["public"])
    first.status = RegistrationStatus.WITHDRAWN
    db.session.flush()
    make_registration(world["season"], child, world["private"])
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        make_registration(world["season"], child, world["far"])


def test_edits_go_through_the_same_queue(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    ticket = _submit(client, family, world["public"]).get_json()["ticket"]
    _worker().run_once()
    registration_id = client.get(f"/api/v1/registrations/tickets/{ticket}",
                                 headers=bearer(family["token"])).get_json()["registration_id"]
    clearer = client.post("/api/v1/uploads", headers=bearer(family["token"]), data={
        "kind": "hukou_book", "file": (io.BytesIO(_png()), "clearer.png")},
        content_type="multipart/form-data").get_json()["upload_id"]

    def edit(key: str) -> Any:
        return client.patch(f"/api/v1/registrations/{registration_id}", json={
            "basis": "hukou", "upload_ids": [clearer]},
            headers={**bearer(family["token"]), "Idempotency-Key": key})

    queued = edit("edit-00000001")
    assert queued.status_code == 202 and queued.get_json()["state"] == "queued"
    assert edit("edit-00000001").get_json()["ticket"] == queued.get_json()["ticket"]
    _worker().run_once()
    detail = client.get(f"/api/v1/registrations/{registration_id}",
                        headers=bearer(family["token"])).get_json()
    assert detail["uploads"] == [{"upload_id": clearer, "kind": "hukou_book"}]
    assert [e["reason_code"] for e in detail["timeline"]] == [None, "EDITED"]
    registration = db.session.get(Registration, registration_id)
    assert registration is not None
    registration.status = RegistrationStatus.UNDER_REVIEW
    db.session.flush()
    locked = edit("edit-00000002")
    assert locked.status_code == 409
    assert locked.get_json()["error"]["code"] == "REGISTRATION_NOT_EDITABLE"


def test_warm_intake_caches_every_child_and_document(
    app: Flask, family: dict[str, Any], world: dict[str, Any]
) -> None:
    from backend.registrations.facts import _key

    redis_store.client.delete(_key("facts-child", family["child"].id))
    result = app.test_cli_runner().invoke(args=["warm-intake"])
    assert result.exit_code == 0, result.output
    assert "cached" in result.output
    assert redis_store.client.exists(_key("facts-child", family["child"].id))
    assert redis_store.client.exists(_key("facts-upload", family["upload"]))


@pytest.mark.parametrize("path", [
    "/api/v1/registrations/2147483648", "/api/v1/me/children/99999999999999999999",
    "/api/v1/registrations/99999999999999999999/withdraw",
])
def test_ids_beyond_the_integer_range_are_not_a_crash(
    client: FlaskClient, family: dict[str, Any], path: str
) -> None:
    method = client.post if path.endswith("withdraw") else client.get
    response = method(path, headers=bearer(family["token"]))
    assert response.status_code in (404, 422)
    assert response.get_json()["error"]["code"] in (
        "VALUE_OUT_OF_RANGE", "REGISTRATION_NOT_FOUND", "CHILD_NOT_FOUND")


def test_a_huge_child_id_in_a_submission_is_422(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    response = _submit(client, family, world["public"], child_id=10**20)
    assert response.status_code in (404, 422)


def test_private_schools_admit_only_their_own_county(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    other = make_authority()
    now = utcnow()
    make_season(other, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                closes=now + dt.timedelta(days=3))
    elsewhere = make_school(other, type=SchoolType.PRIVATE)
    response = _submit(client, family, elsewhere)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "OUT_OF_ZONE"


def test_a_child_cannot_be_edited_while_its_submission_is_queued(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    assert _submit(client, family, world["public"]).status_code == 202
    response = client.patch(f"/api/v1/me/children/{family['child'].id}",
                            headers=bearer(family["token"]), json={"name": "改名字"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "CHILD_LOCKED"


def test_a_malformed_dead_letter_id_is_404(client: FlaskClient, world: dict[str, Any]) -> None:
    from tests.factories import STAFF_PASSWORD, make_staff

    make_staff(world["authority"], username="dl-admin")
    token = client.post("/api/v1/auth/staff-login", json={
        "username": "dl-admin", "password": STAFF_PASSWORD}).get_json()["token"]
    for message_id in ("abc", "99999999999999999999999-0"):
        response = client.post(f"/api/v1/admin/dead-letters/%7Bintake%7D/{message_id}/replay",
                               headers=bearer(token))
        assert response.status_code == 404


def test_a_transferred_binding_takes_the_registrations_along(
    client: FlaskClient, family: dict[str, Any], world: dict[str, Any],
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    from backend.identity.models import DisputeStatus, IdentityDispute
    from backend.identity.services import resolve_dispute
    from tests.factories import make_staff

    ticket = _submit(client, family, world["public"]).get_json()["ticket"]
    _worker().run_once()
    registration_id = db.session.scalar(
        select(Registration.id).where(Registration.ticket == ticket))
    newcomer = login_parent()
    dispute = IdentityDispute(authority_id=world["authority"].id,
                              requester_user_id=newcomer["user"]["id"],
                              guardian_id=family["guardian"].id, claimed_name="张示例",
                              status=DisputeStatus.OPEN)
    db.session.add(dispute)
    db.session.flush()
    admin = make_staff(world["authority"])
    with client.application.test_request_context():
        resolve_dispute(admin, dispute.id, "transfer", "核实后转移")
        from backend.core.db import commit

        commit()
    assert client.get(f"/api/v1/registrations/{registration_id}",
                      headers=bearer(newcomer["token"])).status_code == 200
    assert client.get(f"/api/v1/uploads/{family['upload']}/meta",
                      headers=bearer(newcomer["token"])).status_code == 200


def test_wait_mode_answers_503_until_replicas_confirm(
    app: Flask, client: FlaskClient, family: dict[str, Any], world: dict[str, Any]
) -> None:
    # This Redis has no replica: WAIT 1 times out, so the 202 is never promised.
    app.config.update(INTAKE_DURABILITY="wait", INTAKE_WAIT_REPLICAS=1,
                      INTAKE_WAIT_TIMEOUT_MS=50)
    try:
        first = _submit(client, family, world["public"], key="wait-key-0001")
        retry = _submit(client, family, world["public"], key="wait-key-0001")
    finally:
        app.config.update(INTAKE_DURABILITY="none", INTAKE_WAIT_REPLICAS=0)
    for response in (first, retry):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "INTAKE_NOT_CONFIRMED"
    # Once confirmed (here: the mode is off), the same key gives the queued ticket.
    again = _submit(client, family, world["public"], key="wait-key-0001")
    assert again.status_code == 202 and again.get_json()["state"] == "queued"
