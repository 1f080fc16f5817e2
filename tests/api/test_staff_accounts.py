"""Staff log in with a password; failures are rate limited; roles and scopes are enforced."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import db
from tests.conftest import bearer
from tests.factories import STAFF_PASSWORD, make_authority, make_school, make_staff


def _staff_login(client: FlaskClient, username: str, password: str) -> Any:
    # As an API client: the token only, no console cookie kept by the test client.
    return client.post("/api/v1/auth/staff-login",
                       json={"username": username, "password": password, "web_session": False})


def test_staff_login_and_me(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    school = make_school(authority)
    make_staff(authority, school=school, username="reviewer1")
    response = _staff_login(client, "reviewer1", STAFF_PASSWORD)
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["role"] == "school_staff"
    assert body["user"]["school"] == school.code
    assert "password" not in response.get_data(as_text=True)
    me = client.get("/api/v1/me", headers=bearer(body["token"])).get_json()
    assert me["username"] == "reviewer1" and me["authority"] == authority.code


def test_password_is_stored_as_argon2_hash(session: Any) -> None:
    authority = make_authority()
    user = make_staff(authority, username="hashcheck")
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: FlaskClient, session: Any
) -> None:
    authority = make_authority()
    make_staff(authority, username="admin-a")
    wrong = _staff_login(client, "admin-a", "Wrong-password-1")
    unknown = _staff_login(client, "nobody-here", "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_repeated_failures_lock_the_account_for_a_while(
    app: Flask, client: FlaskClient, session: Any
) -> None:
    authority = make_authority()
    make_staff(authority, username="admin-b")
    app.config["LOGIN_LOCKOUT_SECONDS"] = 2
    try:
        for _ in range(3):  # LOGIN_MAX_FAILURES is 3 in tests
            assert _staff_login(client, "admin-b", "Wrong-password-1").status_code == 401
        locked = _staff_login(client, "admin-b", STAFF_PASSWORD)
        assert locked.status_code == 429
        assert locked.get_json()["error"]["code"] == "TOO_MANY_LOGIN_ATTEMPTS"
        assert 0 < int(locked.headers["Retry-After"]) <= 2
        # Spaces around the name are the same account, not three fresh guesses.
        assert _staff_login(client, " admin-b\t", STAFF_PASSWORD).status_code == 429
        time.sleep(2.1)  # the window passes: the right password works again
        assert _staff_login(client, "admin-b", STAFF_PASSWORD).status_code == 200
    finally:
        app.config["LOGIN_LOCKOUT_SECONDS"] = 900


def test_parallel_guesses_cannot_slip_past_the_limit(app: Flask) -> None:
    from backend.accounts.services import _attempt_keys, _reserve_attempt
    from backend.core.errors import ApiError

    outcomes: list[str] = []

    def guess() -> None:
        with app.app_context():
            try:
                _reserve_attempt(_attempt_keys("burst-target", "one-client"))
                outcomes.append("allowed")
            except ApiError as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # LOGIN_MAX_FAILURES is 3 in tests: three attempts, however they interleave.
    assert outcomes.count("allowed") == 3
    assert outcomes.count("TOO_MANY_LOGIN_ATTEMPTS") == 17


def test_failed_attempts_from_one_client_are_limited_across_usernames(
    client: FlaskClient, session: Any
) -> None:
    for n in range(5):  # LOGIN_MAX_FAILURES_PER_CLIENT is 5 in tests
        assert _staff_login(client, f"guess-{n}", "Wrong-password-1").status_code == 401
    assert _staff_login(client, "guess-final", "Wrong-password-1").status_code == 429
    # Another address (through a trusted proxy it would be X-Forwarded-For) is not locked.
    other = client.post("/api/v1/auth/staff-login",
                        json={"username": "guess-final", "password": "Wrong-password-1"},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 401


def test_disabled_account_cannot_log_in_and_its_tokens_stop_working(
    client: FlaskClient, session: Any
) -> None:
    authority = make_authority()
    user = make_staff(authority, username="leaver")
    token = _staff_login(client, "leaver", STAFF_PASSWORD).get_json()["token"]
    user.is_active = False
    db.session.flush()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    response = _staff_login(client, "leaver", STAFF_PASSWORD)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "ACCOUNT_DISABLED"


def test_staff_logout_revokes_token(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    make_staff(authority, username="admin-c")
    token = _staff_login(client, "admin-c", STAFF_PASSWORD).get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 401


def test_bureau_admin_creates_staff_in_own_authority_only(
    client: FlaskClient, session: Any
) -> None:
    mine, other = make_authority(), make_authority()
    my_school, other_school = make_school(mine), make_school(other)
    make_staff(mine, username="bureau-1")
    token = _staff_login(client, "bureau-1", STAFF_PASSWORD).get_json()["token"]
    created = client.post("/api/v1/admin/staff-accounts", headers=bearer(token), json={
        "username": "new-reviewer", "password": "Another-pass-7", "role": "school_staff",
        "school_code": my_school.code})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["school"] == my_school.code
    foreign = client.post("/api/v1/admin/staff-accounts", headers=bearer(token), json={
        "username": "sneaky", "password": "Another-pass-7", "role": "school_staff",
        "school_code": other_school.code})
    assert foreign.status_code == 404
    assert foreign.get_json()["error"]["code"] == "SCHOOL_NOT_FOUND"
    listed = client.get("/api/v1/admin/staff-accounts", headers=bearer(token)).get_json()
    assert {item["username"] for item in listed["items"]} == {"bureau-1", "new-reviewer"}
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None


def test_staff_account_rules(client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    make_staff(authority, username="bureau-2")
    token = _staff_login(client, "bureau-2", STAFF_PASSWORD).get_json()["token"]

    def create(**body: Any) -> Any:
        return client.post("/api/v1/admin/staff-accounts", headers=bearer(token), json=body)

    weak = create(username="weakling", password="1234567890", role="bureau_admin")
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "WEAK_PASSWORD"
    taken = create(username="bureau-2", password="Good-pass-123", role="bureau_admin")
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "USERNAME_TAKEN"
    no_school = create(username="lost-staff", password="Good-pass-123", role="school_staff")
    assert no_school.status_code == 422
    bad_role = create(username="x-parent", password="Good-pass-123", role="parent")
    assert bad_role.status_code == 422


def test_roles_are_enforced(
    client: FlaskClient, session: Any, login_parent: Callable[..., dict[str, Any]]
) -> None:
    authority = make_authority()
    school = make_school(authority)
    make_staff(authority, school=school, username="teacher-1")
    staff_token = _staff_login(client, "teacher-1", STAFF_PASSWORD).get_json()["token"]
    parent_token = login_parent()["token"]
    for token in (staff_token, parent_token):
        response = client.get("/api/v1/admin/staff-accounts", headers=bearer(token))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "FORBIDDEN"
    assert client.get("/api/v1/admin/staff-accounts").status_code == 401


def test_parent_cannot_use_staff_login(client: FlaskClient, session: Any,
                                       login_parent: Callable[..., dict[str, Any]]) -> None:
    login_parent("o-only-parent")
    assert _staff_login(client, "o-only-parent", "anything-at-all").status_code == 401
