"""代报名 through HTTP: school staff enter a family without a smartphone at the counter, the
worker writes the registration through the parents' intake (same rules, same error codes),
marked as entered by staff, audited; the family claims it later from its own WeChat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.identity.consent import CONSENT_VERSION
from backend.identity.models import Child, ConsentChannel, Guardian, GuardianConsent
from backend.notices.models import Notice
from backend.proxy.models import ClaimCode
from backend.registrations import catalog
from backend.registrations.models import Registration
from backend.uploads.models import Upload
from tests.conftest import bearer
from tests.factories import make_guardian
from tests.proxy._support import (
    BASE,
    County,
    build_county,
    child_number,
    drain,
    enter,
    entry,
    guardian_number,
    scanned,
    upload,
)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """The county with its window open."""
    return build_county(login_staff)


def _accepted(client: FlaskClient, county: County, answer: dict[str, Any],
              who: str = "a") -> dict[str, Any]:
    """Drain the intake and follow the entry's ticket as the staff who entered it."""
    drain()
    status = client.get(f"{BASE}/tickets/{answer['ticket']}", headers=county.auth(who))
    assert status.status_code == 200, status.get_json()
    return status.get_json()  # type: ignore[no-any-return]


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _entered_code(client: FlaskClient, county: County) -> str:
    """Enter a family at school A and let the worker write it; the slip's claim code."""
    answer = enter(client, county.auth("a"), scanned(client, county)).get_json()
    drain()
    return str(answer["slip"]["claim_code"])


def _claim(client: FlaskClient, token: str, code: str) -> Any:
    return client.post("/api/v1/me/claims", json={"code": code}, headers=bearer(token))


# --- entering a family -------------------------------------------------------------------------


def test_staff_enter_a_family_and_the_worker_writes_it_marked_as_entered_by_staff(
        client: FlaskClient, county: County) -> None:
    scan = upload(client, county.auth("a"))
    response = enter(client, county.auth("a"), entry(county, upload_ids=[scan]))
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["state"] == "queued" and answer["ticket"].startswith("T")
    assert answer["fairness_notice"] == "报名先后不影响录取"
    slip = answer["slip"]
    assert slip["school"] == {"code": county.school_a.code, "name": "示例甲小学"}
    assert slip["child_name"] == "李*示" and slip["guardian_name"] == "李*例"
    assert len(slip["claim_code"]) == 9 and slip["claim_code"][4] == "-"

    status = _accepted(client, county, answer)
    assert status["state"] == "accepted", status
    registration = db.session.get(Registration, status["registration_id"])
    assert registration is not None
    assert registration.entered_by_user_id == county.user_ids["a"]
    assert registration.school_id == county.school_a.id
    family = db.session.get(User, registration.submitted_by_user_id)
    assert family is not None and family.role is Role.PARENT and family.openid is None
    assert family.created_by_user_id == county.user_ids["a"] and family.is_staff_created
    # Its history names the member of staff (role and id, never a name) and the counter.
    [event] = registration.events
    assert (event.status.value, event.actor_role, event.actor_user_id) == (
        "submitted", "school_staff", county.user_ids["a"])
    assert event.note and "学校代为报名" in event.note
    # The scanned document is the family's now, and went with the registration.
    assert [u.id for u in registration.uploads] == [scan]
    stored = db.session.get(Upload, scan)
    assert stored is not None and stored.owner_user_id == family.id
    # The code is kept only as a keyed hash.
    code = db.session.scalar(select(ClaimCode).where(ClaimCode.family_user_id == family.id))
    assert code is not None and slip["claim_code"].replace("-", "") not in code.code_index
    # Audited: who entered which child, and the registration the worker wrote (ids only).
    entered = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proxy.family_entered"))
    assert entered is not None and entered.actor_user_id == county.user_ids["a"]
    assert entered.object_type == "child" and entered.object_id == str(registration.child_id)
    written = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "registration.entered_by_staff"))
    assert written is not None and written.object_id == str(registration.id)
    assert written.actor_user_id == county.user_ids["a"]
    assert written.details["child_id"] == registration.child_id
    for row in (entered, written):
        text = repr(row.details)
        assert "李" not in text and registration.child.id_number_index not in text


def test_the_list_shows_the_schools_entries_masked_and_unclaimed(
        client: FlaskClient, county: County) -> None:
    answer = enter(client, county.auth("a"), scanned(client, county)).get_json()
    _accepted(client, county, answer)
    listed = client.get(BASE, headers=county.auth("a")).get_json()
    assert listed["total"] == 1
    [row] = listed["items"]
    assert row["child_name"] == "李*示" and row["guardian_name"] == "李*例"
    assert row["claimed"] is False and row["claim_code_expires_at"]
    assert row["claim_code_expired"] is False
    assert row["entered_by_name"] == "王老师" and row["status"] == "submitted"
    assert client.get(BASE + "?claimed=true", headers=county.auth("a")).get_json()["total"] == 0
    # School B's staff and the other county see nothing of it; A's bureau does.
    assert client.get(BASE, headers=county.auth("b")).get_json()["items"] == []
    assert client.get(BASE, headers=county.auth("other_bureau")).get_json()["items"] == []
    assert client.get(BASE, headers=county.auth("bureau")).get_json()["total"] == 1
    assert client.get(f"{BASE}?school={county.school_a.code}",
                      headers=county.auth("b")).status_code == 404


def test_the_same_idempotency_key_gives_the_same_ticket_and_one_family(
        client: FlaskClient, county: County) -> None:
    body = scanned(client, county)
    first = enter(client, county.auth("a"), body, key="counter-key-0001").get_json()
    again = enter(client, county.auth("a"), body, key="counter-key-0001")
    assert again.status_code == 202 and again.get_json()["ticket"] == first["ticket"]
    # A retry prints a fresh slip: the first code no longer works.
    assert again.get_json()["slip"]["claim_code"] != first["slip"]["claim_code"]
    drain()
    after = enter(client, county.auth("a"), body, key="counter-key-0001").get_json()
    assert after["ticket"] == first["ticket"] and after["state"] == "accepted"
    assert after["registration_id"]
    assert _count(Registration) == 1 and _count(Guardian) == 1 and _count(Child) == 1


def test_a_family_entered_before_is_reused_for_its_second_child(
        client: FlaskClient, county: County) -> None:
    guardian_id = guardian_number()
    first = enter(client, county.auth("a"),
                  scanned(client, county, guardian_id=guardian_id)).get_json()
    second = enter(client, county.auth("b"), scanned(
        client, county, "b", guardian_id=guardian_id, school=county.school_b,
        child={**entry(county)["child"], "name": "李小二"})).get_json()
    drain()
    families = {r.submitted_by_user_id for r in db.session.scalars(select(Registration))}
    assert len(families) == 1 and _count(Guardian) == 1 and _count(Child) == 2
    # One family, one live code: the newest slip is the one that works.
    assert _count(ClaimCode) == 1
    assert first["slip"]["claim_code"] != second["slip"]["claim_code"]


def test_a_family_on_wechat_is_not_entered_again(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    parent = login_parent()
    number = guardian_number()
    make_guardian(db.session.get(User, parent["user"]["id"]), id_number=number)
    response = enter(client, county.auth("a"), scanned(client, county, guardian_id=number))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "FAMILY_HAS_WECHAT"
    assert "小程序" in response.get_json()["error"]["message"]
    assert _count(Child) == 0 and _count(ClaimCode) == 0


def test_a_reused_guardian_id_with_another_name_is_refused_at_the_name(
        client: FlaskClient, county: County) -> None:
    number = guardian_number()
    first = enter(client, county.auth("a"), scanned(client, county, guardian_id=number))
    assert first.status_code == 202
    body = entry(county, guardian_id=number)
    body["guardian"]["name"] = "张示例"
    response = enter(client, county.auth("a"), body)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "GUARDIAN_NAME_MISMATCH"
    assert error["details"]["fields"][0]["field"] == "guardian.name"


def test_a_parent_binding_the_number_a_school_entered_is_sent_to_the_claim(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    number = guardian_number()
    first = enter(client, county.auth("a"), scanned(client, county, guardian_id=number))
    assert first.status_code == 202
    parent = login_parent()
    response = client.post("/api/v1/me/identity", headers=bearer(parent["token"]), json={
        "name": "李示例", "id_number": number, "relation": "mother"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "IDENTITY_ENTERED_BY_SCHOOL" and "认领码" in error["message"]


# --- the same rules as the mini-program ---------------------------------------------------------


@pytest.mark.parametrize("tick", ["documents_checked", "guardian_consent_given"])
def test_both_ticks_are_required_and_nothing_is_written(
        client: FlaskClient, county: County, tick: str) -> None:
    """Documents checked, and the guardian's consent to processing the child's data given
    in person (《个人信息保护法》第三十一条)."""
    for checked in ({}, {tick: False}):
        body = entry(county)
        body.pop(tick)
        response = enter(client, county.auth("a"), {**body, **checked})
        assert response.status_code == 422, response.get_json()
        fields = response.get_json()["error"]["details"]["fields"]
        assert [f["field"] for f in fields] == [tick]
    assert _count(User) == 4 and _count(Guardian) == 0 and _count(ClaimCode) == 0
    assert _count(Child) == 0 and _count(GuardianConsent) == 0


def test_the_counter_records_the_guardians_consent_as_given_at_the_counter(
        client: FlaskClient, county: County) -> None:
    before = utcnow()
    response = enter(client, county.auth("a"), scanned(client, county))
    assert response.status_code == 202, response.get_json()
    child = db.session.scalar(select(Child))
    assert child is not None
    consent = child.consent
    assert consent.channel is ConsentChannel.COUNTER and consent.version == CONSENT_VERSION
    assert consent.recorded_by_user_id == county.user_ids["a"]
    assert consent.guardian_id == child.guardian_id
    assert consent.agreed_at is not None and consent.agreed_at >= before
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proxy.family_entered"))
    assert audit is not None
    assert audit.details["guardian_consent"] == {"channel": "counter",
                                                 "version": CONSENT_VERSION}


def test_the_idempotency_key_is_required_and_nothing_is_written(
        client: FlaskClient, county: County) -> None:
    response = client.post(BASE, json=scanned(client, county), headers=county.auth("a"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert _count(Guardian) == 0 and _count(ClaimCode) == 0


def test_outside_the_window_is_the_intakes_answer_and_nothing_is_written(
        client: FlaskClient, county: County) -> None:
    county.season.registration_closes_at = utcnow() - dt.timedelta(minutes=1)
    db.session.flush()
    catalog.clear()
    response = enter(client, county.auth("a"), scanned(client, county))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "REGISTRATION_CLOSED"
    assert _count(Guardian) == 0 and _count(Child) == 0 and _count(ClaimCode) == 0
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "proxy.family_entered")) is None


def test_a_child_registered_already_is_the_intakes_duplicate(
        client: FlaskClient, county: County) -> None:
    number, child = guardian_number(), child_number(county.season)
    first = enter(client, county.auth("a"),
                  scanned(client, county, guardian_id=number, child_id=child))
    assert first.status_code == 202
    code_before = db.session.scalar(select(ClaimCode.code_index))
    for drained in (False, True):
        if drained:
            drain()
        # The bureau, at another school of the county: still the same child.
        again = enter(client, county.auth("bureau"), scanned(
            client, county, "bureau", guardian_id=number, child_id=child,
            school=county.school_b))
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["error"]["code"] == "ALREADY_REGISTERED"
    # The family's slip still works: a refused entry issues no code.
    assert db.session.scalar(select(ClaimCode.code_index)) == code_before
    assert _count(Registration) == 1


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"child": {"hukou": {"region_code": "NOWHERE"}}}, 422, "REGION_NOT_FOUND", "child.hukou"),
    ({"guardian": {"id_number": "141124198001010000"}}, 422, "ID_NUMBER_CHECKSUM",
     "guardian.id_number"),
    ({"basis": "residence"}, 422, "RESIDENCE_REQUIRED", None),
    ({"child": {"birth": "too young"}}, 422, "NOT_ELIGIBLE", None),
    ({"school_code": "NOPE"}, 404, "SCHOOL_NOT_FOUND", None),
])
def test_the_rules_of_the_parents_path_answer_with_their_codes(
        client: FlaskClient, county: County, change: dict[str, Any], status: int, code: str,
        field: str | None) -> None:
    body = entry(county)
    if "child" in change and "birth" in change["child"]:
        body["child"]["id_number"] = child_number(county.season).replace(
            str(county.season.year - 7), str(county.season.year - 3), 1)
        from stdnum.cn import ric

        body["child"]["id_number"] = body["child"]["id_number"][:17] + ric.calc_check_digit(
            body["child"]["id_number"][:17] + "0")
    else:
        for key, value in change.items():
            body[key] = {**body[key], **value} if isinstance(value, dict) else value
    response = enter(client, county.auth("a"), body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    if field:
        assert error["details"]["fields"][0]["field"] == field
    assert _count(Guardian) == 0 and _count(ClaimCode) == 0


def test_another_schools_staff_and_another_county_get_404_and_nothing_changes(
        client: FlaskClient, county: County) -> None:
    for who in ("b", "other_bureau"):
        response = enter(client, county.auth(who), entry(county, school=county.school_a))
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["error"]["code"] == "SCHOOL_NOT_FOUND"
    assert _count(Guardian) == 0 and _count(User) == 4
    # The bureau must name the school; A's bureau may name A.
    no_school = scanned(client, county)
    no_school.pop("school_code")
    assert enter(client, county.auth("bureau"), no_school).get_json()["error"]["code"] == \
        "SCHOOL_REQUIRED"
    assert enter(client, county.auth("bureau"),
                 scanned(client, county, "bureau")).status_code == 202
    # School staff may leave their own school out.
    assert enter(client, county.auth("a"), {**no_school, "guardian": {
        **no_school["guardian"], "id_number": guardian_number()}}).status_code == 202


def test_a_parent_may_not_enter_for_others(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    parent = login_parent()
    assert enter(client, bearer(parent["token"]), entry(county)).status_code == 403


def test_a_document_someone_else_uploaded_is_the_intakes_upload_not_found(
        client: FlaskClient, county: County) -> None:
    foreign = upload(client, county.auth("b"))
    response = enter(client, county.auth("a"), entry(county, upload_ids=[foreign]))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "UPLOAD_NOT_FOUND"
    stored = db.session.get(Upload, foreign)
    assert stored is not None and stored.owner_user_id == county.user_ids["b"]


# --- a new claim code ------------------------------------------------------------------------


def test_a_new_claim_code_replaces_the_old_one_and_is_audited(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    answer = enter(client, county.auth("a"), scanned(client, county)).get_json()
    registration_id = _accepted(client, county, answer)["registration_id"]
    fresh = client.post(f"{BASE}/{registration_id}/claim-code", headers=county.auth("a"))
    assert fresh.status_code == 200, fresh.get_json()
    new_code = fresh.get_json()["slip"]["claim_code"]
    assert new_code != answer["slip"]["claim_code"]
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proxy.claim_code_issued", AuditEvent.object_id == str(
            registration_id)))
    assert audit is not None and audit.actor_user_id == county.user_ids["a"]
    parent = login_parent()
    old = _claim(client, parent["token"], answer["slip"]["claim_code"])
    assert old.status_code == 404 and old.get_json()["error"]["code"] == "CLAIM_CODE_NOT_FOUND"
    assert _claim(client, parent["token"], new_code).status_code == 200
    # Claimed: no new code any more.
    again = client.post(f"{BASE}/{registration_id}/claim-code", headers=county.auth("a"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ALREADY_CLAIMED"
    for who in ("b", "other_bureau"):
        assert client.post(f"{BASE}/{registration_id}/claim-code",
                           headers=county.auth(who)).status_code == 404


# --- the claim -----------------------------------------------------------------------------------


def test_the_claim_moves_the_family_and_the_parent_then_sees_it(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    scan = upload(client, county.auth("a"))
    answer = enter(client, county.auth("a"), entry(county, upload_ids=[scan])).get_json()
    registration_id = _accepted(client, county, answer)["registration_id"]
    family_id = db.session.scalar(select(Registration.submitted_by_user_id))
    parent = login_parent()
    user_id = parent["user"]["id"]
    # Typed the way people type codes read off paper: lower case, spaces.
    typed = answer["slip"]["claim_code"].replace("-", " ").lower()
    response = _claim(client, parent["token"], typed)
    assert response.status_code == 200, response.get_json()
    claimed = response.get_json()
    assert claimed["children"] == 1
    assert [r["id"] for r in claimed["registrations"]] == [registration_id]
    assert claimed["registrations"][0]["school_name"] == "示例甲小学"

    db.session.expire_all()
    mine = client.get("/api/v1/registrations", headers=bearer(parent["token"])).get_json()
    assert [r["id"] for r in mine["items"]] == [registration_id]
    assert mine["items"][0]["timeline"][0]["actor_role"] == "school_staff"
    me = client.get("/api/v1/me", headers=bearer(parent["token"])).get_json()
    assert me["identity_bound"] is True and me["identity"]["name"] == "李示例"
    assert [c["name"] for c in me["children"]] == ["李小示"]
    # The consent the guardian gave at the counter comes with the child.
    assert [(c["child_id"], c["channel"], c["version"]) for c in me["consents"]] == [
        (me["children"][0]["id"], "counter", CONSENT_VERSION)]
    document = client.get(f"/api/v1/uploads/{scan}/meta", headers=bearer(parent["token"]))
    assert document.status_code == 200
    notices = client.get("/api/v1/me/notices", headers=bearer(parent["token"])).get_json()
    assert [n["template_key"] for n in notices["items"]] == ["registration_received"]
    # The counter's account is spent; the code is used up; the claim is audited.
    family = db.session.get(User, family_id)
    assert family is not None and family.is_active is False
    assert db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.user_id == family_id)) == 0
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "proxy.family_claimed"))
    assert audit is not None and audit.actor_user_id == user_id
    assert audit.details["registration_ids"] == [registration_id]
    listed = client.get(BASE, headers=county.auth("a")).get_json()["items"]
    assert listed[0]["claimed"] is True and listed[0]["claim_code_expires_at"] is None

    # From now on the family acts itself: e.g. it withdraws while the window is open.
    withdrawn = client.post(f"/api/v1/registrations/{registration_id}/withdraw",
                            headers=bearer(parent["token"]))
    assert withdrawn.status_code == 200, withdrawn.get_json()


def test_a_code_works_once(client: FlaskClient, county: County,
                           login_parent: Callable[..., dict[str, Any]]) -> None:
    code = _entered_code(client, county)
    assert _claim(client, login_parent()["token"], code).status_code == 200
    used = _claim(client, login_parent()["token"], code)
    assert used.status_code == 410
    assert used.get_json()["error"]["code"] == "CLAIM_CODE_USED"


@pytest.mark.parametrize("code", ["ABCD-EFGH", "短码", "0000-0000", "ABCDEFGHJK"])
def test_a_wrong_code_is_404_in_chinese(client: FlaskClient, county: County,
                                        login_parent: Callable[..., dict[str, Any]],
                                        code: str) -> None:
    response = _claim(client, login_parent()["token"], code)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "CLAIM_CODE_NOT_FOUND" and "认领码不正确" in error["message"]


def test_an_expired_code_is_410(client: FlaskClient, county: County,
                                login_parent: Callable[..., dict[str, Any]]) -> None:
    code = _entered_code(client, county)
    row = db.session.scalar(select(ClaimCode))
    assert row is not None
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.flush()
    response = _claim(client, login_parent()["token"], code)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "CLAIM_CODE_EXPIRED"
    assert "重新生成" in response.get_json()["error"]["message"]
    listed = client.get(BASE, headers=county.auth("a")).get_json()["items"]
    assert listed[0]["claim_code_expired"] is True


def test_claims_are_rate_limited(client: FlaskClient, county: County, app: Flask,
                                 login_parent: Callable[..., dict[str, Any]],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CLAIM_LIMIT_PER_CALLER", "3/hour")
    token = login_parent()["token"]
    answers = [_claim(client, token, "ABCD-EFGH").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    limited = _claim(client, token, "ABCD-EFGH")
    assert limited.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    # Another parent still has their own tries.
    assert _claim(client, login_parent()["token"], "ABCD-EFGH").status_code == 404


def test_a_parent_bound_to_another_identity_cannot_claim(
        client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    code = _entered_code(client, county)
    parent = login_parent()
    make_guardian(db.session.get(User, parent["user"]["id"]), id_number=guardian_number())
    response = _claim(client, parent["token"], code)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "CLAIM_IDENTITY_CONFLICT"
    # Nothing moved, and the code still works for the right person.
    assert db.session.scalar(select(ClaimCode.claimed_at)) is None
    assert _claim(client, login_parent()["token"], code).status_code == 200


def test_staff_cannot_claim(client: FlaskClient, county: County) -> None:
    assert _claim(client, county.tokens.get("a") or county.auth("a")["Authorization"][7:],
                  "ABCD-EFGH").status_code == 403
