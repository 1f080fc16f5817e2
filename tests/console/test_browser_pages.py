"""The other console pages in a real browser: publishing an announcement with WeChat's content
check, downloading exports, and every page of both roles loading without a script error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from backend.accounts.models import User
from backend.console.nav import visible_sections
from backend.core.db import db
from tests.conftest import FULL_ID_NUMBER, Simulator, bearer
from tests.console._support import Console, add_child, build_county
from tests.console.test_browser_overview import sign_in
from tests.onsite._support import add_slot, admit

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

CHECKER_OPENID = "o-console-content-checker"


def test_a_bureau_admin_publishes_an_announcement_after_the_content_check(
        app: Flask, client: FlaskClient, console: Console, page: Page, shots: Any,
        wechat_sim: Simulator, monkeypatch: pytest.MonkeyPatch, session: Any) -> None:
    # The bureau's own WeChat account, seen by WeChat lately, checks every text.
    wechat_sim.login_code(CHECKER_OPENID)
    monkeypatch.setitem(app.config, "CONTENT_CHECK_OPENID", CHECKER_OPENID)
    with console.exclusive():
        county = build_county(scale=0.2)
    sign_in(page, console, county.username("bureau"), "/console/announcements")

    page.get_by_test_id("new-announcement").click()
    page.select_option(".modal select[name=school_code]", "")
    page.select_option(".modal select[name=category]", "process")
    page.fill(".modal input[name=title]", "关于一年级网上报名时间的通知")
    page.fill(".modal textarea[name=body]",
              "报名时间为8月5日8:00至8月9日18:00，报名先后不影响录取，请家长合理安排时间。")
    page.click(".modal button[type=submit]")
    expect(page.get_by_test_id("detail-status")).to_have_text("草稿")

    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("detail-status")).to_have_text("已发布")
    expect(page.get_by_test_id("content-check")).to_contain_text("检测通过")
    shots(page, "announcement-published")

    published = client.get(f"/api/v1/announcements?authority={county.authority.code}")
    titles = [a["title"] for a in published.get_json()["items"]]
    assert titles == ["关于一年级网上报名时间的通知"]


def sheet_rows(download: Any, folder: Path) -> list[tuple[Any, ...]]:
    """The rows of the downloaded workbook's 报名名单 sheet, header first."""
    path = folder / download.suggested_filename  # openpyxl goes by the extension
    download.save_as(path)
    workbook = load_workbook(path, read_only=True)
    try:
        return list(workbook["报名名单"].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_exports_download_masked_for_a_school_and_full_for_the_bureau(
        console: Console, page: Page, shots: Any, session: Any, browser: Any,
        tmp_path: Path) -> None:
    with console.exclusive():
        county = build_county(scale=0.3)
        own = [r for r in county.registrations if r.school_id == county.school_a.id]
    sign_in(page, console, county.username("a"), "/console/exports")
    expect(page.locator("#export-count")).to_have_text(f"符合条件 {len(own)} 条")
    assert page.get_by_test_id("export-full").count() == 0
    shots(page, "exports-school")
    with page.expect_download() as info:
        page.get_by_test_id("export-masked").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    rows = sheet_rows(download, tmp_path)
    assert len(rows) == 1 + len(own)
    ids = sorted(int(row[0]) for row in rows[1:])
    assert ids == sorted(r.id for r in own)
    assert not any(FULL_ID_NUMBER.search(str(cell)) for row in rows for cell in row if cell)

    bureau = browser.new_context(accept_downloads=True, locale="zh-CN")
    try:
        admin_page = bureau.new_page()
        sign_in(admin_page, console, county.username("bureau"), "/console/exports")
        admin_page.select_option("select[name=school]", county.school_b.code)
        admin_page.click("#filters button[type=submit]")
        admin_page.get_by_test_id("export-full").click()
        with admin_page.expect_download() as full_info:
            admin_page.click(".modal button[type=submit]")
        full_rows = sheet_rows(full_info.value, tmp_path)
        expected = [r for r in county.registrations if r.school_id == county.school_b.id]
        assert len(full_rows) == 1 + len(expected)
        assert any(FULL_ID_NUMBER.search(str(cell)) for row in full_rows[1:] for cell in row
                   if cell)
    finally:
        bureau.close()


@pytest.mark.parametrize("who", ["a", "bureau"])
def test_every_page_loads_without_a_script_error(
        console: Console, page: Page, shots: Any, session: Any, who: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with console.exclusive():
        county = build_county(scale=0.3)
    sign_in(page, console, county.username(who))
    role = "school_staff" if who == "a" else "bureau_admin"
    links = page.locator("nav.menu a.menu-item")
    entries = [entry for section in visible_sections(role) for entry in section.pages]
    titles = [entry.title for entry in entries]
    assert links.all_inner_texts() == titles
    for n, title in enumerate(titles):
        page.locator("nav.menu a.menu-item").nth(n).click()
        expect(page.locator(".menu-item.active")).to_have_text(title)
        page.wait_for_load_state("networkidle")
        expect(page.locator(".page-head h1")).to_be_visible()
        shots(page, f"{n + 1:02d}-{entries[n].endpoint.split('.')[1]}")
    assert errors == []

    page.click("#logout")
    page.wait_for_url(f"{console.url}/console/login")
    page.goto(f"{console.url}/console/")
    expect(page.locator("#login-form")).to_be_visible()


def test_a_scanner_checks_a_family_in_on_site(
        client: FlaskClient, console: Console, page: Page, shots: Any, session: Any,
        login_parent: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.2)
        body = login_parent()
        child = add_child(county, county.villages[0], user=db.session.get(User, body["user"]["id"]))
        registration = admit(county, child, county.school_a)  # type: ignore[arg-type]
        slot = add_slot(county, county.school_a,  # type: ignore[arg-type]
                        starts_in=dt.timedelta(hours=1), place="学校一楼报到处")
        db.session.commit()
        booked = client.post("/api/v1/onsite/bookings", headers=bearer(body["token"]),
                             json={"registration_id": registration.id, "slot_id": slot.id})
        assert booked.status_code == 201, booked.get_json()
        ticket = client.get(f"/api/v1/onsite/bookings/{booked.get_json()['id']}/ticket",
                            headers=bearer(body["token"])).get_json()
        # The family's slot has begun: they are at the gate.
        slot.starts_at -= dt.timedelta(hours=1, minutes=10)
        slot.ends_at -= dt.timedelta(hours=1, minutes=10)
        db.session.commit()

    sign_in(page, console, county.username("a"), "/console/admission/onsite")
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type(ticket["code"])  # a USB scanner types the code, then Enter
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("checkin-ok")).to_contain_text(str(registration.id))
    expect(page.locator("#scan")).to_be_focused()
    expect(page.get_by_test_id(f"checked-in-{slot.id}")).to_have_text("1")
    shots(page, "onsite-checked-in")

    page.keyboard.type(ticket["code"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("checkin-error")).to_be_visible()
