"""Per-user and per-address rate limits on submissions and logins (flask-limiter on Redis)."""

from __future__ import annotations

import hashlib

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from backend.core.auth import bearer_token
from backend.core.errors import error_response


def caller_key() -> str:
    """The caller's session (a hash of its token), else its address."""
    token = bearer_token()
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "a:" + (get_remote_address() or "-")


def address_key() -> str:
    """The client address (through trusted proxies, see TRUSTED_PROXY_HOPS)."""
    return "a:" + (request.remote_addr or "-")


limiter = Limiter(key_func=address_key)


def _storage_uri(redis_url: str) -> str:
    # limits names unix sockets redis+unix://; redis-py names them unix://.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_app(app: Flask, redis_url: str, key_prefix: str) -> None:
    """Store counters in the app's Redis and answer 429 in the project's error shape."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", key_prefix + "ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _limited(exc: RateLimitExceeded) -> Response:
        retry_after = str(max(int(exc.limit.limit.get_expiry()), 1))
        return error_response(429, "RATE_LIMITED", "操作太频繁，请稍后再试",
                              headers={"Retry-After": retry_after})
