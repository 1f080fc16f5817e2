"""Accounts: parents (WeChat) and staff (password), their sessions and their scope."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register with core how a bearer token and the web session cookies become a user."""
    # Imported here, not at the top: importing accounts.models must stay cheap and acyclic.
    from backend.accounts import services, web
    from backend.core import auth

    auth.register_loaders(app, bearer=services.user_for_token, cookie=auth.WebCookie(
        load=web.user_for_cookie, token=web.cookie_token, admit=web.admit_web_session))
