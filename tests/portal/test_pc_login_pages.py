"""The PC sign-in pages over HTTP: linked from the entry page, never framed, cached or
scripted from elsewhere; `/pc/` only with a parent's session (the browser side is
tests/console/test_browser_pc_login.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_authority


@pytest.fixture()
def county(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The deployment's county (its entry page is `/`)."""
    authority = make_authority(name="示例县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    return authority


def test_the_entry_page_links_to_the_pc_sign_in(client: FlaskClient, county: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'href="/pc/login"' in html and "电脑端登录报名" in html


def test_the_sign_in_page_is_never_framed_cached_or_scripted_from_elsewhere(
        client: FlaskClient, county: Any) -> None:
    response = client.get("/pc/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>电脑端登录 - 示例县义务教育入学服务平台</title>" in html
    assert "/portal/static/pc_login.js" in html
    assert "2 分钟内有效" in html and "30 分钟不操作会自动退出" in html
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "https://" not in html  # no CDN at run time


def test_the_signed_in_page_needs_the_parents_session(client: FlaskClient, session: Any) -> None:
    response = client.get("/pc/")
    assert response.status_code == 302 and response.headers["Location"] == "/pc/login"
    script = client.get("/portal/static/pc_home.js")
    assert script.status_code == 200
    script.close()


@pytest.mark.parametrize("path", ["/pc/identity", "/pc/children", "/pc/register",
                                  "/pc/registrations", "/pc/registrations/1", "/pc/onsite",
                                  "/pc/complaints"])
def test_the_journeys_pages_need_the_parents_session_and_are_never_framed(
        client: FlaskClient, session: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/pc/login"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
