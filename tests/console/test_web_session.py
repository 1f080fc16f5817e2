"""The staff web session over HTTP: cookie attributes, CSRF, idle timeout, logout, lock-out,
and that bearer tokens and parent APIs behave exactly as before."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backend.core.sessions import revoke_all_sessions
from tests.conftest import bearer
from tests.factories import STAFF_PASSWORD, make_authority, make_school, make_staff


@pytest.fixture()
def staff(session: Any) -> dict[str, Any]:
    """A school with a reviewer, and a bureau admin of the same county."""
    authority = make_authority()
    school = make_school(authority)
    return {"school": school,
            "reviewer": make_staff(authority, school=school, username="web-reviewer"),
            "admin": make_staff(authority, username="web-admin")}


def login(client: FlaskClient, username: str, password: str = STAFF_PASSWORD) -> Any:
    """Sign in as the console's login page does (asking for the web session)."""
    return client.post("/api/v1/auth/staff-login",
                       json={"username": username, "password": password, "web_session": True})


def set_cookie_header(response: Any) -> str:
    [header] = [v for k, v in response.headers if k == "Set-Cookie"]
    return str(header)


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token as the console's pages carry it."""
    page = client.get("/console/")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def test_staff_login_returns_the_bearer_token_and_sets_an_httponly_lax_cookie(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    response = login(client, "web-reviewer")

    assert response.status_code == 200
    body = response.get_json()
    assert body["token"] and body["expires_in"] > 0 and body["user"]["role"] == "school_staff"
    cookie = set_cookie_header(response)
    assert cookie.startswith("staff_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path"} <= attributes and "samesite=lax" in cookie.lower()
    assert "max-age" not in attributes and "expires" not in attributes  # ends with the browser
    # The cookie's session is not the bearer token, and the bearer token works as before.
    assert body["token"] not in cookie
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.get_json()["username"] == "web-reviewer"


def test_staff_login_also_sets_the_web_session_unless_declined(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    # ../shared/API.md: staff-login answers with a token and also sets the web session.
    plain = client.post("/api/v1/auth/staff-login",
                        json={"username": "web-reviewer", "password": STAFF_PASSWORD})
    assert plain.status_code == 200 and plain.get_json()["token"]
    assert "HttpOnly" in plain.headers["Set-Cookie"]
    assert client.get("/api/v1/staff/registrations").status_code == 200
    client.delete_cookie(plain.headers["Set-Cookie"].split("=", 1)[0])
    # An API client that wants the token only says so, and gets no cookie.
    token_only = client.post("/api/v1/auth/staff-login", json={
        "username": "web-reviewer", "password": STAFF_PASSWORD, "web_session": False})
    assert token_only.status_code == 200 and token_only.get_json()["token"]
    assert "Set-Cookie" not in token_only.headers
    assert client.get("/api/v1/staff/registrations").status_code == 401


def test_in_production_the_cookie_is_secure_and_host_bound(
        app: Flask, client: FlaskClient, staff: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "STAFF_WEB_COOKIE_SECURE", True)
    cookie = set_cookie_header(login(client, "web-admin"))
    assert cookie.startswith("__Host-staff_session=")
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie


def test_the_cookie_authenticates_staff_reads_but_never_as_a_bearer_token(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "web-reviewer")
    assert client.get("/api/v1/staff/registrations").status_code == 200
    assert client.get("/api/v1/me").get_json()["username"] == "web-reviewer"

    cookie = client.get_cookie("staff_session")
    assert cookie is not None
    client.delete_cookie("staff_session")
    as_bearer = client.get("/api/v1/staff/registrations", headers=bearer(cookie.value))
    assert as_bearer.status_code == 401


def test_a_bearer_token_wins_over_the_cookie(client: FlaskClient,
                                             staff: dict[str, Any]) -> None:
    admin_token = login(client, "web-admin").get_json()["token"]
    login(client, "web-reviewer")  # the cookie now belongs to the reviewer

    me = client.get("/api/v1/me", headers=bearer(admin_token)).get_json()
    assert me["username"] == "web-admin"
    assert client.get("/api/v1/me", headers=bearer("not-a-token")).status_code == 401


def test_parent_only_apis_never_accept_the_cookie(client: FlaskClient,
                                                  staff: dict[str, Any]) -> None:
    login(client, "web-reviewer")
    # With the staff member's bearer token these would be 403; the cookie is not even read.
    assert client.get("/api/v1/me/children").status_code == 401
    response = client.post("/api/v1/registrations", json={},
                           headers={"Idempotency-Key": "k-1234567890", "X-CSRF-Token": "x"})
    assert response.status_code == 401


def test_mutations_by_cookie_need_the_pages_csrf_token(client: FlaskClient,
                                                       staff: dict[str, Any]) -> None:
    login(client, "web-admin")
    account = {"username": "made-by-console", "password": "Another-pass-42",
               "role": "school_staff", "school_code": staff["school"].code}

    missing = client.post("/api/v1/admin/staff-accounts", json=account)
    wrong = client.post("/api/v1/admin/staff-accounts", json=account,
                        headers={"X-CSRF-Token": "forged"})
    right = client.post("/api/v1/admin/staff-accounts", json=account,
                        headers={"X-CSRF-Token": csrf_of(client)})

    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "CSRF_FAILED"
    assert right.status_code == 201


def test_bearer_mutations_need_no_csrf_token(client: FlaskClient,
                                             staff: dict[str, Any]) -> None:
    token = login(client, "web-admin").get_json()["token"]
    client.delete_cookie("staff_session")
    response = client.post("/api/v1/admin/staff-accounts", headers=bearer(token), json={
        "username": "made-by-api", "password": "Another-pass-42", "role": "bureau_admin"})
    assert response.status_code == 201


def test_logout_ends_the_web_session_and_clears_the_cookie(client: FlaskClient,
                                                           staff: dict[str, Any]) -> None:
    login(client, "web-reviewer")
    assert client.post("/api/v1/auth/logout").status_code == 403  # no CSRF token

    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf_of(client)})

    assert response.status_code == 204
    cleared = set_cookie_header(response)
    assert cleared.startswith("staff_session=;") and "Expires=Thu, 01 Jan 1970" in cleared
    assert client.get_cookie("staff_session") is None
    assert client.get("/api/v1/staff/registrations").status_code == 401


@pytest.mark.slow  # sleeps through a 2 s idle timeout: about 6 s
def test_the_session_ends_after_the_idle_timeout_and_each_request_restarts_it(
        app: Flask, client: FlaskClient, staff: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "STAFF_WEB_IDLE_SECONDS", 2)
    login(client, "web-reviewer")
    for _ in range(3):  # 3.6 s in all, never 2 s idle
        time.sleep(1.2)
        assert client.get("/api/v1/staff/registrations").status_code == 200
    time.sleep(2.5)
    assert client.get("/api/v1/staff/registrations").status_code == 401
    assert client.get("/console/").status_code == 302


def test_disabling_the_account_revokes_its_web_sessions(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "web-reviewer")
    with app.app_context():
        assert revoke_all_sessions(staff["reviewer"].id) == 2  # the bearer and the web one
    assert client.get("/api/v1/staff/registrations").status_code == 401


def test_repeated_failures_lock_the_login_and_set_no_cookie(client: FlaskClient,
                                                            staff: dict[str, Any]) -> None:
    for _ in range(3):  # LOGIN_MAX_FAILURES in the test app
        assert login(client, "web-reviewer", "wrong-password-1").status_code == 401
    locked = login(client, "web-reviewer")
    assert locked.status_code == 429 and locked.headers["Retry-After"]
    assert "Set-Cookie" not in locked.headers
    assert client.get_cookie("staff_session") is None


def test_console_pages_send_strangers_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/console/reviews?status=submitted")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/reviews?status%3Dsubmitted"
    login_page = client.get("/console/login?next=https://evil.example/")
    assert login_page.status_code == 200
    assert 'data-next="/console/"' in login_page.get_data(as_text=True)


def test_console_pages_are_not_cached_framed_or_scripted_from_elsewhere(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "web-admin")
    response = client.get("/console/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "https://" not in response.get_data(as_text=True)  # no CDN at run time


def test_school_staff_get_a_404_page_for_bureau_pages(client: FlaskClient,
                                                      staff: dict[str, Any]) -> None:
    login(client, "web-reviewer")
    for path in ("/console/settings/accounts", "/console/admission/lotteries",
                 "/console/settings/audit"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "未找到该页面或记录" in response.get_data(as_text=True)
    navigation = client.get("/console/").get_data(as_text=True)
    assert "账号管理" not in navigation and "报名审核" in navigation


def test_vendored_assets_are_served_with_their_licence(client: FlaskClient) -> None:
    for path in ("/console/static/vendor/echarts/echarts.common.min.js",
                 "/console/static/vendor/echarts/LICENSE", "/console/static/js/console.js",
                 "/console/static/console.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()

