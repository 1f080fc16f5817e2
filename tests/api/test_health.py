"""Liveness and readiness."""

from __future__ import annotations

from flask.testing import FlaskClient

from backend.core.redis import connect, redis_store


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": True, "redis": True}


def test_readyz_is_503_when_redis_is_down(client: FlaskClient) -> None:
    saved = redis_store._client
    # Nothing listens there: the ping fails fast.
    redis_store._client = connect("redis://127.0.0.1:9/0")
    try:
        response = client.get("/readyz")
    finally:
        redis_store._client = saved
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": True, "redis": False}
    assert response.headers["Retry-After"]
