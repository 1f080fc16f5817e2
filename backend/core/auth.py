"""Who is calling: bearer-token authentication and role checks as decorators.

Core knows tokens (`backend.core.sessions`), not users: the accounts domain registers, at
start-up, the loaders that turn a bearer token or the staff web cookie into a user
(`register_loaders`). The hot paths that must not read the database use `require_session`,
built on `read_session` — one Redis round trip for the session and its rate-limit windows,
to which a caller may add the keys it needs (the registration intake does).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from backend.core import ratelimit, sessions
from backend.core.errors import ApiError
from backend.core.redis import redis_store
from backend.core.sessions import SessionInfo

F = TypeVar("F", bound=Callable[..., Any])

# (user, session) or (None, None): a bearer token's, or the staff web cookie's.
BearerLoader = Callable[[str], tuple[Any, SessionInfo | None]]
CookieLoader = Callable[[], tuple[Any, SessionInfo | None]]


@dataclass(frozen=True)
class Loaders:
    """How the app turns credentials into users (registered by the accounts domain)."""

    bearer: BearerLoader
    cookie: CookieLoader | None = None


def register_loaders(app: Flask, *, bearer: BearerLoader,
                     cookie: CookieLoader | None = None) -> None:
    """Tell core how to load the user of a bearer token and of the staff web cookie."""
    app.extensions["auth_loaders"] = Loaders(bearer=bearer, cookie=cookie)


def _loaders() -> Loaders:
    loaders = current_app.extensions.get("auth_loaders")
    if loaders is None:
        raise RuntimeError("no user loaders registered (backend.accounts.init_app)")
    return loaders


def _unauthenticated() -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", "登录已失效，请重新登录")


def bearer_token() -> str | None:
    """The token from `Authorization: Bearer …`, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate(*, cookie: bool = False) -> Any:
    if "current_user" in g:
        return g.current_user
    loaders = _loaders()
    token = bearer_token()
    user, session = loaders.bearer(token) if token else (None, None)
    if token is None and cookie and loaders.cookie is not None:
        # The console's web session, for views open to staff (never parent-only ones);
        # a mutating request must carry its CSRF token (backend/accounts/web.py).
        user, session = loaders.cookie()
    if user is None:
        raise _unauthenticated()
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


def read_session(limits: Sequence[str] = (),
                 keys: Callable[[], Sequence[str]] | None = None,
                 ) -> tuple[SessionInfo | None, dict[str, Any]]:
    """The bearer's session, its rate-limit windows and `keys()`' values in one round trip.

    `limits` names rate-limit settings (per caller, then per address), counted before
    anything else is looked at (429 when over). `keys` is asked only when a token was sent;
    its values come back by key. A staff web session is never accepted as a bearer.
    """
    token = bearer_token() or ""
    hashed = sessions.hashed_token(token)
    # The caller's window is keyed by its token, so it is counted even when the token
    # turns out to be invalid; the second window is the address.
    windows = (f"t:{hashed[:24]}" if hashed else ratelimit.address_key(),
               ratelimit.address_key())
    checks = [(current_app.config[name], key)
              for name, key in zip(limits, windows, strict=False)]
    wanted = list(keys()) if keys is not None and hashed else []
    with redis_store.client.pipeline(transaction=False) as pipe:
        if hashed:
            pipe.get(sessions.session_key(hashed))
        if wanted:
            pipe.mget(wanted)
        limited = ratelimit.queue_window_hits(pipe, checks)
        replies = pipe.execute()
    values = dict(zip(wanted, replies[1], strict=True)) if wanted else {}
    if limited:
        ratelimit.raise_if_limited(replies[-1])
    info = sessions.session_from(replies[0], hashed) if hashed else None
    return (None if info is not None and info.web else info), values


def admit(info: SessionInfo | None, roles: Sequence[str]) -> SessionInfo:
    """401 without a valid session, 403 with the wrong role; else the caller's session."""
    if info is None:
        raise _unauthenticated()
    if info.role not in roles:
        raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
    g.current_session = info
    return info


def require_session(*roles: str, limits: Sequence[str] = ()) -> Callable[[F], F]:
    """Like require_roles, from the Redis session alone (no database read).

    For the few hot paths that must work at the opening minute and while the database is
    briefly unavailable; disabling an account revokes its sessions, so this stays exact.
    `limits` are counted in the same Redis round trip as the session read.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            admit(read_session(limits)[0], roles)
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def current_user_id() -> int:
    """The caller's user id from the session (set by require_session or require_roles)."""
    info = g.get("current_session")
    if info is None:
        raise _unauthenticated()
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
