"""Per-user and per-address rate limits on submissions and logins (flask-limiter on Redis)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse as parse_limit

from backend.core.errors import ApiError, error_response


def address_key() -> str:
    """The client address (through trusted proxies, see TRUSTED_PROXY_HOPS)."""
    return "a:" + (request.remote_addr or "-")


limiter = Limiter(key_func=address_key)


def _storage_uri(redis_url: str) -> str:
    # limits names unix sockets redis+unix://; redis-py names them unix://.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_app(app: Flask, redis_url: str, key_prefix: str,
             storage_options: dict[str, Any] | None = None) -> None:
    """Store counters in the app's Redis and answer 429 in the project's error shape."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(redis_url))
    # Under Sentinel (redis+sentinel://…) the passwords and timeouts the app's client uses.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(storage_options or {}))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", key_prefix + "ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _limited(exc: RateLimitExceeded) -> Response:
        retry_after = str(max(int(exc.limit.limit.get_expiry()), 1))
        return error_response(429, "RATE_LIMITED", "操作太频繁，请稍后再试",
                              headers={"Retry-After": retry_after})


# Fixed windows, as flask-limiter's default strategy counts them, for the hot paths that
# read the caller's session in the same Redis round trip (the registration intake): one
# INCR per window, its expiry set by the first hit; answers the seconds to wait, or 0.
_WINDOWS = """
local wait = 0
for i, key in ipairs(KEYS) do
  local hits = redis.call('INCR', key)
  if hits == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if hits > tonumber(ARGV[2 * i - 1]) then
    wait = math.max(wait, redis.call('TTL', key), 1)
  end
end
return wait
"""


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[int, int, str]:
    item = parse_limit(limit)  # the same "30/minute" syntax as every other limit
    return item.amount, item.get_expiry(), f"{item.amount}/{item.get_expiry()}"


def queue_window_hits(pipe: Any, checks: Sequence[tuple[str, str]]) -> bool:
    """Queue one hit on each (limit, key) window on `pipe`; False when limits are off."""
    if not checks or not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    keys: list[str] = []
    args: list[int] = []
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    for limit, key in checks:
        amount, seconds, name = _parsed(limit)
        keys.append(f"{prefix}:window:{name}:{key}")
        args.extend((amount, seconds))
    pipe.eval(_WINDOWS, len(keys), *keys, *args)
    return True


def raise_if_limited(wait: Any) -> None:
    """429 RATE_LIMITED with Retry-After when a window queued above is full."""
    if int(wait or 0) > 0:
        raise ApiError(429, "RATE_LIMITED", "操作太频繁，请稍后再试",
                       headers={"Retry-After": str(int(wait))})
