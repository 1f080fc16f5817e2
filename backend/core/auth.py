"""Who is calling: bearer-token authentication and role checks as decorators.

Core knows tokens (`backend.core.sessions`), not users: the accounts domain registers, at
start-up, the loaders that turn a bearer token or a web session cookie into a user
(`register_loaders`). The hot paths that must not read the database use `require_session`,
built on `read_session` — one Redis round trip for the session and its rate-limit windows,
to which a caller may add the keys it needs (the registration intake does).

Web session cookies: the staff console's and the parent's PC session. A view reads the
cookie of the roles it is open to (never another's), only when no bearer token was sent;
the accounts domain checks the CSRF token of a mutation and restarts the idle clock.
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

# (user, session) or (None, None): a bearer token's.
BearerLoader = Callable[[str], tuple[Any, SessionInfo | None]]


@dataclass(frozen=True)
class WebCookie:
    """How the accounts domain reads the web session cookies, for a view open to `roles`."""

    # The user and session of the cookie (a database read), or (None, None).
    load: Callable[[Sequence[str]], tuple[Any, SessionInfo | None]]
    # The cookie's raw token, for the Redis-only paths that read the session themselves.
    token: Callable[[Sequence[str]], str | None]
    # Accept a web session read that way: its role, the CSRF token, the idle clock.
    admit: Callable[[SessionInfo, Sequence[str]], bool]


@dataclass(frozen=True)
class Loaders:
    """How the app turns credentials into users (registered by the accounts domain)."""

    bearer: BearerLoader
    cookie: WebCookie | None = None


def register_loaders(app: Flask, *, bearer: BearerLoader,
                     cookie: WebCookie | None = None) -> None:
    """Tell core how to load the user of a bearer token and of the web session cookies."""
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


def _authenticate(cookie_roles: Sequence[str] = ()) -> Any:
    if "current_user" in g:
        return g.current_user
    loaders = _loaders()
    token = bearer_token()
    user, session = loaders.bearer(token) if token else (None, None)
    if token is None and cookie_roles and loaders.cookie is not None:
        # A web session, from the cookie of the view's roles only (a staff cookie never
        # opens a parent-only view); a mutation must carry its CSRF token (accounts/web.py).
        user, session = loaders.cookie.load(cookie_roles)
    if user is None:
        raise _unauthenticated()
    g.current_user = user
    g.current_session = session
    return user


def current_user() -> Any:
    """The authenticated user of this request (raises 401 when there is none)."""
    return _authenticate()


def require_roles(*roles: str, web: bool = True) -> Callable[[F], F]:
    """Allow a view only to authenticated users with one of `roles` (401, then 403).

    The view also accepts the web session cookie of its roles (the staff console's, the
    parent's PC session) unless `web` is False: then only a bearer token (the phone).
    """
    cookie_roles = roles if web else ()

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = _authenticate(cookie_roles)
            if user.role.value not in roles:
                raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
            return view(*args, **kwargs)

        wrapper._api_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def read_session(limits: Sequence[str] = (),
                 keys: Callable[[], Sequence[str]] | None = None,
                 web_roles: Sequence[str] = (),
                 hashes: Callable[[], Sequence[str]] | None = None,
                 ) -> tuple[SessionInfo | None, dict[str, Any]]:
    """The caller's session, its rate-limit windows and `keys()`' values in one round trip.

    `limits` names rate-limit settings (per caller, then per address), counted before
    anything else is looked at (429 when over). `keys` is asked only when a token was sent;
    its values come back by key, and so do the fields of the `hashes()` (HGETALL, a dict).
    A web session is never accepted as a bearer; without a
    bearer token, the web session cookie of `web_roles` is read instead (same round trip;
    its CSRF check and idle clock come after it).
    """
    token = bearer_token()
    web = _loaders().cookie if token is None and web_roles else None
    web_token = web.token(web_roles) if web is not None else None
    hashed = sessions.hashed_token(token or web_token or "")
    # The caller's window is keyed by its token, so it is counted even when the token
    # turns out to be invalid; the second window is the address.
    windows = (f"t:{hashed[:24]}" if hashed else ratelimit.address_key(),
               ratelimit.address_key())
    checks = [(current_app.config[name], key)
              for name, key in zip(limits, windows, strict=False)]
    wanted = list(keys()) if keys is not None and hashed else []
    wanted_hashes = list(hashes()) if hashes is not None and hashed else []
    with redis_store.client.pipeline(transaction=False) as pipe:
        if hashed:
            pipe.get(sessions.session_key(hashed))
        if wanted:
            pipe.mget(wanted)
        for key in wanted_hashes:
            pipe.hgetall(key)
        limited = ratelimit.queue_window_hits(pipe, checks)
        replies = pipe.execute()
    values = dict(zip(wanted, replies[1], strict=True)) if wanted else {}
    first_hash = 2 if wanted else 1
    values.update(zip(wanted_hashes, replies[first_hash:first_hash + len(wanted_hashes)],
                      strict=True))
    if limited:
        ratelimit.raise_if_limited(replies[-1])
    info = sessions.session_from(replies[0], hashed) if hashed else None
    if info is not None and web is not None and web_token is not None:
        return (info if info.web and web.admit(info, web_roles) else None), values
    return (None if info is not None and info.web else info), values


def caller_token(web_roles: Sequence[str] = ()) -> tuple[str | None, bool]:
    """The stored name of the caller's bearer token, else of the web session cookie of
    `web_roles`, and whether it is the cookie's: for a path that reads the session in its
    own Redis call (then `session_admitted` checks what it read)."""
    token = bearer_token()
    web = _loaders().cookie if token is None and web_roles else None
    if web is not None:
        return sessions.hashed_token(web.token(web_roles) or ""), True
    return sessions.hashed_token(token or ""), False


def session_admitted(raw: Any, hashed: str, web: bool,
                     roles: Sequence[str]) -> SessionInfo | None:
    """The session read raw under `session_key(hashed)` if it may open a view of `roles`,
    by the rules of `read_session` and `admit` (a web session only from its cookie, with its
    CSRF check and idle clock); else None, and the caller takes its full path."""
    info = sessions.session_from(raw, hashed)
    if info is None or info.role not in roles:
        return None
    if web:
        cookie = _loaders().cookie
        if not info.web or cookie is None or not cookie.admit(info, roles):
            return None
    elif info.web:
        return None
    g.current_session = info
    return info


def admit(info: SessionInfo | None, roles: Sequence[str]) -> SessionInfo:
    """401 without a valid session, 403 with the wrong role; else the caller's session."""
    if info is None:
        raise _unauthenticated()
    if info.role not in roles:
        raise ApiError(403, "FORBIDDEN", "没有权限执行此操作")
    g.current_session = info
    return info


def require_session(*roles: str, limits: Sequence[str] = (),
                    web: bool = True) -> Callable[[F], F]:
    """Like require_roles, from the Redis session alone (no database read).

    For the few hot paths that must work at the opening minute and while the database is
    briefly unavailable; disabling an account revokes its sessions, so this stays exact.
    `limits` are counted in the same Redis round trip as the session read.
    """
    web_roles = roles if web else ()

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            admit(read_session(limits, web_roles=web_roles)[0], roles)
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


def web_session() -> bool:
    """Whether this request's caller came with a web session cookie (a PC, the console)."""
    info = g.get("current_session")
    return bool(info is not None and info.web)


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
