"""The staff web session: an HttpOnly cookie, its CSRF token and its idle timeout.

`POST /auth/staff-login` sets the cookie next to returning the bearer token; the console's
pages and the staff APIs they call authenticate with it (backend/core/auth.py accepts it for
staff views only). A mutating request authenticated by the cookie must carry the session's
CSRF token in the `X-CSRF-Token` header (a synchronizer token: it is stored server-side
in the session and rendered into the console's pages, never into a cookie).
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, request
from werkzeug.sansio.response import Response as BaseResponse

from backend.accounts.models import User
from backend.accounts.services import user_for_session
from backend.core.errors import ApiError
from backend.core.sessions import SessionInfo, resolve_session, touch_web_session

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_ROLES = frozenset({"school_staff", "bureau_admin"})


def cookie_secure() -> bool:
    """STAFF_WEB_COOKIE_SECURE: by default on in production (HTTPS only)."""
    return bool(current_app.config["STAFF_WEB_COOKIE_SECURE"])


def cookie_name() -> str:
    """`__Host-` when secure: the browser then refuses it without HTTPS, Path=/ and Domain."""
    return "__Host-staff_session" if cookie_secure() else "staff_session"


def idle_seconds() -> int:
    """How long a web session lives without a request."""
    return int(current_app.config["STAFF_WEB_IDLE_SECONDS"])


def set_session_cookie(response: BaseResponse, token: str) -> None:
    """Attach the session cookie: a browser-session cookie (no Max-Age), never readable by JS."""
    # Lax, not Strict: a staff member following a link to the console from a notice stays
    # signed in; every mutation needs the CSRF header besides, which no other site can send.
    response.set_cookie(cookie_name(), token, httponly=True, secure=cookie_secure(),
                        samesite="Lax", path="/")


def clear_session_cookie(response: BaseResponse) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(cookie_name(), path="/", secure=cookie_secure(), httponly=True,
                           samesite="Lax")


def session_token() -> str | None:
    """The session token in the request's cookie, if any."""
    return request.cookies.get(cookie_name()) or None


def check_csrf(info: SessionInfo) -> None:
    """403 CSRF_FAILED unless a mutating request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not info.csrf or not hmac.compare_digest(sent.encode(), info.csrf.encode()):
        raise ApiError(403, "CSRF_FAILED", "页面已过期或来源不明，请刷新页面后重试")


def user_for_cookie(*, csrf: bool = True) -> tuple[User | None, SessionInfo | None]:
    """The staff user of the request's web session (CSRF-checked), or (None, None).

    Each use restarts the idle clock, so a session ends after `idle_seconds()` unused.
    """
    token = session_token()
    info = resolve_session(token) if token else None
    if info is None or not info.web or info.role not in STAFF_ROLES:
        return None, None
    user, info = user_for_session(info)
    if user is None or info is None:
        return None, None
    if csrf:
        check_csrf(info)
    touch_web_session(info, idle_seconds())
    return user, info


def login_response(body: Any, web_token: str | None) -> Any:
    """The login's JSON answer, with the session cookie when one was made."""
    response = current_app.json.response(body)
    if web_token:
        set_session_cookie(response, web_token)
    return response
