"""Parents log in with WeChat: code2Session through the simulator, our own session token."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import Simulator, bearer


def _login(client: FlaskClient, code: str) -> Any:
    return client.post("/api/v1/auth/wechat-login", json={"code": code})


def test_login_creates_parent_and_returns_our_own_token(
    client: FlaskClient, wechat_sim: Simulator
) -> None:
    code = wechat_sim.login_code("o-parent-1", unionid="u-union-1")
    response = _login(client, code)
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["role"] == "parent"
    assert body["user"]["identity_bound"] is False
    assert body["expires_in"] > 0
    # Our token, never WeChat's session_key or openid.
    text = response.get_data(as_text=True)
    assert "session_key" not in text and "o-parent-1" not in text
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == body["user"]["id"]


def test_second_login_finds_the_same_user(client: FlaskClient, wechat_sim: Simulator) -> None:
    first = _login(client, wechat_sim.login_code("o-parent-2")).get_json()
    second = _login(client, wechat_sim.login_code("o-parent-2")).get_json()
    assert first["user"]["id"] == second["user"]["id"]
    assert first["token"] != second["token"]


def test_reused_code_is_rejected(client: FlaskClient, wechat_sim: Simulator) -> None:
    code = wechat_sim.login_code("o-parent-3")
    assert _login(client, code).status_code == 200
    again = _login(client, code)
    assert again.status_code == 401
    assert again.get_json()["error"]["code"] == "INVALID_LOGIN_CODE"


def test_unknown_code_is_rejected(client: FlaskClient, wechat_sim: Simulator) -> None:
    response = _login(client, "not-a-code-wechat-ever-issued")
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "INVALID_LOGIN_CODE"
    assert "登录" in error["message"]


def test_expired_code_is_rejected(client: FlaskClient, wechat_sim: Simulator) -> None:
    code = wechat_sim.login_code("o-parent-4")
    wechat_sim.post("/sim/clock", advance_seconds=301)  # codes live five minutes
    response = _login(client, code)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "INVALID_LOGIN_CODE"


def test_wechat_rate_limit_becomes_429(client: FlaskClient, wechat_sim: Simulator) -> None:
    wechat_sim.fault("jscode2session", errcode=45011)
    response = _login(client, wechat_sim.login_code("o-parent-5"))
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "WECHAT_RATE_LIMITED"
    assert response.headers["Retry-After"] == "60"


def test_wechat_busy_becomes_503_with_retry_after(
    client: FlaskClient, wechat_sim: Simulator
) -> None:
    wechat_sim.fault("jscode2session", errcode=-1)
    response = _login(client, wechat_sim.login_code("o-parent-6"))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) > 0


def test_wechat_timeout_becomes_503(client: FlaskClient, wechat_sim: Simulator) -> None:
    # The app's WeChat timeout is 1 s in tests; the simulator stalls longer.
    wechat_sim.fault("jscode2session", delay=1.5)
    response = _login(client, wechat_sim.login_code("o-parent-7"))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"


def test_wechat_unreachable_becomes_503(client: FlaskClient, app: Any) -> None:
    from backend.wechat.client import wechat

    saved = wechat.base_url
    # Nothing listens on port 9 (discard) of loopback: connection refused.
    wechat.base_url = "http://127.0.0.1:9/"
    try:
        response = _login(client, "any-code")
    finally:
        wechat.base_url = saved
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"


def test_login_code_is_validated(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/wechat-login", json={"code": ""})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"][0]["field"] == "code"
    not_json = client.post("/api/v1/auth/wechat-login", data="code=abc")
    assert not_json.status_code == 415
    broken = client.post("/api/v1/auth/wechat-login", data="{",
                         content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["error"]["code"] == "INVALID_JSON"


def test_logout_revokes_the_token(client: FlaskClient, wechat_sim: Simulator) -> None:
    token = _login(client, wechat_sim.login_code("o-parent-8")).get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    after = client.get("/api/v1/me", headers=bearer(token))
    assert after.status_code == 401
    assert after.get_json()["error"]["code"] == "UNAUTHENTICATED"


def test_missing_or_forged_token_is_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=bearer("forged")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
