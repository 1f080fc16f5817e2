"""Parents sign in on a PC by scanning a mini-program code (docs/PC_LOGIN.md), over HTTP:
the PC is one test client (a browser with its cookies), the phone another with a bearer
token; the code's scene is read from the PNG the PC is shown, as a camera would."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import logging
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from redis.client import Pipeline

from backend.accounts import pc_login
from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.jobs import JOBS, stream_key
from backend.core.redis import redis_store
from backend.registrations import facts
from backend.schools.models import RegionLevel
from tests.conftest import Simulator, bearer
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

CHROME_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                     "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
_hosts = itertools.cycle(random.sample(range(1, 255), 254))
PAGE = "packages/account/pc-login/pc-login"
Phone = Callable[..., dict[str, Any]]


@pytest.fixture()
def pc(app: Flask, client: FlaskClient) -> FlaskClient:
    """The parent's PC: a browser of its own (cookies), with its User-Agent and an address
    of 36.112.x.x of its own (the per-address limits count across tests)."""
    browser = app.test_client()
    browser.environ_base.update({"REMOTE_ADDR": f"36.112.{next(_hosts)}.{next(_hosts)}",
                                 "HTTP_USER_AGENT": CHROME_ON_WINDOWS})
    return browser


@pytest.fixture()
def phone(client: FlaskClient, login_parent: Callable[..., dict[str, Any]]) -> Phone:
    """A parent's phone signed in to the mini-program: returns {token, user}."""

    def sign_in() -> dict[str, Any]:
        login = login_parent()
        return {"token": login["token"], "user": login["user"]}

    return sign_in


def start(pc: FlaskClient) -> dict[str, Any]:
    """The PC opens the sign-in: 201 with the request and the code's address."""
    response = pc.post("/api/v1/auth/pc-login", json={})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def scene_on_screen(pc: FlaskClient, started: dict[str, Any]) -> str:
    """What the phone's camera reads from the code the PC shows."""
    response = pc.get(started["qr_url"])
    assert response.status_code == 200 and response.mimetype == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    page, _, scene = code.text.removeprefix("wxacode:").partition("?scene=")
    assert page == PAGE
    return scene


def state(pc: FlaskClient, started: dict[str, Any]) -> Any:
    return pc.get(f"/api/v1/auth/pc-login/{started['id']}")


def scan(client: FlaskClient, token: str, scene: str) -> Any:
    return client.post("/api/v1/auth/pc-login/scan", json={"scene": scene}, headers=bearer(token))


def decide(client: FlaskClient, token: str, scene: str, decision: str = "confirm") -> Any:
    return client.post("/api/v1/auth/pc-login/confirm", json={"scene": scene,
                                                             "decision": decision},
                       headers=bearer(token))


def error_code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def age(started: dict[str, Any], seconds: float) -> None:
    """Let `seconds` pass for a sign-in (its end moves that much closer)."""
    redis_store.client.hincrbyfloat(redis_store.key("pc-login", started["id"]), "exp", -seconds)


def csrf_of(pc: FlaskClient) -> str:
    """The CSRF token the signed-in PC page carries."""
    page = pc.get("/pc/")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def signed_in_pc(pc: FlaskClient, client: FlaskClient, parent: dict[str, Any]) -> str:
    """Sign the PC in as `parent` through the whole flow; the page's CSRF token."""
    started = start(pc)
    scene = scene_on_screen(pc, started)
    assert scan(client, parent["token"], scene).status_code == 200
    assert decide(client, parent["token"], scene).status_code == 200
    assert state(pc, started).get_json()["state"] == "confirmed"
    return csrf_of(pc)


def set_cookies(response: Any) -> dict[str, str]:
    return {v.split("=", 1)[0]: v for k, v in response.headers if k == "Set-Cookie"}


# --- the flow -------------------------------------------------------------------------------


def test_scan_confirm_and_the_pc_collects_its_session_once(
        pc: FlaskClient, client: FlaskClient, phone: Phone, wechat_sim: Simulator) -> None:
    response = pc.post("/api/v1/auth/pc-login", json={})
    started = response.get_json()
    assert response.status_code == 201 and started["expires_in"] == 120
    assert started["qr_url"] == f"/api/v1/auth/pc-login/{started['id']}/qr.png"
    binding = set_cookies(response)["pc_login"]
    assert f"Path=/api/v1/auth/pc-login/{started['id']}" in binding
    assert "HttpOnly" in binding and "SameSite=Strict" in binding and "Max-Age=" in binding

    scene = scene_on_screen(pc, started)
    # getwxacodeunlimit's scene: ≤ 32 characters of its set; the one WeChat was asked for.
    assert re.fullmatch(r"l=[0-9A-Za-z]{22}", scene)
    assert [c["scene"] for c in wechat_sim.get("/sim/wxacodes", page=PAGE)["wxacodes"]] == [scene]
    assert state(pc, started).get_json() == {"state": "pending", "expires_in": 120}

    parent = phone()
    scanned = scan(client, parent["token"], scene)
    assert scanned.status_code == 200
    details = scanned.get_json()
    assert details["browser"] == "Chrome 126" and details["os"] == "Windows 10/11"
    assert details["address"] == "36.112.*.*" and details["expires_in"] > 100
    requested = dt.datetime.fromisoformat(details["requested_at"])
    assert requested.utcoffset() == dt.timedelta(hours=8)  # Beijing time
    assert requested.microsecond == 0
    assert abs((requested - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    assert state(pc, started).get_json()["state"] == "scanned"

    confirmed = decide(client, parent["token"], scene)
    assert confirmed.status_code == 200 and confirmed.get_json() == {"state": "confirmed"}

    collected = state(pc, started)
    assert collected.get_json() == {"state": "confirmed", "expires_in": 0}
    cookies = set_cookies(collected)
    session = cookies["parent_session"]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    assert "Max-Age" not in session and "Expires" not in session  # ends with the browser
    assert cookies["pc_login"].startswith("pc_login=;")  # the binding is forgotten
    me = pc.get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["id"] == parent["user"]["id"]

    # Collected once: the request is gone, and its code can never be used again.
    assert state(pc, started).status_code == 404
    assert scan(client, parent["token"], scene).status_code == 404
    assert decide(client, parent["token"], scene).status_code == 404


def test_only_the_browser_that_asked_sees_the_code_and_the_state(
        app: Flask, pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    started = start(pc)
    scene = scene_on_screen(pc, started)
    parent = phone()
    assert scan(client, parent["token"], scene).status_code == 200
    assert decide(client, parent["token"], scene).status_code == 200

    stranger = app.test_client()  # no cookie
    forger = app.test_client()
    forger.set_cookie("pc_login", "a-guessed-secret", path=f"/api/v1/auth/pc-login/{started['id']}")
    for browser in (stranger, forger):
        for path in (f"/api/v1/auth/pc-login/{started['id']}", started["qr_url"]):
            response = browser.get(path)
            assert response.status_code == 404, path
            assert error_code(response) == "PC_LOGIN_NOT_FOUND"
        assert browser.get("/api/v1/me").status_code == 401
    # The PC that asked still collects its session.
    assert state(pc, started).get_json()["state"] == "confirmed"
    assert pc.get("/api/v1/me").status_code == 200


def test_two_tabs_each_have_their_own_sign_in(pc: FlaskClient) -> None:
    first, second = start(pc), start(pc)
    assert first["id"] != second["id"]
    assert scene_on_screen(pc, first) != scene_on_screen(pc, second)
    assert state(pc, first).get_json()["state"] == "pending"
    assert state(pc, second).get_json()["state"] == "pending"


def test_a_code_expires_after_two_minutes(pc: FlaskClient, client: FlaskClient,
                                          phone: Phone) -> None:
    parent = phone()
    started = start(pc)
    scene = scene_on_screen(pc, started)
    age(started, 119)
    assert state(pc, started).get_json() == {"state": "pending", "expires_in": 1}
    assert scan(client, parent["token"], scene).status_code == 200
    age(started, 2)  # 2 minutes and 1 second

    assert state(pc, started).get_json() == {"state": "expired", "expires_in": 0}
    for response in (scan(client, parent["token"], scene),
                     decide(client, parent["token"], scene), pc.get(started["qr_url"])):
        assert response.status_code == 410
        assert error_code(response) == "PC_LOGIN_EXPIRED"
        assert "过期" in response.get_json()["error"]["message"]
    assert pc.get("/api/v1/me").status_code == 401


def test_a_code_scanned_by_a_second_parent_is_refused_for_them(
        pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    first, second = phone(), phone()
    started = start(pc)
    scene = scene_on_screen(pc, started)
    assert scan(client, first["token"], scene).status_code == 200

    for response in (scan(client, second["token"], scene), decide(client, second["token"], scene)):
        assert response.status_code == 409
        assert error_code(response) == "PC_LOGIN_TAKEN"
    # The parent who scanned may scan again (the page reopened) and confirm: it is theirs.
    assert scan(client, first["token"], scene).status_code == 200
    assert decide(client, first["token"], scene).status_code == 200
    assert state(pc, started).get_json()["state"] == "confirmed"
    assert pc.get("/api/v1/me").get_json()["id"] == first["user"]["id"]


def test_confirming_needs_a_scan_first(pc: FlaskClient, client: FlaskClient,
                                       phone: Phone) -> None:
    started = start(pc)
    response = decide(client, phone()["token"], scene_on_screen(pc, started))
    assert response.status_code == 409 and error_code(response) == "PC_LOGIN_NOT_SCANNED"
    assert state(pc, started).get_json()["state"] == "pending"


def test_refusing_ends_the_sign_in(pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    parent = phone()
    started = start(pc)
    scene = scene_on_screen(pc, started)
    scan(client, parent["token"], scene)

    refused = decide(client, parent["token"], scene, "refuse")

    assert refused.status_code == 200 and refused.get_json() == {"state": "refused"}
    assert state(pc, started).get_json() == {"state": "refused", "expires_in": 0}
    assert "parent_session" not in set_cookies(state(pc, started))
    for response in (decide(client, parent["token"], scene), scan(client, parent["token"], scene)):
        assert response.status_code == 409 and error_code(response) == "PC_LOGIN_USED"
    assert pc.get(started["qr_url"]).status_code == 410
    assert pc.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("scene", ["l=tooshort", "s=LX001", "l=" + "A" * 22, "l=" + "é" * 22])
def test_a_scene_never_issued_is_404(client: FlaskClient, phone: Phone, scene: str) -> None:
    response = scan(client, phone()["token"], scene)
    assert response.status_code == 404 and error_code(response) == "PC_LOGIN_NOT_FOUND"


def test_only_the_phone_scans_and_confirms(app: Flask, pc: FlaskClient, client: FlaskClient,
                                           phone: Phone, session: Any) -> None:
    parent = phone()
    csrf = signed_in_pc(pc, client, parent)
    started = start(pc)
    scene = scene_on_screen(pc, started)
    # A PC session cannot stand in for the phone (bearer token only)...
    for path in ("/api/v1/auth/pc-login/scan", "/api/v1/auth/pc-login/confirm"):
        response = pc.post(path, json={"scene": scene, "decision": "confirm"},
                           headers={"X-CSRF-Token": csrf})
        assert response.status_code == 401, path
    # ...nor can staff.
    staff = make_staff(make_authority(), username="pc-login-staff")
    token = client.post("/api/v1/auth/staff-login", json={
        "username": staff.username, "password": "Correct-horse-42",
        "web_session": False}).get_json()["token"]
    assert scan(client, token, scene).status_code == 403


# --- the parent's web session ------------------------------------------------------------


def test_the_pc_session_opens_parent_apis_and_mutations_need_the_pages_csrf_token(
        pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    parent = phone()
    csrf = signed_in_pc(pc, client, parent)
    assert pc.get("/api/v1/me").get_json()["role"] == "parent"
    assert pc.get("/api/v1/me/children").status_code == 200
    subscriptions = {"results": {"registration_received": "accept"}}

    missing = pc.post("/api/v1/me/subscriptions", json=subscriptions)
    forged = pc.post("/api/v1/me/subscriptions", json=subscriptions,
                     headers={"X-CSRF-Token": "forged"})
    right = pc.post("/api/v1/me/subscriptions", json=subscriptions,
                    headers={"X-CSRF-Token": csrf})

    for refused in (missing, forged):
        assert refused.status_code == 403 and error_code(refused) == "CSRF_FAILED"
    assert right.status_code == 200, right.get_json()
    # A parent's session never opens a staff API, and is never a bearer token.
    assert pc.get("/api/v1/staff/registrations").status_code == 401
    token = pc.get_cookie("parent_session")
    assert token is not None
    assert client.get("/api/v1/me", headers=bearer(token.value)).status_code == 401


def test_the_idle_clock_and_the_latest_end(app: Flask, pc: FlaskClient, client: FlaskClient,
                                           phone: Phone, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PARENT_WEB_IDLE_SECONDS", 600)
    signed_in_pc(pc, client, phone())
    cookie = pc.get_cookie("parent_session")
    assert cookie is not None
    key = redis_store.key("session", pc_login._digest(cookie.value))
    assert 590 <= redis_store.client.ttl(key) <= 600
    redis_store.client.expire(key, 5)  # nearly idle for 10 minutes
    assert pc.get("/api/v1/me").status_code == 200
    assert redis_store.client.ttl(key) > 590  # each request restarts the clock
    stored = json.loads(redis_store.client.get(key))
    assert stored["web"] == 1 and stored["role"] == "parent"
    assert abs(stored["exp"] - stored["iat"] - 8 * 3600) < 5  # PARENT_WEB_MAX_SECONDS
    redis_store.client.delete(key)  # idle past the timeout
    assert pc.get("/api/v1/me").status_code == 401
    assert pc.get("/pc/").headers["Location"] == "/pc/login"


def test_logout_ends_the_pc_session_and_clears_its_cookie(
        pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    parent = phone()
    csrf = signed_in_pc(pc, client, parent)
    assert pc.post("/api/v1/auth/logout").status_code == 403  # no CSRF token

    response = pc.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204
    assert set_cookies(response)["parent_session"].startswith("parent_session=;")
    assert pc.get("/api/v1/me").status_code == 401
    # The phone's own token is untouched.
    assert client.get("/api/v1/me", headers=bearer(parent["token"])).status_code == 200


def test_a_new_sign_in_replaces_the_session_the_browser_held(
        app: Flask, pc: FlaskClient, client: FlaskClient, phone: Phone) -> None:
    first, second = phone(), phone()
    signed_in_pc(pc, client, first)
    old = pc.get_cookie("parent_session")
    assert old is not None
    signed_in_pc(pc, client, second)
    new = pc.get_cookie("parent_session")
    assert new is not None and new.value != old.value
    assert pc.get("/api/v1/me").get_json()["id"] == second["user"]["id"]
    # The first parent's session ended on the server, not only in this browser.
    replay = app.test_client()
    replay.set_cookie("parent_session", old.value)
    assert replay.get("/api/v1/me").status_code == 401


def test_in_production_the_cookies_are_secure(app: Flask, pc: FlaskClient, client: FlaskClient,
                                              phone: Phone,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "STAFF_WEB_COOKIE_SECURE", True)
    pc.environ_base["wsgi.url_scheme"] = "https"
    parent = phone()
    response = pc.post("/api/v1/auth/pc-login", json={})
    started = response.get_json()
    binding = set_cookies(response)["__Secure-pc_login"]
    assert "; Secure" in binding
    scene = scene_on_screen(pc, started)
    scan(client, parent["token"], scene)
    decide(client, parent["token"], scene)
    session = set_cookies(state(pc, started))["__Host-parent_session"]
    assert "; Secure" in session and "; Path=/" in session and "Domain" not in session


# --- the registration intake ----------------------------------------------------------------


@pytest.fixture()
def family(session: Any, pc: FlaskClient, client: FlaskClient, phone: Phone) -> dict[str, Any]:
    """An open season, a zoned school, a parent with a child and an uploaded 户口簿."""
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    school = make_school(authority, zone=[village])
    make_seat_plan(season, school)
    parent = phone()
    guardian = make_guardian(db.session.get(User, parent["user"]["id"]))
    children = [make_child(guardian, village, birth=dt.date(now.year - 6, 3, n + 1))
                for n in range(2)]
    # Cached as adding them through the API would have (registrations/subscribers.py).
    facts.refresh_children([child.id for child in children])
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 40)).save(buffer, format="PNG")
    upload = client.post("/api/v1/uploads", headers=bearer(parent["token"]), data={
        "kind": "hukou_book", "file": (io.BytesIO(buffer.getvalue()), "hukou.png")},
        content_type="multipart/form-data").get_json()["upload_id"]
    return {"parent": parent, "children": children, "school": school, "upload": upload}


def submission(family: dict[str, Any], child: int = 0) -> dict[str, Any]:
    return {"child_id": family["children"][child].id, "school_code": family["school"].code,
            "basis": "hukou", "upload_ids": [family["upload"]]}


@pytest.fixture()
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts the app's Redis round trips (a command, or a pipeline sent at once)."""
    trips: list[str] = []
    command = redis.Redis.execute_command
    execute = Pipeline.execute

    def counted_command(self: Any, *args: Any, **options: Any) -> Any:
        if self is redis_store.client:
            trips.append(str(args[0]))
        return command(self, *args, **options)

    def counted_pipeline(self: Any, *args: Any, **options: Any) -> Any:
        trips.append("PIPELINE")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_pipeline)
    yield trips


def test_the_intake_takes_the_pc_session_with_its_csrf_token(
        pc: FlaskClient, client: FlaskClient, family: dict[str, Any]) -> None:
    csrf = signed_in_pc(pc, client, family["parent"])
    headers = {"Idempotency-Key": "pc-key-00000001"}

    missing = pc.post("/api/v1/registrations", json=submission(family), headers=headers)
    queued = pc.post("/api/v1/registrations", json=submission(family),
                     headers={**headers, "X-CSRF-Token": csrf})

    assert missing.status_code == 403 and error_code(missing) == "CSRF_FAILED"
    assert queued.status_code == 202, queued.get_json()
    ticket = queued.get_json()["ticket"]
    followed = pc.get(f"/api/v1/registrations/tickets/{ticket}")
    assert followed.status_code == 200 and followed.get_json()["state"] == "queued"
    # A staff member's console cookie still opens nothing here.
    assert client.get(f"/api/v1/registrations/tickets/{ticket}").status_code == 401


def test_the_bearer_submission_costs_the_same_round_trips_as_before(
        pc: FlaskClient, client: FlaskClient, family: dict[str, Any],
        round_trips: list[str]) -> None:
    token = family["parent"]["token"]
    first = client.post("/api/v1/registrations", json=submission(family, 0), headers={
        **bearer(token), "Idempotency-Key": "bearer-key-0001"})
    assert first.status_code == 202, first.get_json()
    round_trips.clear()  # the submission script is loaded now

    second = client.post("/api/v1/registrations", json=submission(family, 1), headers={
        **bearer(token), "Idempotency-Key": "bearer-key-0002"})

    assert second.status_code == 202, second.get_json()
    # The session, its windows and the facts in one pipeline; the queueing script.
    assert round_trips == ["PIPELINE", "EVALSHA"]


# --- rate limits, audit, logs ----------------------------------------------------------------


def test_starting_sign_ins_is_rate_limited_per_address(
        app: Flask, pc: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PC_LOGIN_LIMIT_PER_ADDRESS", "3/minute")
    for _ in range(3):
        start(pc)
    limited = pc.post("/api/v1/auth/pc-login", json={})
    assert limited.status_code == 429 and error_code(limited) == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "36.113.1.1"
    assert other.post("/api/v1/auth/pc-login", json={}).status_code == 201


def test_a_sign_in_takes_json_only(pc: FlaskClient) -> None:
    # A form on another site cannot start one (the API takes JSON, which needs CORS).
    response = pc.post("/api/v1/auth/pc-login", data={"a": "b"})
    assert response.status_code == 415


def test_each_step_is_audited_and_the_code_is_never_logged(
        pc: FlaskClient, client: FlaskClient, phone: Phone,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    parent = phone()
    started = start(pc)
    scene = scene_on_screen(pc, started)
    scan(client, parent["token"], scene)
    decide(client, parent["token"], scene)
    state(pc, started)
    other = start(pc)
    other_scene = scene_on_screen(pc, other)
    scan(client, parent["token"], other_scene)
    decide(client, parent["token"], other_scene, "refuse")

    jobs = [json.loads(fields[b"payload"]) for _id, fields
            in redis_store.client.xrange(stream_key(JOBS))
            if fields[b"type"] == b"audit.record"]
    steps = [(job["action"], job["object_id"]) for job in jobs
             if job["action"].startswith("pc_login.")]
    assert steps == [
        ("pc_login.requested", started["id"]), ("pc_login.scanned", started["id"]),
        ("pc_login.confirmed", started["id"]), ("pc_login.signed_in", started["id"]),
        ("pc_login.requested", other["id"]), ("pc_login.scanned", other["id"]),
        ("pc_login.refused", other["id"])]
    assert {job["actor_user_id"] for job in jobs if job["action"] != "pc_login.requested"
            and job["action"].startswith("pc_login.")} == {parent["user"]["id"]}
    written = json.dumps(jobs) + "\n".join(r.getMessage() for r in caplog.records)
    for code in (scene, other_scene):
        assert code not in written and code[2:] not in written
    # The PC's address only as a keyed fingerprint.
    assert str(pc.environ_base["REMOTE_ADDR"]) not in written


@pytest.mark.parametrize(("user_agent", "browser", "system"), [
    (CHROME_ON_WINDOWS, "Chrome 126", "Windows 10/11"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", "Edge 124", "Windows 10/11"),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/86.0.4240.198 Safari/537.36 QIHU 360SE", "360浏览器", "Windows 7"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4 Safari/605.1.15", "Safari 17", "macOS"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
     "Firefox 125", "Linux"),
    ("", "未知浏览器", "未知系统"),
])
def test_the_pc_is_described_roughly_from_its_user_agent(user_agent: str, browser: str,
                                                         system: str) -> None:
    assert pc_login.describe_user_agent(user_agent) == (browser, system)


@pytest.mark.parametrize(("address", "prefix"), [
    ("36.112.10.20", "36.112.*.*"), ("::ffff:36.112.10.20", "36.112.*.*"),
    ("2408:8207:0078:1:0:0:0:1", "2408:8207:*"), ("", "未知"), ("not an address", "未知"),
])
def test_the_address_is_shown_as_its_network_only(address: str, prefix: str) -> None:
    assert pc_login.address_prefix(address) == prefix
