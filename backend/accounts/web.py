"""Web sessions: HttpOnly cookies, their CSRF tokens and idle timeouts.

Two kinds, one design. The staff console's session (`POST /auth/staff-login` sets it next
to returning the bearer token) and the parent's PC session (set when a sign-in by scanning
the mini-program code is collected, see `pc_login.py`). `backend/core/auth.py` reads the
cookie of the roles a view is open to: a staff cookie never opens a parent-only view and a
parent cookie never a staff one. A mutating request authenticated by a cookie must carry
the session's CSRF token in the `X-CSRF-Token` header (a synchronizer token: it is stored
server-side in the session and rendered into the pages, never into a cookie).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from werkzeug.sansio.response import Response as BaseResponse

from backend.accounts.models import User
from backend.accounts.services import user_for_session
from backend.core.errors import ApiError
from backend.core.sessions import (
    SessionInfo,
    resolve_session,
    revoke_session,
    touch_web_session,
)

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_ROLES = frozenset({"school_staff", "bureau_admin"})
PARENT_ROLES = frozenset({"parent"})


@dataclass(frozen=True)
class CookieKind:
    """One kind of web session cookie: its name, whose it is, how it travels."""

    name: str
    roles: frozenset[str]
    samesite: str
    idle_setting: str


# Lax: a staff member following a link to the console from a notice stays signed in;
# every mutation needs the CSRF header besides, which no other site can send.
STAFF = CookieKind("staff_session", STAFF_ROLES, "Lax", "STAFF_WEB_IDLE_SECONDS")
# Strict: nothing links parents to the PC pages from elsewhere; the browser never sends
# it with a request another site starts.
PARENT = CookieKind("parent_session", PARENT_ROLES, "Strict", "PARENT_WEB_IDLE_SECONDS")
KINDS = (STAFF, PARENT)


def kind_of(role: str) -> CookieKind:
    """The cookie a session of `role` travels in."""
    return STAFF if role in STAFF_ROLES else PARENT


def cookie_secure() -> bool:
    """STAFF_WEB_COOKIE_SECURE (every web cookie): by default on in production (HTTPS only)."""
    return bool(current_app.config["STAFF_WEB_COOKIE_SECURE"])


def cookie_name(kind: CookieKind = STAFF) -> str:
    """`__Host-` when secure: the browser then refuses it without HTTPS, Path=/ and Domain."""
    return f"__Host-{kind.name}" if cookie_secure() else kind.name


def idle_seconds(kind: CookieKind = STAFF) -> int:
    """How long a web session of this kind lives without a request."""
    return int(current_app.config[kind.idle_setting])


def set_session_cookie(response: BaseResponse, token: str, kind: CookieKind = STAFF) -> None:
    """Attach the session cookie: a browser-session cookie (no Max-Age), never readable by JS."""
    response.set_cookie(cookie_name(kind), token, httponly=True, secure=cookie_secure(),
                        samesite=kind.samesite, path="/")


def clear_session_cookie(response: BaseResponse, kind: CookieKind = STAFF) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(cookie_name(kind), path="/", secure=cookie_secure(), httponly=True,
                           samesite=kind.samesite)


def session_token(kind: CookieKind = STAFF) -> str | None:
    """The session token in the request's cookie of this kind, if any."""
    return request.cookies.get(cookie_name(kind)) or None


def _kinds_for(roles: Sequence[str]) -> list[CookieKind]:
    """The cookies a view open to `roles` reads, staff's first."""
    return [kind for kind in KINDS if not kind.roles.isdisjoint(roles)]


def cookie_token(roles: Sequence[str]) -> str | None:
    """The first web session token among the cookies of `roles` (for Redis-only paths)."""
    for kind in _kinds_for(roles):
        token = session_token(kind)
        if token:
            return token
    return None


def check_csrf(info: SessionInfo) -> None:
    """403 CSRF_FAILED unless a mutating request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not info.csrf or not hmac.compare_digest(sent.encode(), info.csrf.encode()):
        raise ApiError(403, "CSRF_FAILED", "页面已过期或来源不明，请刷新页面后重试")


def admit_web_session(info: SessionInfo, roles: Sequence[str], *, csrf: bool = True) -> bool:
    """Whether a web session read from a cookie may open a view of `roles`; checks the
    CSRF token of a mutation (403) and restarts the idle clock."""
    if not info.web or info.role not in roles:
        return False
    if csrf:
        check_csrf(info)
    touch_web_session(info, idle_seconds(kind_of(info.role)))
    return True


def user_for_cookie(roles: Sequence[str] = ("school_staff", "bureau_admin"), *,
                    csrf: bool = True) -> tuple[User | None, SessionInfo | None]:
    """The user of the request's web session for a view of `roles` (CSRF-checked), or
    (None, None). Each use restarts the idle clock."""
    for kind in _kinds_for(roles):
        token = session_token(kind)
        info = resolve_session(token) if token else None
        if info is None or not info.web or info.role not in kind.roles:
            continue
        user, info = user_for_session(info)
        if user is None or info is None or not admit_web_session(info, roles, csrf=csrf):
            continue
        return user, info
    return None, None


def start_browser_session(response: BaseResponse, token: str, kind: CookieKind) -> None:
    """Set a new web session's cookie, first ending (server-side) the sessions this
    browser's cookies hold, so one browser holds one person's session at a time."""
    for held in KINDS:
        old = session_token(held)
        info = resolve_session(old) if old else None
        if info is not None and info.web:
            revoke_session(info)
        if old and held is not kind:
            clear_session_cookie(response, held)
    set_session_cookie(response, token, kind)


def login_response(body: Any, web_token: str | None) -> Any:
    """The login's JSON answer, with the session cookie when one was made."""
    response = current_app.json.response(body)
    if web_token:
        start_browser_session(response, web_token, STAFF)
    return response
