"""Who is calling: bearer-token authentication and role checks as decorators."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from backend.core.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token() -> str | None:
    """The token from `Authorization: Bearer …`, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate() -> Any:
    # Imported here: accounts depends on core, not the other way round.
    from backend.accounts.services import user_for_token

    if "current_user" in g:
        return g.current_user
    token = bearer_token()
    user, session = user_for_token(token) if token else (None, None)
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
    g.current_user = user
    g.current_session = session
    return user


def current_user() -> Any:
    """The authenticated user of this request (raises 401 when there is none)."""
    return _authenticate()


def require_roles(*roles: str) -> Callable[[F], F]:
    """Allow a view only to authenticated users with one of `roles` (401, then 403)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = _authenticate()
            if user.role.value not in roles:
                raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def require_session(*roles: str, limits: Sequence[str] = ()) -> Callable[[F], F]:
    """Like require_roles, from the Redis session alone (no database read).

    For the few hot paths that must work at the opening minute and while the database is
    briefly unavailable; disabling an account revokes its sessions, so this stays exact.
    `limits` names rate-limit settings (per caller, then per address) that are counted in
    the same Redis round trip as the session read, before anything else is looked at.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            info = _session_within_limits(limits)
            if info is None:
                raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
            if info.role not in roles:
                raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
            g.current_session = info
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def _session_within_limits(limits: Sequence[str]) -> Any:
    from backend.accounts import sessions
    from backend.core import ratelimit
    from backend.core.redis import redis_store

    token = bearer_token() or ""
    hashed = sessions.hashed_token(token)
    # The caller's window is keyed by its token, so it is counted even when the token
    # turns out to be invalid; the second window is the address.
    keys = (f"t:{hashed[:24]}" if hashed else ratelimit.address_key(), ratelimit.address_key())
    checks = [(current_app.config[name], key) for name, key in zip(limits, keys, strict=False)]
    with redis_store.client.pipeline(transaction=False) as pipe:
        if hashed:
            pipe.get(sessions.session_key(hashed))
        limited = ratelimit.queue_window_hits(pipe, checks)
        replies = pipe.execute()
    if limited:
        ratelimit.raise_if_limited(replies[-1])
    return sessions.session_from(replies[0], hashed) if hashed else None


def current_user_id() -> int:
    """The caller's user id from the session (set by require_session or require_roles)."""
    info = g.get("current_session")
    if info is None:
        raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
    return int(info.user_id)


ALL_ROLES = ("parent", "school_staff", "bureau_admin")
STAFF = ("school_staff", "bureau_admin")
require_login = require_roles(*ALL_ROLES)


def init_app(app: Flask) -> None:
    """Forget the previous request's caller (an app context can outlive a request)."""

    @app.before_request
    def _reset_caller() -> None:
        g.pop("current_user", None)
        g.pop("current_session", None)
        g.pop("_after_commit", None)
