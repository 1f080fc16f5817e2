"""Tests for the WeChat API simulator (backend/wechat/simulator.py)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from werkzeug.serving import make_server

from backend.wechat.simulator import (
    DEFAULT_APPID,
    DEFAULT_SECRET,
    DEFAULT_TEMPLATES,
    WeChatSimulator,
    create_simulator_app,
    valid_subscribe_field,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OPENID = "o_test_parent_0001"
TEMPLATE = "TPL_REG_RECEIVED"
GOOD_DATA = {
    "thing1": {"value": "小明的入学报名"},
    "character_string2": {"value": "REG-2024-0001"},
    "time3": {"value": "2024年08月05日 08:00"},
}


class FakeClock:
    """A settable clock so tests control expiry without sleeping."""

    def __init__(self) -> None:
        self.now = 1_722_816_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim_app(clock: FakeClock) -> Flask:
    return create_simulator_app(clock=clock)


@pytest.fixture
def sim(sim_app: Flask) -> FlaskClient:
    """A test client of a simulator whose clock the test controls."""
    return sim_app.test_client()


def get_token(sim: FlaskClient) -> str:
    response = sim.get(
        "/cgi-bin/token",
        query_string={
            "grant_type": "client_credential",
            "appid": DEFAULT_APPID,
            "secret": DEFAULT_SECRET,
        },
    )
    body = response.get_json()
    assert body["expires_in"] == 7200
    token: str = body["access_token"]
    return token


def stable_token(sim: FlaskClient, **extra: Any) -> dict[str, Any]:
    body = {
        "grant_type": "client_credential",
        "appid": DEFAULT_APPID,
        "secret": DEFAULT_SECRET,
        **extra,
    }
    result: dict[str, Any] = sim.post("/cgi-bin/stable_token", json=body).get_json()
    return result


def login_code(sim: FlaskClient, openid: str = OPENID, **extra: Any) -> str:
    response = sim.post("/sim/login-code", json={"openid": openid, **extra})
    assert response.status_code == 200
    code: str = response.get_json()["code"]
    return code


def code2session(sim: FlaskClient, code: str, **overrides: str) -> dict[str, Any]:
    params = {
        "appid": DEFAULT_APPID,
        "secret": DEFAULT_SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
        **overrides,
    }
    result: dict[str, Any] = sim.get("/sns/jscode2session", query_string=params).get_json()
    return result


def post_api(sim: FlaskClient, path: str, token: str, body: dict[str, Any]) -> Any:
    return sim.post(path, query_string={"access_token": token}, json=body)


def send(sim: FlaskClient, token: str, **body: Any) -> dict[str, Any]:
    payload = {"touser": OPENID, "template_id": TEMPLATE, "data": GOOD_DATA, **body}
    result: dict[str, Any] = post_api(
        sim, "/cgi-bin/message/subscribe/send", token, payload
    ).get_json()
    return result


def credits(sim: FlaskClient, openid: str = OPENID, template_id: str = TEMPLATE) -> int:
    response = sim.get("/sim/credits", query_string={"openid": openid, "template_id": template_id})
    value: int = response.get_json()["credits"]
    return value


# --- access tokens ---------------------------------------------------------------


def test_token_rejects_bad_credentials(sim: FlaskClient) -> None:
    base = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    cases = [
        ({"appid": "wx0000000000000bad"}, 40013),
        ({"secret": "wrong"}, 40125),
        ({"grant_type": "password"}, 40002),
    ]
    for override, errcode in cases:
        body = sim.get("/cgi-bin/token", query_string={**base, **override}).get_json()
        assert body["errcode"] == errcode
        assert "access_token" not in body
    assert stable_token(sim, secret="wrong")["errcode"] == 40125
    assert stable_token(sim, appid="wx0000000000000bad")["errcode"] == 40013


def test_stable_token_is_stable_while_valid(sim: FlaskClient, clock: FakeClock) -> None:
    first = stable_token(sim)
    assert first["expires_in"] == 7200
    clock.now += 1000
    second = stable_token(sim)
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 6200

    forced = stable_token(sim, force_refresh=True)
    assert forced["access_token"] != first["access_token"]
    assert forced["expires_in"] == 7200
    # The old token survives a force refresh by 30 seconds, then expires.
    old = first["access_token"]
    assert get_code(sim, old) != 42001
    clock.now += 31
    assert get_code(sim, old) == 42001
    assert get_code(sim, forced["access_token"]) != 42001


def get_code(sim: FlaskClient, token: str) -> int:
    """Return the errcode a token-protected endpoint gives for ``token``."""
    body = post_api(sim, "/wxa/business/getuserphonenumber", token, {"code": "x"}).get_json()
    errcode: int = body["errcode"]
    return errcode


def test_stable_token_rotates_after_expiry(sim: FlaskClient) -> None:
    first = stable_token(sim)["access_token"]
    assert sim.post("/sim/expire-tokens").get_json()["expired"] == 1
    assert get_code(sim, first) == 42001
    second = stable_token(sim)["access_token"]
    assert second != first
    assert get_code(sim, second) == 40029  # token accepted, code unknown


def test_stable_token_rotates_early_and_keeps_old_one_until_expiry(
    sim: FlaskClient, clock: FakeClock
) -> None:
    first = stable_token(sim)["access_token"]
    clock.now += 6899
    assert stable_token(sim) == {"access_token": first, "expires_in": 301}
    # Inside WeChat's 5-minute early-refresh window a new token is issued ...
    clock.now += 2
    second = stable_token(sim)
    assert second["access_token"] != first
    assert second["expires_in"] == 7200
    # ... while the old one stays usable until its own expiry.
    assert get_code(sim, first) == 40029
    clock.now += 300
    assert get_code(sim, first) == 42001
    assert stable_token(sim)["access_token"] == second["access_token"]


def test_access_token_errors(sim: FlaskClient, clock: FakeClock) -> None:
    response = sim.post("/wxa/business/getuserphonenumber", json={"code": "x"})
    assert response.get_json()["errcode"] == 41001
    assert get_code(sim, "not-a-token") == 40001
    token = get_token(sim)
    assert get_code(sim, token) == 40029
    clock.now += 7201
    assert get_code(sim, token) == 42001


def test_new_plain_token_leaves_old_one_a_grace_period(sim: FlaskClient, clock: FakeClock) -> None:
    old = get_token(sim)
    new = get_token(sim)
    assert old != new
    clock.now += 299
    assert get_code(sim, old) == 40029
    clock.now += 2
    assert get_code(sim, old) == 42001
    assert get_code(sim, new) == 40029


# --- login and phone codes ---------------------------------------------------------


def test_code2session_returns_session_and_rejects_reuse(sim: FlaskClient) -> None:
    code = login_code(sim, unionid="u_union_1")
    session = code2session(sim, code, access_token="ignored-by-this-endpoint")
    assert session["openid"] == OPENID
    assert session["unionid"] == "u_union_1"
    assert len(session["session_key"]) == 24  # base64 of 16 bytes
    assert "errcode" not in session

    assert code2session(sim, code) == {"errcode": 40029, "errmsg": "invalid code"}
    assert code2session(sim, "never-minted")["errcode"] == 40029


def test_code2session_without_unionid_and_fresh_session_keys(sim: FlaskClient) -> None:
    first = code2session(sim, login_code(sim))
    second = code2session(sim, login_code(sim))
    assert "unionid" not in first
    assert first["session_key"] != second["session_key"]


def test_code2session_checks_credentials(sim: FlaskClient) -> None:
    code = login_code(sim)
    assert code2session(sim, code, appid="wx0000000000000bad")["errcode"] == 40013
    assert code2session(sim, code, secret="wrong")["errcode"] == 40125
    # A rejected request must not burn the code.
    assert code2session(sim, code)["openid"] == OPENID


def test_login_code_expires_after_five_minutes(sim: FlaskClient) -> None:
    early = login_code(sim)
    late = login_code(sim)
    assert sim.post("/sim/clock", json={"advance_seconds": 299}).status_code == 200
    assert code2session(sim, early)["openid"] == OPENID
    sim.post("/sim/clock", json={"advance_seconds": 2})
    assert code2session(sim, late)["errcode"] == 40029


def test_phone_number(sim: FlaskClient, clock: FakeClock) -> None:
    token = get_token(sim)
    code = sim.post("/sim/phone-code", json={"openid": OPENID, "phone": "13800138000"})
    phone_code = code.get_json()["code"]
    body = post_api(sim, "/wxa/business/getuserphonenumber", token, {"code": phone_code})
    assert body.get_json() == {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": "13800138000",
            "purePhoneNumber": "13800138000",
            "countryCode": "86",
            "watermark": {"timestamp": int(clock.now), "appid": DEFAULT_APPID},
        },
    }
    again = post_api(sim, "/wxa/business/getuserphonenumber", token, {"code": phone_code})
    assert again.get_json()["errcode"] == 40029

    stale = sim.post("/sim/phone-code", json={"openid": OPENID, "phone": "13900139000"})
    clock.now += 301
    token = get_token(sim)
    expired = post_api(
        sim, "/wxa/business/getuserphonenumber", token, {"code": stale.get_json()["code"]}
    )
    assert expired.get_json()["errcode"] == 40029


@pytest.mark.parametrize("phone", ["23800138000", "1380013800", "1380013800a", "", None])
def test_phone_code_validates_phone(sim: FlaskClient, phone: object) -> None:
    response = sim.post("/sim/phone-code", json={"openid": OPENID, "phone": phone})
    assert response.status_code == 400
    assert "error" in response.get_json()


# --- subscribe messages ------------------------------------------------------------


def test_subscribe_send_needs_a_known_openid_and_template(sim: FlaskClient) -> None:
    token = get_token(sim)
    assert send(sim, token)["errcode"] == 40003
    login_code(sim)
    assert send(sim, token, template_id="TPL_UNKNOWN")["errcode"] == 40037
    assert send(sim, token) == {"errcode": 43101, "errmsg": "user refuse to accept the msg"}


def test_subscribe_send_consumes_exactly_one_credit(sim: FlaskClient, clock: FakeClock) -> None:
    token = get_token(sim)
    login_code(sim)
    sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE})
    response = sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE})
    assert response.get_json() == {"credits": 2}

    first = send(sim, token, page="pages/status/status?id=7", miniprogram_state="trial")
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert isinstance(first["msgid"], int)
    assert credits(sim) == 1
    second = send(sim, token)
    assert second["msgid"] != first["msgid"]
    assert credits(sim) == 0
    assert send(sim, token)["errcode"] == 43101

    messages = sim.get("/sim/messages", query_string={"openid": OPENID}).get_json()["messages"]
    assert [m["msgid"] for m in messages] == [first["msgid"], second["msgid"]]
    assert messages[0] == {
        "msgid": first["msgid"],
        "touser": OPENID,
        "template_id": TEMPLATE,
        "page": "pages/status/status?id=7",
        "data": GOOD_DATA,
        "miniprogram_state": "trial",
        "lang": None,
        "sent_at": clock.now,
    }
    assert sim.get("/sim/messages", query_string={"openid": "o_other"}).get_json() == {
        "messages": []
    }


def test_subscribe_send_field_errors_do_not_consume_credit(sim: FlaskClient) -> None:
    token = get_token(sim)
    login_code(sim)
    sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE})
    too_long = {**GOOD_DATA, "thing1": {"value": "一" * 21}}
    assert send(sim, token, data=too_long) == {
        "errcode": 47003,
        "errmsg": "argument invalid! data.thing1.value invalid",
    }
    assert send(sim, token, page="/pages/index/index")["errcode"] == 41030
    assert send(sim, token, miniprogram_state="production")["errcode"] == 40097
    assert credits(sim) == 1
    assert send(sim, token, data={"thing1": {"value": "一" * 20}})["errcode"] == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thing1", "一" * 20),
        ("phrase2", "已通过"),
        ("name3", "张三"),
        ("name3", "Li Lei"),
        ("number4", "12345"),
        ("number4", "3.5"),
        ("letter5", "ABC"),
        ("character_string6", "REG-2024-0001"),
        ("phone_number7", "+86 138-0013-8000"),
        ("time8", "2024年08月05日 08:00"),
        ("time8", "2024-08-05 08:00"),
        ("date9", "2024-08-05"),
        ("time10", "15:01"),
        ("date11", "2024年8月5日"),
        ("time12", "2024-08-05 08:00~2024-08-05 11:30"),
        ("amount13", "¥100.00"),
        ("enum14", "anything"),
    ],
)
def test_valid_subscribe_fields(key: str, value: str) -> None:
    assert valid_subscribe_field(key, value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thing1", "一" * 21),
        ("thing1", "   "),
        ("phrase2", "已经通过了审核"),
        ("phrase2", "OK"),
        ("name3", "一二三四五六七八九十一"),
        ("number4", "12a"),
        ("number4", "1" * 33),
        ("letter5", "AB1"),
        ("character_string6", "报名号"),
        ("phone_number7", "1" * 18),
        ("time8", "2024-13-05 08:00"),
        ("time8", "25:00"),
        ("date9", "tomorrow"),
        ("unknown10", "x"),
        ("thing", "no number suffix"),
    ],
)
def test_invalid_subscribe_fields(key: str, value: str) -> None:
    assert not valid_subscribe_field(key, value)


def test_subscribe_send_rejects_malformed_data_items(sim: FlaskClient) -> None:
    token = get_token(sim)
    login_code(sim)
    sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE})
    for data in ({"thing1": "bare string"}, {"thing1": {"value": ""}}, {"thing1": {"value": 5}}):
        assert send(sim, token, data=data)["errcode"] == 47003
    assert send(sim, token, data={})["errcode"] == 47001
    assert credits(sim) == 1


def test_registered_template_with_fields(sim: FlaskClient) -> None:
    token = get_token(sim)
    login_code(sim)
    response = sim.post(
        "/sim/templates", json={"template_id": "TPL_EXTRA", "fields": ["thing1", "date2"]}
    )
    assert response.get_json()["templates"]["TPL_EXTRA"] == ["date2", "thing1"]
    sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": "TPL_EXTRA"})
    missing = send(sim, token, template_id="TPL_EXTRA", data={"thing1": {"value": "a"}})
    assert missing == {"errcode": 47003, "errmsg": "argument invalid! data.date2.value is empty"}
    good = {"thing1": {"value": "a"}, "date2": {"value": "2024-08-05"}}
    assert send(sim, token, template_id="TPL_EXTRA", data=good)["errcode"] == 0


def test_default_templates_and_subscribe_to_unknown_template(sim: FlaskClient) -> None:
    templates = sim.get("/sim/templates").get_json()["templates"]
    assert set(DEFAULT_TEMPLATES) <= set(templates)
    response = sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": "TPL_NOPE"})
    assert response.status_code == 400


# --- mini-program codes -------------------------------------------------------------


def test_wxacode_returns_png(sim: FlaskClient) -> None:
    token = get_token(sim)
    body = {"scene": "s=42&t=abc", "page": "pages/school/school", "env_version": "trial"}
    response = post_api(sim, "/wxa/getwxacodeunlimit", token, body)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(PNG_SIGNATURE)


def test_issued_wxacodes_are_listed_by_page_and_carry_their_scene(sim: FlaskClient) -> None:
    token = get_token(sim)
    pages = ("packages/account/pc-login/pc-login", "pages/home/home",
             "packages/account/pc-login/pc-login")
    images = [post_api(sim, "/wxa/getwxacodeunlimit", token,
                       {"scene": f"l=scene{n}", "page": page}).data
              for n, page in enumerate(pages)]
    post_api(sim, "/wxa/getwxacodeunlimit", token, {"scene": "x" * 40})  # refused: not issued

    issued = sim.get("/sim/wxacodes", query_string={"page": pages[0]}).get_json()["wxacodes"]

    assert [code["scene"] for code in issued] == ["l=scene0", "l=scene2"]
    assert issued[0]["page"] == pages[0] and issued[0]["env_version"] == "release"
    assert len(sim.get("/sim/wxacodes").get_json()["wxacodes"]) == 3
    # The picture says the same as the list: what a phone's camera would read.
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[2])))
    assert decoded.text == f"wxacode:{pages[2]}?scene=l=scene2"
    sim.post("/sim/reset")
    assert sim.get("/sim/wxacodes").get_json()["wxacodes"] == []


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"scene": "a" * 33}, 40169),
        ({"scene": "学校=1"}, 40169),
        ({"scene": "a%20b"}, 40169),
        ({"scene": ""}, 40169),
        ({"scene": "s=1", "page": "/pages/index/index"}, 41030),
        ({"scene": "s=1", "page": "pages/index/index?x=1"}, 41030),
        ({"scene": "s=1", "env_version": "beta"}, 40097),
    ],
)
def test_wxacode_errors(sim: FlaskClient, body: dict[str, Any], errcode: int) -> None:
    response = post_api(sim, "/wxa/getwxacodeunlimit", get_token(sim), body)
    assert response.mimetype == "application/json"
    assert response.get_json()["errcode"] == errcode


# --- content security ---------------------------------------------------------------


def sec_check(sim: FlaskClient, token: str, content: str, **extra: Any) -> dict[str, Any]:
    body = {"version": 2, "openid": OPENID, "scene": 2, "content": content, **extra}
    result: dict[str, Any] = post_api(sim, "/wxa/msg_sec_check", token, body).get_json()
    return result


def test_msg_sec_check_suggestions(sim: FlaskClient) -> None:
    token = get_token(sim)
    login_code(sim)
    passed = sec_check(sim, token, "请问学区划分什么时候公布？")
    assert passed["errcode"] == 0
    assert passed["result"] == {"suggest": "pass", "label": 100}
    assert passed["detail"][0]["strategy"] == "content_model"
    assert passed["trace_id"]

    review = sec_check(sim, token, "有内部名额吗")
    assert review["result"]["suggest"] == "review"

    risky = sec_check(sim, token, "有没有代考服务")
    assert risky["result"] == {"suggest": "risky", "label": 20006}
    keywords = [item["keyword"] for item in risky["detail"] if item["strategy"] == "keyword"]
    assert keywords == ["代考"]

    # Risky wins over review when both match.
    both = sec_check(sim, token, "保证录取，还能赌博")
    assert both["result"]["suggest"] == "risky"


def test_msg_sec_check_errors_and_custom_words(sim: FlaskClient) -> None:
    token = get_token(sim)
    assert sec_check(sim, token, "hello")["errcode"] == 40003
    login_code(sim)
    assert sec_check(sim, token, "hello", version=1)["errcode"] == 40097
    assert sec_check(sim, token, "hello", scene=5)["errcode"] == 40097
    assert sec_check(sim, token, "")["errcode"] == 44004
    assert sec_check(sim, token, "字" * 2501)["errcode"] == 47001
    assert sec_check(sim, token, "字" * 2500)["errcode"] == 0

    response = sim.post("/sim/sec-words", json={"risky": {"刷票": 20008}, "review": ["加微信"]})
    assert response.get_json()["risky"]["刷票"] == 20008
    assert sec_check(sim, token, "帮忙刷票")["result"] == {"suggest": "risky", "label": 20008}
    assert sec_check(sim, token, "加微信聊")["result"]["suggest"] == "review"
    sim.post("/sim/reset")
    login_code(sim)
    token = get_token(sim)
    assert sec_check(sim, token, "帮忙刷票")["result"]["suggest"] == "pass"


# --- control surface ----------------------------------------------------------------


def test_fault_injection_errcode_and_times(sim: FlaskClient) -> None:
    response = sim.post("/sim/faults", json={"endpoint": "token", "errcode": -1, "times": 2})
    assert response.get_json()["faults"] == [
        {"endpoint": "token", "errcode": -1, "errmsg": None, "delay": 0.0, "times": 2}
    ]
    query = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    for _ in range(2):
        body = sim.get("/cgi-bin/token", query_string=query).get_json()
        assert body == {"errcode": -1, "errmsg": "system error"}
    assert "access_token" in sim.get("/cgi-bin/token", query_string=query).get_json()

    sim.post(
        "/sim/faults", json={"endpoint": "jscode2session", "errcode": 45011, "errmsg": "slow down"}
    )
    code = login_code(sim)
    assert code2session(sim, code) == {"errcode": 45011, "errmsg": "slow down"}
    # The injected failure happened before the code was looked at.
    assert code2session(sim, code)["openid"] == OPENID

    sim.post("/sim/faults", json={"endpoint": "subscribe_send", "errcode": 40001})
    assert sim.get("/sim/faults").get_json()["faults"][0]["endpoint"] == "subscribe_send"
    assert sim.delete("/sim/faults").get_json() == {"faults": []}
    assert sim.get("/sim/faults").get_json() == {"faults": []}

    calls = sim.get("/sim/calls", query_string={"endpoint": "token"}).get_json()["calls"]
    assert [call["errcode"] for call in calls] == [-1, -1, 0]


def test_fault_injection_delay(sim: FlaskClient) -> None:
    sim.post("/sim/faults", json={"endpoint": "stable_token", "delay": 0.2})
    started = time.monotonic()
    assert "access_token" in stable_token(sim)
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    stable_token(sim)
    assert time.monotonic() - started < 0.2

    sim.post("/sim/faults", json={"endpoint": "stable_token", "delay": 0.1, "errcode": -1})
    started = time.monotonic()
    assert stable_token(sim) == {"errcode": -1, "errmsg": "system error"}
    assert time.monotonic() - started >= 0.1


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": "nope", "errcode": -1},
        {"endpoint": "token"},
        {"endpoint": "token", "errcode": 0},
        {"endpoint": "token", "errcode": "40001"},
        {"endpoint": "token", "delay": -1},
        {"endpoint": "token", "errcode": -1, "times": 0},
    ],
)
def test_fault_validation(sim: FlaskClient, body: dict[str, Any]) -> None:
    response = sim.post("/sim/faults", json=body)
    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    "path", ["/sim/login-code", "/sim/subscribe", "/sim/faults", "/sim/clock", "/sim/templates"]
)
def test_control_rejects_bad_json(sim: FlaskClient, path: str) -> None:
    response = sim.post(path, data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert sim.post(path, json=["a", "list"]).status_code == 400


def test_reset_clears_state(sim: FlaskClient, clock: FakeClock) -> None:
    token = get_token(sim)
    code = login_code(sim)
    sim.post("/sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE})
    sim.post("/sim/templates", json={"template_id": "TPL_EXTRA"})
    sim.post("/sim/faults", json={"endpoint": "token", "errcode": -1})
    sim.post("/sim/clock", json={"advance_seconds": 100})
    assert sim.post("/sim/reset").get_json() == {"ok": True}

    assert code2session(sim, code)["errcode"] == 40029
    assert get_code(sim, token) == 40001
    assert credits(sim) == 0
    assert "TPL_EXTRA" not in sim.get("/sim/templates").get_json()["templates"]
    assert sim.get("/sim/faults").get_json() == {"faults": []}
    # The clock offset is gone too, and the call log restarted.
    assert sim.get("/sim/clock").get_json() == {"now": clock.now}
    assert sim.get("/sim/calls").get_json()["calls"] == [
        {"endpoint": "jscode2session", "at": clock.now, "errcode": 40029},
        {"endpoint": "getuserphonenumber", "at": clock.now, "errcode": 40001},
    ]


def test_call_log_has_no_secrets(sim: FlaskClient) -> None:
    code = login_code(sim)
    session = code2session(sim, code)
    token = get_token(sim)
    log = sim.get("/sim/calls").get_data(as_text=True)
    for secret in (DEFAULT_SECRET, session["session_key"], token, code):
        assert secret not in log
    endpoints = [call["endpoint"] for call in sim.get("/sim/calls").get_json()["calls"]]
    assert endpoints == ["jscode2session", "token"]


def test_clock_validation_index_and_health(sim: FlaskClient, clock: FakeClock) -> None:
    assert sim.post("/sim/clock", json={"advance_seconds": -5}).status_code == 400
    assert sim.post("/sim/clock", json={"advance_seconds": 10}).get_json() == {
        "now": clock.now + 10
    }
    assert sim.get("/sim/health").get_json() == {"ok": True}
    index = sim.get("/").get_json()
    assert "POST /sim/login-code" in index["control_endpoints"]
    assert sim.get("/no/such/path").status_code == 404


def test_state_lives_in_app_extensions(sim_app: Flask) -> None:
    simulator = sim_app.extensions["wechat_sim"]
    assert isinstance(simulator, WeChatSimulator)
    assert simulator.appid == DEFAULT_APPID


# --- through wechatpy over real HTTP ----------------------------------------------


@pytest.fixture
def live_base() -> Iterator[str]:
    app = create_simulator_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_wechat_client(base: str, timeout: float = 5) -> WeChatClient:
    class SimulatorClient(WeChatClient):
        def fetch_access_token(self) -> dict[str, Any]:
            # wechatpy hard-codes api.weixin.qq.com here; point it at the simulator.
            result: dict[str, Any] = self._fetch_access_token(
                url=base + "cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
            )
            return result

    client = SimulatorClient(DEFAULT_APPID, DEFAULT_SECRET, timeout=timeout)
    client.API_BASE_URL = base + "cgi-bin/"
    client.wxa.API_BASE_URL = base
    return client


def test_wechatpy_against_live_simulator(live_base: str) -> None:
    base = live_base
    client = make_wechat_client(base)
    with requests.Session() as http:
        try:
            code = http.post(base + "sim/login-code", json={"openid": OPENID}, timeout=5).json()
            session = client.wxa.code_to_session(code["code"])
            assert session["openid"] == OPENID

            phone = http.post(
                base + "sim/phone-code", json={"openid": OPENID, "phone": "13800138000"}, timeout=5
            ).json()
            result = client.post(
                "wxa/business/getuserphonenumber", data={"code": phone["code"]}, api_base_url=base
            )
            assert result["phone_info"]["purePhoneNumber"] == "13800138000"

            http.post(
                base + "sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE}, timeout=5
            )
            sent = client.wxa.send_subscribe_message(
                OPENID, TEMPLATE, GOOD_DATA, page="pages/index/index"
            )
            assert sent["errcode"] == 0 and isinstance(sent["msgid"], int)
            with pytest.raises(WeChatClientException) as refused:
                client.wxa.send_subscribe_message(OPENID, TEMPLATE, GOOD_DATA)
            assert refused.value.errcode == 43101
            messages = http.get(base + "sim/messages", timeout=5).json()["messages"]
            assert messages[0]["data"] == GOOD_DATA  # UTF-8 body decoded correctly

            png = client.wxa.get_wxa_code_unlimited("s=1", page="pages/index/index")
            assert png.headers["Content-Type"] == "image/png"
            assert png.content.startswith(PNG_SIGNATURE)

            check = client.post(
                "wxa/msg_sec_check",
                data={"version": 2, "openid": OPENID, "scene": 1, "content": "代考"},
                api_base_url=base,
            )
            assert check["result"]["suggest"] == "risky"

            # An expired token is refreshed by wechatpy and the call retried.
            http.post(base + "sim/expire-tokens", timeout=5)
            http.post(
                base + "sim/subscribe", json={"openid": OPENID, "template_id": TEMPLATE}, timeout=5
            )
            assert client.wxa.send_subscribe_message(OPENID, TEMPLATE, GOOD_DATA)["errcode"] == 0
            calls = http.get(base + "sim/calls", timeout=5).json()["calls"]
            assert [c["endpoint"] for c in calls].count("token") == 2
            assert calls[-2] == {**calls[-2], "endpoint": "token", "errcode": 0}
        finally:
            client._http.close()


def test_delay_fault_times_out_wechatpy(live_base: str) -> None:
    base = live_base
    client = make_wechat_client(base, timeout=0.2)
    with requests.Session() as http:
        try:
            http.post(base + "sim/faults", json={"endpoint": "msg_sec_check", "delay": 0.6})
            with pytest.raises(requests.Timeout):
                client.post(
                    "wxa/msg_sec_check",
                    data={"version": 2, "openid": OPENID, "scene": 1, "content": "hi"},
                    api_base_url=base,
                )
            # Let the delayed request finish before the server shuts down.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                calls = http.get(base + "sim/calls", params={"endpoint": "msg_sec_check"}).json()
                if calls["calls"]:
                    break
                time.sleep(0.05)
            assert calls["calls"][0]["errcode"] == 40003
        finally:
            client._http.close()
