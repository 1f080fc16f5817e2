"""电脑端登录 in a browser (the portal's PC pages, with the console's harness): the PC page
shows the mini-program code; the test reads it from the screen as the phone's camera would,
scans and confirms through the API as the phone, and the page lands signed in. A refusal
and an expired code are shown on the page and a new code is one click (or Enter) away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from backend.accounts.models import User
from backend.core.db import db
from tests.conftest import Simulator, bearer
from tests.console._support import PC_LOGIN_PAGE as PAGE
from tests.console._support import Console, scene_on_screen
from tests.console._support import pc_login_phone as phone
from tests.factories import make_authority, make_guardian

Login = Callable[..., dict[str, Any]]


@pytest.fixture()
def county(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The deployment's county (its entry page is `/`)."""
    authority = make_authority(name="示例县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    return authority


@pytest.fixture()
def parent(console: Console, county: Any, login_parent: Login) -> dict[str, Any]:
    """A parent signed in to the mini-program, bound as 李示例."""
    with console.exclusive():
        login = login_parent()
        make_guardian(db.session.get(User, login["user"]["id"]), name="李示例")
        db.session.commit()
    return login


@pytest.mark.slow
def test_a_parent_signs_in_on_the_pc_by_scanning_and_confirming_on_the_phone(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        parent: dict[str, Any], wechat_sim: Simulator) -> None:
    page = office_page
    page.goto(console.url + "/")
    page.get_by_role("link", name="电脑端登录报名").click()
    page.wait_for_url(console.url + "/pc/login")
    status = page.locator("#pc-login-status")
    expect(status).to_have_text("请用微信扫一扫")
    expect(page.locator("#pc-login-countdown")).to_contain_text("秒后过期")
    scene = scene_on_screen(page)
    issued = wechat_sim.get("/sim/wxacodes", page=PAGE)["wxacodes"]
    assert [code["scene"] for code in issued] == [scene]
    # At the office PC's size the code, its state and the steps all fit without scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    for part in ("#pc-qr-image", "#pc-login-status", ".pc-login-help .fairness"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 768, part
    shots(page, "pc-login-pending")

    details = phone(client, console, parent["token"], "scan", scene=scene)
    assert details["browser"].startswith("Chrome") and details["os"] == "Linux"
    assert details["address"] == "127.0.*.*"
    expect(status).to_have_text("已扫码，请在手机上确认登录")
    shots(page, "pc-login-scanned")

    phone(client, console, parent["token"], "confirm", scene=scene, decision="confirm")
    page.wait_for_url(console.url + "/pc/")
    expect(page.locator("#pc-user-name")).to_have_text("李*例")
    shots(page, "pc-signed-in")
    # Back to the sign-in page while signed in: straight on to /pc/.
    page.goto(console.url + "/pc/login")
    page.wait_for_url(console.url + "/pc/")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(console.url + "/pc/login")
    expect(status).to_have_text("请用微信扫一扫")
    page.goto(console.url + "/pc/")
    page.wait_for_url(console.url + "/pc/login")


@pytest.mark.slow
def test_a_refusal_on_the_phone_shows_on_the_pc_and_a_new_code_is_one_click_away(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        parent: dict[str, Any]) -> None:
    page = office_page
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)
    phone(client, console, parent["token"], "scan", scene=scene)
    phone(client, console, parent["token"], "confirm", scene=scene, decision="refuse")

    expect(page.locator("#pc-login-status")).to_have_text("已在手机上拒绝登录")
    refresh = page.locator("#pc-qr-refresh")
    expect(refresh).to_be_visible()
    expect(page.locator("#pc-login-countdown")).to_have_text("")
    shots(page, "pc-login-refused")
    refresh.click()
    expect(page.locator("#pc-login-status")).to_have_text("请用微信扫一扫")
    assert scene_on_screen(page) != scene
    with console.exclusive():
        assert client.get("/api/v1/me").status_code == 401


@pytest.mark.slow
def test_an_expired_code_says_so_and_enter_gets_a_new_one(
        app: Flask, client: FlaskClient, console: Console, office_page: Page, shots: Any,
        parent: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PC_LOGIN_TTL_SECONDS", 3)
    page = office_page
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)

    status = page.locator("#pc-login-status")
    expect(status).to_have_text("二维码已过期，点击刷新", timeout=10_000)
    refresh = page.locator("#pc-qr-refresh")
    expect(refresh).to_be_focused()
    shots(page, "pc-login-expired")
    with console.exclusive():
        late = client.post("/api/v1/auth/pc-login/scan", json={"scene": scene},
                           headers=bearer(parent["token"]))
    assert late.status_code == 410

    monkeypatch.setitem(app.config, "PC_LOGIN_TTL_SECONDS", 120)
    page.keyboard.press("Enter")
    expect(status).to_have_text("请用微信扫一扫")
    assert scene_on_screen(page) != scene
