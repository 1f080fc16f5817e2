"""代报名 in a real browser: a school clerk enters a family without a smartphone in four
steps (an ID number the API refuses shown next to its field), scans the 户口簿, confirms the
documents were checked, sees the ticket accepted and the printable claim slip; the family
then claims it from WeChat and the list shows it claimed, to the school and to the bureau."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.core.db import db
from backend.identity.consent import CONSENT_VERSION
from backend.registrations.models import Registration
from tests.conftest import bearer
from tests.console._support import (
    Console,
    counter_child,
    counter_guardian,
    counter_scan,
    counter_slip,
    document_png,
    picture,
)
from tests.console.test_browser_overview import sign_in
from tests.proxy._support import build_county, child_number, drain, guardian_number

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow


def test_a_clerk_enters_a_family_prints_the_slip_and_the_family_claims_it(
        client: FlaskClient, console: Console, office_page: Page, shots: Any, session: Any,
        tmp_path: Path, login_staff: Callable[[str, str], dict[str, Any]],
        login_parent: Callable[..., dict[str, Any]]) -> None:
    page = office_page
    with console.exclusive():
        county = build_county(login_staff)
        db.session.commit()
        guardian_id, child_id = guardian_number(), child_number(county.season)
    scan = tmp_path / "hukou.png"
    scan.write_bytes(document_png())
    sign_in(page, console, county.usernames["a"], "/console/proxy")
    expect(page.get_by_test_id("proxy-list")).to_contain_text("还没有代报名记录")

    # 1. The guardian, with a typo in the ID number's check digit.
    page.get_by_test_id("next").click()  # nothing typed: refused at the fields
    expect(page.get_by_test_id("error-guardian.name")).to_be_visible()
    wrong = guardian_id[:-1] + ("0" if guardian_id[-1] != "0" else "1")
    counter_guardian(page, "李示例", "grandparent", wrong, "13900000017")
    page.get_by_test_id("next").click()

    # 2. The child, living where it is registered.
    counter_child(page, "李小示", child_id, "示例镇", "示例村")
    shots(page, "form-child")
    page.get_by_test_id("next").click()

    # 3. The school is the clerk's own; hukou needs the 户口簿, scanned at the counter.
    counter_scan(page, scan)
    page.get_by_test_id("next").click()

    # 4. Not without the documents checked; then the API refuses the guardian's number and
    # the form goes back to it, the message next to the field.
    expect(page.get_by_test_id("summary")).to_contain_text("李小示")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-documents_checked")).to_be_visible()
    expect(page.get_by_test_id("error-guardian_consent_given")).to_be_visible()
    # The consent text the guardian agrees to is the one the mini-program shows.
    expect(page.get_by_test_id("consent-text")).to_contain_text("第三十一条")
    expect(page.get_by_test_id("consent-version")).to_contain_text(CONSENT_VERSION)
    page.get_by_test_id("documents-checked").check()
    page.get_by_test_id("guardian-consent-given").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-guardian.id_number")).to_contain_text("校验位")
    expect(page.get_by_test_id("guardian-id-number")).to_be_focused()
    shots(page, "field-error")
    with console.exclusive():
        assert db.session.scalar(select(Registration.id)) is None
    page.get_by_test_id("guardian-id-number").fill(guardian_id)
    for _step in range(3):
        page.get_by_test_id("next").click()
    expect(page.get_by_test_id("documents-checked")).to_be_checked()
    expect(page.get_by_test_id("guardian-consent-given")).to_be_checked()
    page.get_by_test_id("submit").click()

    # The ticket is followed until the worker has written the registration.
    expect(page.get_by_test_id("ticket-state")).to_contain_text("排队受理中")
    with console.exclusive():
        drain()
        registration = db.session.scalar(select(Registration))
        assert registration is not None
        assert registration.entered_by_user_id == county.user_ids["a"]
        assert registration.child.consent.channel.value == "counter"
        registration_id = registration.id
    code = counter_slip(page, registration_id, "示例甲小学")
    picture(page, shots, "slip", "console-proxy-registration")
    # Printing shows the slip alone.
    page.emulate_media(media="print")
    expect(page.locator(".sider")).to_be_hidden()
    page.emulate_media(media="screen")

    # The family claims it from WeChat; the list says so.
    with console.exclusive():
        parent = login_parent()
        claimed = client.post("/api/v1/me/claims", json={"code": code},
                              headers=bearer(parent["token"]))
        assert claimed.status_code == 200, claimed.get_json()
        mine = client.get("/api/v1/registrations", headers=bearer(parent["token"])).get_json()
        assert [r["id"] for r in mine["items"]] == [registration_id]
    page.get_by_test_id("next-family").click()
    page.locator("#list-filters button[type=submit]").click()
    expect(page.get_by_test_id(f"claim-state-{registration_id}")).to_have_text("已认领")
    expect(page.get_by_test_id(f"reissue-{registration_id}")).to_have_count(0)
    expect(page.get_by_test_id("guardian-name")).to_have_value("")

    # The bureau sees the county's entries, by school, and chooses the school to enter at.
    page.context.clear_cookies()
    sign_in(page, console, county.usernames["bureau"], "/console/proxy")
    expect(page.get_by_test_id("proxy-list")).to_contain_text("示例甲小学")
    expect(page.get_by_test_id(f"claim-state-{registration_id}")).to_have_text("已认领")
    expect(page.get_by_test_id("school")).to_be_attached()
