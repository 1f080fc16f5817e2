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


def _authenticate(*, cookie: bool = False) -> Any:
    # Imported here: accounts depends on core, not the other way round.
    from backend.accounts.services import user_for_token

    if "current_user" in g:
        return g.current_user
    token = bearer_token()
    user, session = user_for_token(token) if token else (None, None)
    if token is None and cookie:
        # The console's web session, for views open to staff (never parent-only ones);
        # a mutating request must carry its CSRF token (backend/accounts/web.py).
        from backend.accounts.web import user_for_cookie

        user, session = user_for_cookie()
    if user is None:
        raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
    g.current_user = user
    g.current_session = session
    return user


def current_user() -> Any:
    """The authenticated user of this request (raises 401 when there is none)."""
    return _authenticate()


def require_roles(*roles: str) -> Callable[[F], F]:
    """Allow a view only to authenticated users with one of `roles` (401, then 403).

    Views open to a staff role also accept the staff web session cookie.
    """
    accepts_cookie = not STAFF_SET.isdisjoint(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = _authenticate(cookie=accepts_cookie)
            if user.role.value not in roles:
                raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def require_session(*roles: str, limits: Sequence[str] = (),
                    reads: Callable[[Any], list[str]] | None = None) -> Callable[[F], F]:
    """Like require_roles, from the Redis session alone (no database read).

    For the few hot paths that must work at the opening minute and while the database is
    briefly unavailable; disabling an account revokes its sessions, so this stays exact.
    `limits` names rate-limit settings (per caller, then per address) that are counted in
    the same Redis round trip as the session read, before anything else is looked at.
    `reads` names, from the raw JSON body, keys the view will need: they are fetched in that
    same round trip and handed over by `prefetched()`.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            info = _session_within_limits(limits, reads)
            if info is None:
                raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
            if info.role not in roles:
                raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
            g.current_session = info
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def prefetched() -> dict[str, Any]:
    """The values `require_session(reads=...)` fetched with the session (key → raw value)."""
    return dict(g.get("prefetched") or {})


def _session_within_limits(limits: Sequence[str],
                           reads: Callable[[Any], list[str]] | None = None) -> Any:
    from backend.accounts import sessions
    from backend.core import ratelimit
    from backend.core.redis import redis_store

    token = bearer_token() or ""
    hashed = sessions.hashed_token(token)
    # The caller's window is keyed by its token, so it is counted even when the token
    # turns out to be invalid; the second window is the address.
    keys = (f"t:{hashed[:24]}" if hashed else ratelimit.address_key(), ratelimit.address_key())
    checks = [(current_app.config[name], key) for name, key in zip(limits, keys, strict=False)]
    wanted = reads(request.get_json(silent=True)) if reads is not None and hashed else []
    with redis_store.client.pipeline(transaction=False) as pipe:
        if hashed:
            pipe.get(sessions.session_key(hashed))
        if wanted:
            pipe.mget(wanted)
        limited = ratelimit.queue_window_hits(pipe, checks)
        replies = pipe.execute()
    if wanted:
        g.prefetched = dict(zip(wanted, replies[1], strict=True))
    if limited:
        ratelimit.raise_if_limited(replies[-1])
    info = sessions.session_from(replies[0], hashed) if hashed else None
    # A staff web session is good for its cookie only, never as a bearer token.
    return None if info is not None and info.web else info


def current_user_id() -> int:
    """The caller's user id from the session (set by require_session or require_roles)."""
    info = g.get("current_session")
    if info is None:
        raise ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")
    return int(info.user_id)


ALL_ROLES = ("parent", "school_staff", "bureau_admin")
STAFF = ("school_staff", "bureau_admin")
STAFF_SET = frozenset(STAFF)
require_login = require_roles(*ALL_ROLES)


def init_app(app: Flask) -> None:
    """Forget the previous request's caller (an app context can outlive a request)."""

    @app.before_request
    def _reset_caller() -> None:
        g.pop("current_user", None)
        g.pop("current_session", None)
        g.pop("_after_commit", None)
        g.pop("prefetched", None)
