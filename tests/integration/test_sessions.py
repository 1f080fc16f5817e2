"""Session tokens in Redis: only hashes stored, expiry, revocation of one or all."""

from __future__ import annotations

import hashlib

from flask import Flask

from backend.core.redis import redis_store
from backend.core.sessions import (
    create_session,
    resolve_session,
    revoke_all_sessions,
    revoke_session,
)


def test_only_the_token_hash_is_stored(app: Flask) -> None:
    token = create_session(41, "parent", 60)
    keys = [k.decode() for k in redis_store.client.scan_iter(match=redis_store.prefix + "*")]
    assert not any(token in key for key in keys)
    assert redis_store.key("session", hashlib.sha256(token.encode()).hexdigest()) in keys
    info = resolve_session(token)
    assert info is not None and (info.user_id, info.role) == (41, "parent")


def test_sessions_expire_with_their_ttl(app: Flask) -> None:
    token = create_session(42, "parent", 60)
    info = resolve_session(token)
    assert info is not None
    ttl = redis_store.client.ttl(redis_store.key("session", info.token_hash))
    assert 0 < ttl <= 60


def test_revoke_one_and_revoke_all(app: Flask) -> None:
    first, second, third = (create_session(43, "school_staff", 60) for _ in range(3))
    info = resolve_session(first)
    assert info is not None
    revoke_session(info)
    assert resolve_session(first) is None and resolve_session(second) is not None
    assert revoke_all_sessions(43) == 2
    assert resolve_session(second) is None and resolve_session(third) is None


def test_garbage_tokens_resolve_to_nothing(app: Flask) -> None:
    assert resolve_session("") is None
    assert resolve_session("x" * 1000) is None
    assert resolve_session("never-issued") is None
