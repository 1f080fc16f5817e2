"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from backend.core.db import db
from backend.core.redis import redis_store

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 while the process lives."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """200 only when the database and Redis both answer."""
    checks = {"database": False, "redis": False}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        logger.warning("readiness: database unavailable", exc_info=True)
    finally:
        db.session.rollback()
    try:
        checks["redis"] = bool(redis_store.client.ping())
    except Exception:
        logger.warning("readiness: redis unavailable", exc_info=True)
    ready = all(checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response
