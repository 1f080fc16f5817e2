"""Every error is JSON with a stable code; logs carry a request id and never personal data."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backend.core.logging import RedactingFilter, redact
from tests.conftest import Simulator, bearer


def test_unknown_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"
    assert response.get_json()["error"]["message"]


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/v1/auth/wechat-login")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_json_413(client: FlaskClient, app: Flask) -> None:
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/api/v1/auth/wechat-login", data=big,
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_fields_and_wrong_types_are_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/staff-login",
                           json={"username": "a", "password": 5, "extra": 1})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["fields"]
    assert {f["field"]: f["message"] for f in problems} == {
        "password": "格式不正确", "extra": "不支持此字段"}
    # Only where and what: the submitted values are never echoed back.
    assert all(set(f) == {"field", "type", "message"} for f in problems)


def test_bad_query_parameter_is_422(client: FlaskClient) -> None:
    response = client.get("/api/v1/schools?colour=blue")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "VALIDATION_FAILED"


def test_unexpected_error_is_500_without_internals(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.accounts import services

    original = services.login_with_wechat

    def explode(code: str) -> Any:
        raise RuntimeError("secret internal detail")

    services.login_with_wechat = explode  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.ERROR):
            response = client.post("/api/v1/auth/wechat-login", json={"code": "abc"},
                                   headers={"X-Request-Id": "req-test-500"})
    finally:
        services.login_with_wechat = original
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert body["error"]["details"]["request_id"] == "req-test-500"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "req-test-500" in caplog.text


def test_one_access_line_per_request_without_personal_data(
    client: FlaskClient, wechat_sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    code = wechat_sim.login_code("o-logged-parent")
    with caplog.at_level(logging.DEBUG):
        login = client.post("/api/v1/auth/wechat-login", json={"code": code})
        token = login.get_json()["token"]
        client.get("/api/v1/me", headers=bearer(token))
    access = [r for r in caplog.records if r.name == "backend.access"]
    assert len(access) == 2
    line = access[0].getMessage()
    assert "request_id=" in line and "route=/api/v1/auth/wechat-login" in line
    assert "status=200" in line and "duration_ms=" in line
    assert login.headers["X-Request-Id"]
    for secret in (token, code, "o-logged-parent"):
        assert secret not in caplog.text


def test_redaction_masks_personal_data_shapes() -> None:
    line = redact("id 11010519491231002X phone 13812345678 Authorization: Bearer abc.def "
                  'token="t0k3n" password=hunter22')
    assert "11010519491231002X" not in line and "[id-number]" in line
    assert "13812345678" not in line and "[phone]" in line
    assert "abc.def" not in line and "t0k3n" not in line and "hunter22" not in line


def test_redacting_filter_rewrites_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "child %s", ("110105201801010014",),
                               None)
    RedactingFilter().filter(record)
    assert "110105201801010014" not in record.getMessage()
