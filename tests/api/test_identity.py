"""Parents bind their real name, add children, and see eligibility — personal data protected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.identity.consent import CONSENT_VERSION
from backend.identity.models import Child, Guardian, IdentityDispute, VerificationLevel
from backend.registrations.models import RegistrationStatus
from backend.schools.models import RegionLevel
from tests.conftest import Simulator, bearer, find_personal_data
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_staff,
)

GUARDIAN_ID = make_id_number(dt.date(1988, 6, 15), 911, male=False)
AGREED = {"version": CONSENT_VERSION, "agreed": True}
Login = Callable[..., dict[str, Any]]


@pytest.fixture()
def area(session: Any) -> dict[str, Any]:
    """An authority with a town, two villages, a 2024 season and a school zoned to one."""
    authority = make_authority()
    town = make_region(authority, name="临泉镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例一村")
    other = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例二村")
    season = make_season(authority, year=2024)
    school = make_school(authority, zone=[village], town_id=town.id)
    return {"authority": authority, "town": town, "village": village, "other": other,
            "season": season, "school": school}


def _bind(client: FlaskClient, token: str, **body: Any) -> Any:
    payload = {"name": "王示例", "id_number": GUARDIAN_ID, "relation": "mother", **body}
    return client.post("/api/v1/me/identity", json=payload, headers=bearer(token))


def _child(client: FlaskClient, token: str, village_code: str, **body: Any) -> Any:
    payload = {"name": "王小示", "id_number": make_id_number(dt.date(2018, 8, 31), 921),
               "hukou": {"region_code": village_code, "address": "示例路 1 号"},
               "guardian_consent": AGREED, **body}
    return client.post("/api/v1/me/children", json=payload, headers=bearer(token))


def test_binding_masks_everything_and_stores_no_plaintext(
    client: FlaskClient, wechat_sim: Simulator, login_parent: Login, session: Any
) -> None:
    login = login_parent("o-bind-1")
    phone_code = wechat_sim.post("/sim/phone-code", openid="o-bind-1",
                                 phone="13812345678")["code"]
    response = _bind(client, login["token"], phone_code=phone_code)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id_number"] == GUARDIAN_ID[:6] + "********" + GUARDIAN_ID[-4:]
    assert body["phone"] == "138****5678"
    assert body["verification"] == "self_declared"
    me = client.get("/api/v1/me", headers=bearer(login["token"])).get_json()
    assert me["identity_bound"] is True and me["identity"]["name"] == "王示例"
    child_number = make_id_number(dt.date(2018, 5, 5), 925)
    area_village = make_region(make_authority(), level=RegionLevel.VILLAGE,
                               parent=make_region(make_authority()))
    added = _child(client, login["token"], area_village.code, id_number=child_number,
                   categories=["migrant"], residence={"region_code": area_village.code},
                   residence_permit={"number": "SX1400009999", "issued_on": "2022-01-01"})
    assert added.status_code == 201, added.get_json()
    # The database holds no number or phone in plaintext, in any table.
    secrets = (GUARDIAN_ID, GUARDIAN_ID[:14], "13812345678", child_number, "SX1400009999")
    for table in (Guardian, Child, User, AuditEvent, IdentityDispute):
        dump = " ".join(str(row) for row in db.session.execute(select(table.__table__)))
        assert not [s for s in secrets if s in dump], table.__tablename__


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (GUARDIAN_ID[:-1] + ("0" if GUARDIAN_ID[-1] != "0" else "1"), "ID_NUMBER_CHECKSUM"),
        ("14112419880230" + "9114", "ID_NUMBER_CHECKSUM"),  # also an impossible date
        (GUARDIAN_ID[:-2], "ID_NUMBER_LENGTH"),
        ("14112419880615A11X", "ID_NUMBER_FORMAT"),
    ],
)
def test_invalid_id_numbers_are_rejected(
    client: FlaskClient, login_parent: Login, session: Any, number: str, code: str
) -> None:
    response = _bind(client, login_parent()["token"], id_number=number)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(Guardian.id)) is None


def test_impossible_date_with_valid_checksum_is_rejected(
    client: FlaskClient, login_parent: Login, session: Any
) -> None:
    from stdnum.cn import ric

    body = "14112419880230911"  # 30 February
    response = _bind(client, login_parent()["token"],
                     id_number=body + ric.calc_check_digit(body + "0"))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "ID_NUMBER_INVALID"


def test_a_region_code_the_table_cannot_place_is_invalid_not_a_crash(
    client: FlaskClient, login_parent: Login, session: Any
) -> None:
    from stdnum.cn import ric

    # 150001 is in stdnum's region table without a county, where its lookup raised KeyError.
    body = "15000119880215911"
    response = _bind(client, login_parent()["token"],
                     id_number=body + ric.calc_check_digit(body + "0"))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "ID_NUMBER_INVALID"
    assert db.session.scalar(select(Guardian.id)) is None


def test_lowercase_x_is_accepted_and_normalised(
    client: FlaskClient, login_parent: Login, session: Any
) -> None:
    number = next(make_id_number(dt.date(1985, 1, 2), n) for n in range(901, 999, 2)
                  if make_id_number(dt.date(1985, 1, 2), n).endswith("X"))
    response = _bind(client, login_parent()["token"], id_number=number.lower())
    assert response.status_code == 201
    assert response.get_json()["id_number"].endswith("X")


def test_one_id_number_binds_one_account_and_disputes_go_to_the_bureau(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    first, second = login_parent("o-first"), login_parent("o-second")
    assert _bind(client, first["token"]).status_code == 201
    again = _bind(client, second["token"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "IDENTITY_ALREADY_BOUND"
    assert _bind(client, first["token"]).get_json()["error"]["code"] == "IDENTITY_ALREADY_SET"

    dispute = client.post("/api/v1/me/identity/disputes", headers=bearer(second["token"]), json={
        "name": "王示例", "id_number": GUARDIAN_ID, "note": "换了手机，原微信号无法登录",
        "authority": area["authority"].code})
    assert dispute.status_code == 201, dispute.get_json()
    make_staff(area["authority"], username="bureau-disputes")
    admin = client.post("/api/v1/auth/staff-login", json={
        "username": "bureau-disputes", "password": STAFF_PASSWORD}).get_json()["token"]
    listed = client.get("/api/v1/admin/identity-disputes?status=open",
                        headers=bearer(admin)).get_json()["items"]
    assert [d["id"] for d in listed] == [dispute.get_json()["id"]]
    assert listed[0]["claimed_name"] == "王*例"
    resolved = client.post(f"/api/v1/admin/identity-disputes/{listed[0]['id']}/resolve",
                           headers=bearer(admin), json={"decision": "transfer",
                                                        "note": "核对户口簿后转移"})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "transferred"
    # The old account is signed out; the new one owns the binding.
    assert client.get("/api/v1/me", headers=bearer(first["token"])).status_code == 401
    assert client.get("/api/v1/me/identity", headers=bearer(second["token"])).status_code == 200
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"identity.dispute_opened", "identity.dispute_transferred"} <= set(actions)
    twice = client.post(f"/api/v1/admin/identity-disputes/{listed[0]['id']}/resolve",
                        headers=bearer(admin), json={"decision": "reject", "note": "重复"})
    assert twice.status_code == 409


def test_bad_phone_code_writes_nothing(
    client: FlaskClient, login_parent: Login, session: Any
) -> None:
    response = _bind(client, login_parent()["token"], phone_code="never-issued")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "INVALID_PHONE_CODE"
    assert db.session.scalar(select(Guardian.id)) is None


def test_children_need_a_binding_first(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    response = _child(client, login_parent()["token"], area["village"].code)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "IDENTITY_REQUIRED"


@pytest.mark.parametrize(
    ("birth", "eligible", "reason"),
    [(dt.date(2018, 8, 31), True, "符合入学年龄"), (dt.date(2018, 9, 1), False, "未满6周岁")],
)
def test_child_from_id_number_with_eligibility_at_the_cutoff(
    client: FlaskClient, login_parent: Login, area: dict[str, Any],
    birth: dt.date, eligible: bool, reason: str,
) -> None:
    token = login_parent()["token"]
    _bind(client, token)
    number = make_id_number(birth, 922, male=False)
    response = _child(client, token, area["village"].code, id_number=number)
    assert response.status_code == 201, response.get_json()
    child = response.get_json()
    assert child["birth_date"] == birth.isoformat() and child["sex"] == "female"
    assert child["eligibility"]["eligible"] is eligible
    assert reason in child["eligibility"]["reason"]
    assert child["eligibility"]["age_cutoff"] == "2018-08-31"
    assert child["id_number"] == number[:6] + "********" + number[-4:]
    assert child["hukou"]["region"] == {"code": area["village"].code, "name": "示例一村",
                                        "town": "临泉镇"}


def test_a_child_binds_to_one_account(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    mine, other = login_parent()["token"], login_parent()["token"]
    _bind(client, mine)
    _bind(client, other, id_number=make_id_number(dt.date(1987, 3, 3), 913))
    assert _child(client, mine, area["village"].code).status_code == 201
    same = _child(client, mine, area["village"].code)
    assert same.get_json()["error"]["code"] == "CHILD_ALREADY_ADDED"
    elsewhere = _child(client, other, area["village"].code)
    assert elsewhere.status_code == 409
    error = elsewhere.get_json()["error"]
    assert error["code"] == "CHILD_ALREADY_BOUND" and "学校" in error["message"]


def test_another_parents_child_is_not_found(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    mine, other = login_parent()["token"], login_parent()["token"]
    _bind(client, mine)
    child_id = _child(client, mine, area["village"].code).get_json()["id"]
    _bind(client, other, id_number=make_id_number(dt.date(1987, 3, 3), 915))
    assert client.get(f"/api/v1/me/children/{child_id}", headers=bearer(other)).status_code == 404
    patch = client.patch(f"/api/v1/me/children/{child_id}", headers=bearer(other),
                         json={"name": "改名"})
    assert patch.status_code == 404
    assert client.get("/api/v1/me/children", headers=bearer(other)).get_json() == {"items": []}


def test_addresses_come_from_the_region_list(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    token = login_parent()["token"]
    _bind(client, token)
    town = _child(client, token, area["town"].code)
    assert town.get_json()["error"]["code"] == "REGION_NOT_SPECIFIC"
    unknown = _child(client, token, "NOPE-001")
    assert unknown.get_json()["error"]["code"] == "REGION_NOT_FOUND"


def test_special_groups_need_their_details_and_list_their_documents(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    token = login_parent()["token"]
    _bind(client, token)
    missing = _child(client, token, area["village"].code, categories=["migrant"])
    assert missing.get_json()["error"]["code"] == "RESIDENCE_PERMIT_REQUIRED"
    no_wish = _child(client, token, area["village"].code, categories=["disability"])
    assert no_wish.get_json()["error"]["code"] == "DISABILITY_DETAILS_REQUIRED"
    response = _child(client, token, area["village"].code,
                      categories=["migrant", "disability"],
                      residence={"region_code": area["other"].code, "address": "租住"},
                      residence_permit={"number": "SX140000123456", "issued_on": "2023-03-01"},
                      disability={"placement_wish": "regular_class"})
    assert response.status_code == 201, response.get_json()
    child = response.get_json()
    assert child["disability"]["placement_wish_name"] == "随班就读"
    assert {d["kind"] for d in child["required_documents"]} == {
        "residence_permit", "disability_certificate"}
    assert child["residence_permit"]["number"] != "SX140000123456"


def test_other_documents_need_a_declared_birth_date(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    token = login_parent()["token"]
    _bind(client, token)
    passport = {"document_type": "foreign_passport", "id_number": "E12345678",
                "categories": ["international"]}
    assert _child(client, token, area["village"].code, **passport).get_json()["error"][
        "code"] == "BIRTH_DATE_REQUIRED"
    response = _child(client, token, area["village"].code, **passport,
                      birth_date="2018-05-05", sex="male")
    assert response.status_code == 201
    assert response.get_json()["id_number"] == "E1*****78"


def test_hmt_permit_numbers_need_their_own_type(
    client: FlaskClient, login_parent: Login, session: Any
) -> None:
    token = login_parent()["token"]
    number = make_id_number(dt.date(1986, 2, 2), 931, region="810000")
    wrong = _bind(client, token, id_number=number)
    assert wrong.get_json()["error"]["code"] == "ID_NUMBER_TYPE_MISMATCH"
    right = _bind(client, token, id_number=number, document_type="hmt_residence_permit")
    assert right.status_code == 201


def test_editing_a_child_is_locked_while_a_registration_is_active(
    client: FlaskClient, login_parent: Login, area: dict[str, Any]
) -> None:
    token = login_parent()["token"]
    _bind(client, token)
    child_id = _child(client, token, area["village"].code).get_json()["id"]
    edited = client.patch(f"/api/v1/me/children/{child_id}", headers=bearer(token),
                          json={"residence": {"region_code": area["other"].code,
                                              "address": "新址"}})
    assert edited.status_code == 200
    assert edited.get_json()["residence"]["region"]["code"] == area["other"].code
    from backend.identity.models import Child

    child = db.session.get(Child, child_id)
    registration = make_registration(area["season"], child, area["school"])
    locked = client.patch(f"/api/v1/me/children/{child_id}", headers=bearer(token),
                          json={"name": "新名字"})
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "CHILD_LOCKED"
    registration.status = RegistrationStatus.WITHDRAWN
    db.session.flush()
    assert client.patch(f"/api/v1/me/children/{child_id}", headers=bearer(token),
                        json={"name": "新名字"}).status_code == 200


def test_staff_reveal_is_scoped_and_audited(client: FlaskClient, area: dict[str, Any],
                                            login_parent: Login) -> None:
    guardian = make_guardian(phone="13900001111")
    child = make_child(guardian, area["village"])
    make_registration(area["season"], child, area["school"])
    other_school = make_school(area["authority"])
    make_staff(area["authority"], school=area["school"], username="reviewer-here")
    make_staff(area["authority"], school=other_school, username="reviewer-there")
    make_staff(make_authority(), username="admin-elsewhere")

    def reveal(username: str) -> Any:
        token = client.post("/api/v1/auth/staff-login", json={
            "username": username, "password": STAFF_PASSWORD}).get_json()["token"]
        return client.post(f"/api/v1/staff/children/{child.id}/reveal", headers=bearer(token),
                           json={"reason": "核对户口簿"})

    shown = reveal("reviewer-here")
    assert shown.status_code == 200
    assert shown.get_json()["guardian_phone"] == "13900001111"
    assert len(shown.get_json()["child_id_number"]) == 18
    assert reveal("reviewer-there").status_code == 404
    assert reveal("admin-elsewhere").status_code == 404
    parent = login_parent()["token"]
    assert client.post(f"/api/v1/staff/children/{child.id}/reveal", headers=bearer(parent),
                       json={"reason": "看看"}).status_code == 403
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "child.reveal"))
    assert event is not None and event.object_id == str(child.id)
    assert event.client_fingerprint and event.details == {"reason": "核对户口簿"}


def test_admins_read_the_audit_log_of_their_authority(
    client: FlaskClient, area: dict[str, Any]
) -> None:
    make_staff(area["authority"], username="auditor")
    token = client.post("/api/v1/auth/staff-login", json={
        "username": "auditor", "password": STAFF_PASSWORD}).get_json()["token"]
    guardian = make_guardian()
    child = make_child(guardian, area["village"])
    make_registration(area["season"], child, area["school"])
    client.post(f"/api/v1/staff/children/{child.id}/reveal", headers=bearer(token),
                json={"reason": "抽查"})
    log = client.get("/api/v1/admin/audit-events?action=child.reveal", headers=bearer(token))
    assert log.status_code == 200
    assert [e["object_id"] for e in log.get_json()["items"]] == [str(child.id)]


def test_face_verification_upgrades_the_binding(
    app: Flask, client: FlaskClient, wechat_sim: Simulator, login_parent: Login,
    session: Any,
) -> None:
    token = login_parent("o-face")["token"]
    _bind(client, token)
    not_offered = client.post("/api/v1/me/identity/face-verification", headers=bearer(token))
    assert not_offered.get_json()["error"]["code"] == "VERIFICATION_NOT_OFFERED"
    app.config["IDENTITY_VERIFIER"] = "wechat_face"
    try:
        started = client.post("/api/v1/me/identity/face-verification", headers=bearer(token))
        assert started.status_code == 201, started.get_json()
        verify_id = started.get_json()["verify_id"]
        complete = "/api/v1/me/identity/face-verification/complete"
        pending = client.post(complete, headers=bearer(token), json={"verify_id": verify_id})
        assert pending.get_json()["error"]["code"] == "FACE_VERIFICATION_FAILED"
        wechat_sim.post("/sim/face-verify", verify_id=verify_id, verify_ret=10004)
        mismatch = client.post(complete, headers=bearer(token), json={"verify_id": verify_id})
        assert "不一致" in mismatch.get_json()["error"]["message"]
        wechat_sim.post("/sim/face-verify", verify_id=verify_id, verify_ret=10000)
        done = client.post(complete, headers=bearer(token), json={"verify_id": verify_id})
        assert done.status_code == 200 and done.get_json()["verification"] == "face_verified"
    finally:
        app.config["IDENTITY_VERIFIER"] = "self_declared"
    guardian = db.session.scalar(select(Guardian))
    assert guardian is not None and guardian.verification is VerificationLevel.FACE_VERIFIED


def test_the_mask_checker_catches_a_leak() -> None:
    leaky = {"items": [{"phone": "13812345678"}, {"id": "141124201808319997"}],
             "sha256": "ab12345678901cd", "masked": "141124********9997"}
    assert find_personal_data(leaky) == ["$.items[0].phone", "$.items[1].id"]
