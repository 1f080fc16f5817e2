"""The token store: opaque, revocable session tokens in Redis (only their SHA-256 is stored).

Core keeps the tokens; who a token stands for is the accounts domain's business (it
registers its loaders with `backend.core.auth` at start-up).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from backend.core.redis import redis_store


@dataclass(frozen=True)
class SessionInfo:
    """What a valid token stands for."""

    user_id: int
    role: str
    token_hash: str
    # A web session (cookie: the staff console's, a parent's PC session): its CSRF token
    # and when it ends at the latest.
    web: bool = False
    csrf: str | None = None
    expires_at: float | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (not yet valid: store_session makes it so)."""
    return secrets.token_urlsafe(32)


def store_session(token: str, user_id: int, role: str, ttl_seconds: int) -> None:
    """Make `token` stand for the user for `ttl_seconds`; the token itself is never stored."""
    token_hash = _hash(token)
    now = time.time()
    user_key = redis_store.key("user-sessions", user_id)
    payload = json.dumps({"uid": user_id, "role": role, "iat": int(now)})
    with redis_store.client.pipeline() as pipe:
        pipe.set(redis_store.key("session", token_hash), payload, ex=ttl_seconds)
        # The user's sessions, scored by expiry: expired ones are trimmed on every login.
        pipe.zadd(user_key, {token_hash: now + ttl_seconds})
        pipe.zremrangebyscore(user_key, "-inf", now)
        pipe.expire(user_key, ttl_seconds)
        pipe.execute()


def create_session(user_id: int, role: str, ttl_seconds: int) -> str:
    """Mint and store a token at once; returns the token (shown to the client only)."""
    token = new_token()
    store_session(token, user_id, role, ttl_seconds)
    return token


def resolve_session(token: str) -> SessionInfo | None:
    """The session a token stands for, or None if unknown, expired or revoked."""
    if not token or len(token) > 256:
        return None
    token_hash = _hash(token)
    return session_from(redis_store.client.get(session_key(token_hash)), token_hash)


def hashed_token(token: str) -> str | None:
    """The stored name of a token (None for one that cannot be a token)."""
    return _hash(token) if token and len(token) <= 256 else None


def session_key(hashed: str) -> str:
    """The Redis key of a session, for callers that read it in their own pipeline."""
    return redis_store.key("session", hashed)


def session_from(raw: Any, hashed: str) -> SessionInfo | None:
    """The session stored under `session_key(hashed)`, from its raw value."""
    if raw is None:
        return None
    data = json.loads(raw)
    if data.get("web"):
        return SessionInfo(user_id=int(data["uid"]), role=str(data["role"]), token_hash=hashed,
                           web=True, csrf=str(data["csrf"]), expires_at=float(data["exp"]))
    return SessionInfo(user_id=int(data["uid"]), role=str(data["role"]), token_hash=hashed)


# The user's session set lives as long as its longest session: never shortened.
_EXTEND = """
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
"""


def store_web_session(token: str, user_id: int, role: str, csrf: str, *,
                      idle_seconds: int, max_seconds: int) -> None:
    """A web session: ends after `idle_seconds` without use, `max_seconds` at the latest.

    It lives in the same place as bearer sessions (so revoking a user's sessions ends it
    too) but is marked `web`: it is only ever accepted from the cookie, never as a bearer.
    A parent's PC session is shorter than the phone's token: the set keeps the longer life.
    """
    token_hash = _hash(token)
    now = time.time()
    user_key = redis_store.key("user-sessions", user_id)
    payload = json.dumps({"uid": user_id, "role": role, "iat": int(now), "web": 1,
                          "csrf": csrf, "exp": now + max_seconds})
    with redis_store.client.pipeline() as pipe:
        pipe.set(redis_store.key("session", token_hash), payload,
                 ex=max(1, min(idle_seconds, max_seconds)))
        pipe.zadd(user_key, {token_hash: now + max_seconds})
        pipe.zremrangebyscore(user_key, "-inf", now)
        pipe.eval(_EXTEND, 1, user_key, max_seconds)
        pipe.execute()


def touch_web_session(info: SessionInfo, idle_seconds: int) -> None:
    """Restart a web session's idle clock (never past its latest end)."""
    left = (info.expires_at or 0) - time.time()
    ttl = int(min(idle_seconds, left))
    key = redis_store.key("session", info.token_hash)
    if ttl < 1:
        redis_store.client.delete(key)
    else:
        # XX-like: EXPIRE does nothing for a key that was revoked a moment ago.
        redis_store.client.expire(key, ttl)


def revoke_session(info: SessionInfo) -> None:
    """End one session at once."""
    with redis_store.client.pipeline() as pipe:
        pipe.delete(redis_store.key("session", info.token_hash))
        pipe.zrem(redis_store.key("user-sessions", info.user_id), info.token_hash)
        pipe.execute()


def revoke_all_sessions(user_id: int) -> int:
    """End every session of a user (account disabled or moved); returns how many."""
    client = redis_store.client
    user_key = redis_store.key("user-sessions", user_id)
    members: Any = client.zrange(user_key, 0, -1)
    hashes = [h.decode() if isinstance(h, bytes) else str(h) for h in members]
    with client.pipeline() as pipe:
        for token_hash in hashes:
            pipe.delete(redis_store.key("session", token_hash))
        pipe.delete(user_key)
        results = pipe.execute()
    return sum(int(r) for r in results[:-1])
