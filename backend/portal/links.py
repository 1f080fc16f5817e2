"""The links a QR code carries: one printed code opens the mini-program in WeChat (扫普通链接二维码
打开小程序, configured for the `/mp/` prefix) and the same page on a PC browser."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from flask import current_app, has_app_context, has_request_context, request

# A school or authority code that fits WeChat's 32-character scene as "s=<code>".
CODE_PATTERN = re.compile(r"^[0-9A-Za-z_-]{1,30}$")
# The page both kinds of code open; it reads options.scene / options.q (utils/qr.js).
MINIPROGRAM_PAGE = "pages/home/home"


def public_base_url() -> str:
    """PUBLIC_BASE_URL (the registered HTTPS domain), else the address of this request."""
    configured = ""
    if has_app_context():
        configured = str(current_app.config.get("PUBLIC_BASE_URL") or "")
    configured = configured or os.environ.get("PUBLIC_BASE_URL", "")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return "http://127.0.0.1:8000"


def school_link(code: str, base_url: str | None = None) -> str:
    """The link a school's poster carries: `<base>/mp/s/<code>`."""
    return f"{(base_url or public_base_url()).rstrip('/')}/mp/s/{quote(code, safe='')}"


def county_link(authority_code: str | None, base_url: str | None = None) -> str:
    """The county poster's link: `<base>/mp/`, or `<base>/mp/a/<code>` for another authority."""
    base = (base_url or public_base_url()).rstrip("/")
    return f"{base}/mp/a/{quote(authority_code, safe='')}" if authority_code else f"{base}/mp/"


def school_scene(code: str) -> str:
    """The mini-program code's scene for a school (≤ 32 visible characters)."""
    return f"s={code}"


def authority_scene(code: str) -> str:
    """The mini-program code's scene for a county poster."""
    return f"a={code}"
