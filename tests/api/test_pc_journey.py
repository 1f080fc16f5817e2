"""The parent's journey on a PC (docs/PC.md), over HTTP: the real-name binding with the phone
WeChat confirmed on the phone when the sign-in was approved (kept 30 minutes, for that
account's PC session only), and the guardian's consent recorded with channel `pc`."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.core.db import db
from backend.core.redis import redis_store
from backend.identity.consent import CONSENT_VERSION
from backend.identity.models import Child, ConsentChannel, Guardian
from backend.identity.serializers import guardian_out
from backend.schools.models import RegionLevel
from tests.api.test_pc_login import (
    CHROME_ON_WINDOWS,
    csrf_of,
    error_code,
    scan,
    scene_on_screen,
    start,
    state,
)
from tests.conftest import Simulator, bearer
from tests.factories import (
    make_authority,
    make_id_number,
    make_region,
    make_registration,
    make_school,
    make_season,
)

_hosts = itertools.cycle(random.sample(range(1, 255), 254))
GUARDIAN_ID = make_id_number(dt.date(1987, 3, 9), 931, male=False)
IDENTITY = {"name": "王示例", "id_number": GUARDIAN_ID, "relation": "mother"}


def new_pc(app: Flask) -> FlaskClient:
    """A browser of its own on an address of its own."""
    browser = app.test_client()
    browser.environ_base.update({"REMOTE_ADDR": f"36.113.{next(_hosts)}.{next(_hosts)}",
                                 "HTTP_USER_AGENT": CHROME_ON_WINDOWS})
    return browser


@pytest.fixture()
def parent(client: FlaskClient, wechat_sim: Simulator) -> dict[str, Any]:
    """A parent's phone signed in to the mini-program, with its openid."""
    openid = f"o-{uuid.uuid4().hex[:20]}"
    response = client.post("/api/v1/auth/wechat-login",
                           json={"code": wechat_sim.login_code(openid)})
    assert response.status_code == 200
    return {"openid": openid, **response.get_json()}


def phone_code(wechat_sim: Simulator, parent: dict[str, Any], phone: str = "13812345678") -> str:
    return str(wechat_sim.post("/sim/phone-code", openid=parent["openid"], phone=phone)["code"])


def sign_in(pc: FlaskClient, client: FlaskClient, parent: dict[str, Any],
            code: str | None = None) -> str:
    """Scan and confirm (with the phone's code, if any) and collect on the PC: its CSRF."""
    started = start(pc)
    scene = scene_on_screen(pc, started)
    scanned = scan(client, parent["token"], scene)
    assert scanned.status_code == 200
    body = {"scene": scene, "decision": "confirm", **({"phone_code": code} if code else {})}
    confirmed = client.post("/api/v1/auth/pc-login/confirm", json=body,
                            headers=bearer(parent["token"]))
    assert confirmed.status_code == 200, confirmed.get_json()
    assert state(pc, started).get_json()["state"] == "confirmed"
    return csrf_of(pc)


def kept_key(parent: dict[str, Any]) -> str:
    return redis_store.key("pc-phone", parent["user"]["id"])


def guardian_phone(parent: dict[str, Any]) -> str | None:
    guardian = db.session.scalar(select(Guardian).where(
        Guardian.user_id == parent["user"]["id"]))
    assert guardian is not None
    return guardian_out(guardian).phone


def test_the_phone_confirmed_with_the_sign_in_binds_on_the_pc(
        app: Flask, client: FlaskClient, wechat_sim: Simulator, parent: dict[str, Any],
        session: Any) -> None:
    pc = new_pc(app)
    started = start(pc)
    scene = scene_on_screen(pc, started)
    scanned = scan(client, parent["token"], scene).get_json()
    assert scanned["identity_bound"] is False
    code = phone_code(wechat_sim, parent)
    confirmed = client.post("/api/v1/auth/pc-login/confirm", headers=bearer(parent["token"]),
                            json={"scene": scene, "decision": "confirm", "phone_code": code})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert state(pc, started).get_json()["state"] == "confirmed"
    # Kept encrypted, for 30 minutes; the number never in Redis in plaintext.
    raw = redis_store.client.get(kept_key(parent))
    assert raw is not None and b"13812345678" not in raw
    assert 1790 <= redis_store.client.ttl(kept_key(parent)) <= 1800
    csrf = csrf_of(pc)

    bound = pc.post("/api/v1/me/identity", json=IDENTITY, headers={"X-CSRF-Token": csrf})

    assert bound.status_code == 201, bound.get_json()
    assert bound.get_json()["phone"] == "138****5678"
    assert guardian_phone(parent) == "138****5678"
    assert redis_store.client.get(kept_key(parent)) is None
    # Once bound, the next sign-in's phone asks for nothing.
    again = new_pc(app)
    scene = scene_on_screen(again, start(again))
    assert scan(client, parent["token"], scene).get_json()["identity_bound"] is True


def test_the_kept_phone_is_for_the_pc_session_of_the_same_account_only(
        app: Flask, client: FlaskClient, wechat_sim: Simulator, parent: dict[str, Any],
        session: Any) -> None:
    sign_in(new_pc(app), client, parent, phone_code(wechat_sim, parent))
    # Another parent's PC session does not get it.
    response = client.post("/api/v1/auth/wechat-login",
                           json={"code": wechat_sim.login_code(f"o-{uuid.uuid4().hex[:20]}")})
    other = response.get_json()
    other_pc = new_pc(app)
    csrf = sign_in(other_pc, client, other)
    other_identity = {**IDENTITY, "id_number": make_id_number(dt.date(1986, 1, 2), 933)}
    bound = other_pc.post("/api/v1/me/identity", json=other_identity,
                          headers={"X-CSRF-Token": csrf})
    assert bound.status_code == 201 and bound.get_json()["phone"] is None
    # The phone's own binding (bearer, no code) is unchanged: no phone, and the kept one stays.
    by_phone = client.post("/api/v1/me/identity", json=IDENTITY, headers=bearer(parent["token"]))
    assert by_phone.status_code == 201 and by_phone.get_json()["phone"] is None
    assert redis_store.client.get(kept_key(parent)) is not None


def test_the_kept_phone_expires(app: Flask, client: FlaskClient, wechat_sim: Simulator,
                                parent: dict[str, Any], session: Any) -> None:
    pc = new_pc(app)
    csrf = sign_in(pc, client, parent, phone_code(wechat_sim, parent))
    redis_store.client.pexpire(kept_key(parent), 1)
    while redis_store.client.exists(kept_key(parent)):
        pass

    bound = pc.post("/api/v1/me/identity", json=IDENTITY, headers={"X-CSRF-Token": csrf})

    assert bound.status_code == 201 and bound.get_json()["phone"] is None


def test_a_code_sent_by_the_pc_wins_over_the_kept_phone(
        app: Flask, client: FlaskClient, wechat_sim: Simulator, parent: dict[str, Any],
        session: Any) -> None:
    pc = new_pc(app)
    csrf = sign_in(pc, client, parent, phone_code(wechat_sim, parent))
    code = phone_code(wechat_sim, parent, "13900001111")
    bound = pc.post("/api/v1/me/identity", json={**IDENTITY, "phone_code": code},
                    headers={"X-CSRF-Token": csrf})
    assert bound.status_code == 201 and bound.get_json()["phone"] == "139****1111"


def test_a_bad_phone_code_confirms_nothing(app: Flask, client: FlaskClient,
                                           parent: dict[str, Any], session: Any) -> None:
    pc = new_pc(app)
    started = start(pc)
    scene = scene_on_screen(pc, started)
    scan(client, parent["token"], scene)
    refused = client.post("/api/v1/auth/pc-login/confirm", headers=bearer(parent["token"]),
                          json={"scene": scene, "decision": "confirm", "phone_code": "never"})
    assert refused.status_code == 422 and error_code(refused) == "INVALID_PHONE_CODE"
    assert state(pc, started).get_json()["state"] == "scanned"
    assert redis_store.client.get(kept_key(parent)) is None
    # Confirming without the phone still works; a refusal never exchanges a code.
    confirmed = client.post("/api/v1/auth/pc-login/confirm", headers=bearer(parent["token"]),
                            json={"scene": scene, "decision": "confirm"})
    assert confirmed.status_code == 200


def test_a_bound_account_keeps_no_phone(app: Flask, client: FlaskClient, wechat_sim: Simulator,
                                        parent: dict[str, Any], session: Any) -> None:
    assert client.post("/api/v1/me/identity", json=IDENTITY,
                       headers=bearer(parent["token"])).status_code == 201
    sign_in(new_pc(app), client, parent, phone_code(wechat_sim, parent))
    assert redis_store.client.get(kept_key(parent)) is None


def test_a_child_added_on_the_pc_records_the_consent_with_channel_pc(
        app: Flask, client: FlaskClient, wechat_sim: Simulator, parent: dict[str, Any],
        session: Any) -> None:
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    make_season(authority, year=dt.date.today().year + 1)
    pc = new_pc(app)
    csrf = sign_in(pc, client, parent, phone_code(wechat_sim, parent))
    assert pc.post("/api/v1/me/identity", json=IDENTITY,
                   headers={"X-CSRF-Token": csrf}).status_code == 201
    child = {"name": "王小示", "hukou": {"region_code": village.code, "address": "示例路 1 号"},
             "guardian_consent": {"version": CONSENT_VERSION, "agreed": True}}

    on_pc = pc.post("/api/v1/me/children", headers={"X-CSRF-Token": csrf}, json={
        **child, "id_number": make_id_number(dt.date(2019, 5, 1), 941)})
    on_phone = client.post("/api/v1/me/children", headers=bearer(parent["token"]), json={
        **child, "id_number": make_id_number(dt.date(2019, 6, 1), 943)})
    # The client cannot choose the channel.
    forged = pc.post("/api/v1/me/children", headers={"X-CSRF-Token": csrf}, json={
        **child, "id_number": make_id_number(dt.date(2019, 7, 1), 945),
        "guardian_consent": {"version": CONSENT_VERSION, "agreed": True,
                             "channel": "mini_program"}})

    assert on_pc.status_code == 201 and on_phone.status_code == 201
    assert forged.status_code == 422
    channels = [db.session.get(Child, body.get_json()["id"]).consent.channel  # type: ignore[union-attr]
                for body in (on_pc, on_phone)]
    assert channels == [ConsentChannel.PC, ConsentChannel.MINI_PROGRAM]


def test_a_child_of_the_special_groups_without_a_resident_id_is_added_and_changed_on_the_pc(
        app: Flask, client: FlaskClient, wechat_sim: Simulator, parent: dict[str, Any],
        session: Any) -> None:
    """What the PC form sends (docs/PC.md): another document with birth date and sex, the
    actual address, the 居住证 and the placement wish; then PATCH, and CHILD_LOCKED."""
    authority = make_authority()
    town = make_region(authority)
    home = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    lives = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    season = make_season(authority, year=dt.date.today().year + 1)
    school = make_school(authority, zone=[lives])
    pc = new_pc(app)
    csrf = sign_in(pc, client, parent)
    form = {"X-CSRF-Token": csrf}
    assert pc.post("/api/v1/me/identity", json=IDENTITY, headers=form).status_code == 201
    child = {
        "name": "陈小迁", "document_type": "hk_macau_permit", "id_number": "h12345678",
        "hukou": {"region_code": home.code, "address": "示例路 1 号"},
        "residence": {"region_code": lives.code, "address": "示例路 8 号"},
        "categories": ["migrant", "disability"],
        "residence_permit": {"number": "JZ20240001", "issued_on": "2024-03-01",
                             "issuing_city": "示例市"},
        "disability": {"placement_wish": "regular_class", "certificate_number": "C1234567",
                       "note": "需要无障碍通道"},
        "guardian_consent": {"version": CONSENT_VERSION, "agreed": True},
    }

    undated = pc.post("/api/v1/me/children", json=child, headers=form)
    no_permit = pc.post("/api/v1/me/children", headers=form, json={
        **{k: v for k, v in child.items() if k != "residence_permit"},
        "birth_date": "2019-04-02", "sex": "female"})
    added = pc.post("/api/v1/me/children", headers=form,
                    json={**child, "birth_date": "2019-04-02", "sex": "female"})

    assert undated.status_code == 422 and error_code(undated) == "BIRTH_DATE_REQUIRED"
    assert undated.get_json()["error"]["details"]["field"] == "birth_date"
    assert no_permit.status_code == 422 and error_code(no_permit) == "RESIDENCE_PERMIT_REQUIRED"
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert body["document_type"] == "hk_macau_permit" and body["birth_date"] == "2019-04-02"
    assert body["categories"] == ["migrant", "disability"]
    assert body["residence"]["region"]["code"] == lives.code
    assert body["disability"]["placement_wish_name"] == "随班就读"
    assert [d["kind"] for d in body["required_documents"]] == [
        "residence_permit", "disability_certificate"]
    saved = db.session.get(Child, body["id"])
    assert saved is not None and saved.consent.channel is ConsentChannel.PC
    assert saved.residence_permit is not None and saved.disability is not None
    assert "JZ20240001" not in str(saved.residence_permit)
    certificate = saved.disability["certificate_number_enc"]
    assert certificate and "C1234567" not in certificate
    url = f"/api/v1/me/children/{body['id']}"

    # 修改 on the PC: the CSRF token is needed; a certificate number left out is kept.
    change = {"name": "陈小迁", "categories": ["migrant", "disability"],
              "disability": {"placement_wish": "special_school", "note": ""}}
    assert pc.patch(url, json=change).status_code == 403
    changed = pc.patch(url, json=change, headers=form)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["disability"]["placement_wish"] == "special_school"
    db.session.expire_all()
    saved = db.session.get(Child, body["id"])
    assert saved is not None and saved.disability is not None
    assert saved.disability["certificate_number_enc"] == certificate
    # The group unticked: the form sends disability null and the wish is gone.
    dropped = pc.patch(url, headers=form, json={"categories": ["migrant"], "disability": None})
    assert dropped.status_code == 200, dropped.get_json()
    assert dropped.get_json()["categories"] == ["migrant"]
    assert dropped.get_json()["disability"] is None

    # Once a registration holds the child, a change is refused with the message the PC shows.
    make_registration(season, saved, school)
    locked = pc.patch(url, headers=form, json={"name": "陈小新"})
    assert locked.status_code == 409 and error_code(locked) == "CHILD_LOCKED"
    assert locked.get_json()["error"]["message"] == "该儿童已提交报名，请通过“修改报名信息”办理"
