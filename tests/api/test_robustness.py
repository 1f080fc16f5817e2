"""Hostile or unlucky input never produces a 500: control characters, deep JSON, outages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import db
from backend.core.redis import connect, redis_store
from tests.conftest import LiveServer, Simulator, bearer


@pytest.mark.parametrize(
    "path",
    ["/api/v1/schools/%00", "/api/v1/schools?authority=%00", "/api/v1/schools?town=a%00b",
     "/api/v1/zones/lookup?region_code=%01"],
)
def test_control_characters_in_the_url_are_400(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_CHARACTERS"


def test_control_characters_in_json_are_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/staff-login",
                           json={"username": "a\u0000b", "password": "whatever-1"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_CHARACTERS"


def test_absurdly_deep_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/wechat-login", data="[" * 100_000,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_JSON"


def test_json_of_the_wrong_shape_is_422(client: FlaskClient) -> None:
    for payload in ([], "code", 42, {"code": ["a"]}):
        response = client.post("/api/v1/auth/wechat-login", json=payload)
        assert response.status_code == 422, payload


def test_redis_down_is_503_not_500(client: FlaskClient, login_parent: Any) -> None:
    token = login_parent()["token"]
    saved = redis_store._client
    redis_store._client = connect("redis://127.0.0.1:9/0")
    try:
        me = client.get("/api/v1/me", headers=bearer(token))
        login = client.post("/api/v1/auth/staff-login",
                            json={"username": "anyone", "password": "whatever-1"})
    finally:
        redis_store._client = saved
    for response in (me, login):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert response.headers["Retry-After"]


@pytest.fixture()
def broken_wechat() -> Iterator[str]:
    """A 'WeChat' that answers with a proxy's HTML page or an incomplete JSON body."""
    app = Flask("broken-wechat")

    @app.get("/html/sns/jscode2session")
    def html() -> Any:
        return "<html>502 Bad Gateway</html>", 200, {"Content-Type": "text/html"}

    @app.get("/partial/sns/jscode2session")
    def partial() -> Any:
        return jsonify({"errcode": 0})

    with LiveServer(app) as server:
        yield server.url


@pytest.mark.parametrize("variant", ["html", "partial"])
def test_garbage_from_wechat_is_503(client: FlaskClient, broken_wechat: str,
                                    variant: str) -> None:
    from backend.wechat.client import wechat

    saved = wechat.base_url
    wechat.base_url = f"{broken_wechat}{variant}/"
    try:
        response = client.post("/api/v1/auth/wechat-login", json={"code": "abc"})
    finally:
        wechat.base_url = saved
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "WECHAT_UNAVAILABLE"


def test_unionid_is_kept_when_present(client: FlaskClient, wechat_sim: Simulator,
                                      session: Any) -> None:
    code = wechat_sim.login_code("o-with-union", unionid="u-open-platform-1")
    assert client.post("/api/v1/auth/wechat-login", json={"code": code}).status_code == 200
    user = db.session.scalar(select(User).where(User.openid == "o-with-union"))
    assert user is not None and user.unionid == "u-open-platform-1"


def test_a_token_works_only_after_the_login_committed(
    app: Flask, client: FlaskClient, wechat_sim: Simulator
) -> None:
    from backend.core.db import after_commit, discard_after_commit
    from backend.core.sessions import resolve_session

    # A login whose transaction fails must leave no usable token behind.
    with app.test_request_context():
        stored: list[int] = []
        after_commit(lambda: stored.append(1), essential=True)
        discard_after_commit()
        assert stored == []
    code = wechat_sim.login_code("o-commit-order")
    token = client.post("/api/v1/auth/wechat-login", json={"code": code}).get_json()["token"]
    with app.app_context():
        assert resolve_session(token) is not None
