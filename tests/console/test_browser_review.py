"""Reviewing in a real browser: the queue, the document viewer, the audited reveal, a return
with reason and deadline that reaches the family through WeChat, and school scoping."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core import pii
from backend.core.db import db
from backend.registrations.models import Registration, RegistrationStatus
from tests.conftest import Simulator, bearer
from tests.console._support import Console, County, add_child, build_county, document_png
from tests.console.test_browser_overview import sign_in
from tests.notices._support import make_sender, messages, register_sim_templates
from tests.reviews._support import Family, submit

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

Login = Callable[..., dict[str, Any]]


def family_registration(client: FlaskClient, login_parent: Login, wechat_sim: Simulator,
                        county: County) -> tuple[int, str, str]:
    """A parent registers a child at school A through the intake with a photo of the
    household register, and allows the correction notice; (registration id, openid, ID)."""
    openid = f"o-console-{uuid.uuid4().hex[:12]}"
    body = login_parent(openid)
    user = db.session.get(User, body["user"]["id"])
    child = add_child(county, county.villages[0], user=user)
    db.session.commit()
    family = Family(token=body["token"], user_id=user.id if user else 0, child_id=child.id)
    uploaded = client.post("/api/v1/uploads", headers=bearer(family.token), data={
        "kind": "hukou_book", "file": (io.BytesIO(document_png()), "hukou.png")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    registration_id = submit(client, family, county.school_a, [uploaded.get_json()["upload_id"]])
    register_sim_templates(wechat_sim)
    allowed = client.post("/api/v1/me/subscriptions", headers=bearer(family.token),
                          json={"results": {"correction_requested": "accept"}})
    assert allowed.status_code == 200
    wechat_sim.post("/sim/subscribe", openid=openid, template_id="TPL_CORRECTION")
    return registration_id, openid, pii.decrypt(child.id_number_enc or "", "child.id_number")


def test_a_school_reviewer_returns_a_registration_and_the_family_is_told(
        app: Flask, client: FlaskClient, console: Console, page: Page, shots: Any,
        login_parent: Login, wechat_sim: Simulator, session: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.5)
        registration_id, openid, full_id = family_registration(
            client, login_parent, wechat_sim, county)

    sign_in(page, console, county.username("a"), "/console/reviews")
    expect(page.locator("#list-summary")).to_contain_text("报名先后不影响录取")
    shots(page, "review-queue")

    # Find it by its number, open it: masked data, the document in the viewer.
    page.fill("input[name=q]", str(registration_id))
    page.click("#filters button[type=submit]")
    page.get_by_test_id(f"row-{registration_id}").click()
    detail = page.get_by_test_id("detail")
    expect(detail).to_have_attribute("data-id", str(registration_id))
    masked_id = page.get_by_test_id("child-id").inner_text()
    assert "*" in masked_id and full_id not in page.content()
    image = page.get_by_test_id("document-image")
    expect(image).to_be_visible()
    page.get_by_title("放大").click()
    page.get_by_title("向右旋转").click()
    assert "rotate(90deg)" in (image.get_attribute("style") or "")
    assert page.evaluate("document.querySelector('[data-testid=document-image]').naturalWidth") \
        == 900
    page.get_by_title("复位").click()
    page.wait_for_timeout(400)  # the transform's transition
    page.get_by_test_id("viewer-stage").scroll_into_view_if_needed()
    shots(page, "review-document")

    # The audited reveal shows the full ID number, once, with a reason.
    page.get_by_test_id("reveal").click()
    page.fill("textarea[name=reason]", "核对户口簿与证件号码是否一致")
    page.click(".modal button[type=submit]")
    expect(page.get_by_test_id("reveal-child-id")).to_have_text(full_id)
    shots(page, "review-detail")

    # Return for correction, from the keyboard: R, a reason, Ctrl+Enter.
    page.locator("#drawer-title").click()
    page.keyboard.press("r")
    page.get_by_test_id("reason").select_option("PHOTO_BLURRY")
    page.get_by_test_id("note").fill("请重新拍摄户口簿首页")
    expect(page.get_by_test_id("deadline")).not_to_have_value("")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".toast.success")).to_contain_text("已退回修改")

    with console.exclusive():
        db.session.expire_all()
        registration = db.session.get(Registration, registration_id)
        assert registration is not None
        assert registration.status is RegistrationStatus.RETURNED
        assert registration.fix_deadline is not None
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_user_id == county.users["a"].id)))
        # The audit job runs in the worker; the reveal is written in the request itself.
        assert "child.reveal" in actions
        sender, _clock = make_sender(app)
        sender.run_once()
    [notice] = [m for m in messages(wechat_sim, openid) if m["template_id"] == "TPL_CORRECTION"]
    assert "照片模糊" in str(notice["data"]) and "请重新拍摄" in str(notice["data"])
    assert notice["page"] == f"pages/registrations/detail?id={registration_id}"


def test_keyboard_moves_through_the_queue(console: Console, page: Page, session: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.3)
        mine = sorted(r.id for r in county.registrations if r.school_id == county.school_a.id)
    sign_in(page, console, county.username("a"), "/console/reviews")
    page.get_by_test_id(f"row-{mine[0]}").click()
    expect(page.get_by_test_id("detail")).to_have_attribute("data-id", str(mine[0]))
    page.locator("#drawer-title").click()
    page.keyboard.press("j")
    expect(page.get_by_test_id("detail")).to_have_attribute("data-id", str(mine[1]))
    page.keyboard.press("k")
    expect(page.get_by_test_id("detail")).to_have_attribute("data-id", str(mine[0]))
    page.keyboard.press("Escape")
    expect(page.locator("#drawer")).to_be_hidden()


def test_a_school_reviewer_cannot_reach_another_schools_data(
        console: Console, page: Page, shots: Any, session: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.3)
        other = next(r for r in county.registrations if r.school_id == county.school_b.id)
        own = [r for r in county.registrations if r.school_id == county.school_a.id]
    sign_in(page, console, county.username("a"), "/console/reviews")

    # The queue holds the reviewer's school only, and offers no school filter.
    expect(page.locator("#list-summary")).to_contain_text(f"共 {len(own)} 条")
    assert page.locator("select[name=school]").count() == 0
    listed = page.request.get(f"{console.url}/api/v1/staff/registrations?per_page=100").json()
    assert {item["school"]["code"] for item in listed["items"]} == {county.school_a.code}
    shown = page.locator("#table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert set(shown) <= {str(r.id) for r in own}

    # Another school's registration: the same 404 as a missing one, in the page and the API.
    page.goto(f"{console.url}/console/reviews/{other.id}")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    shots(page, "other-school-404")
    api = page.request.get(f"{console.url}/api/v1/staff/registrations/{other.id}")
    assert api.status == 404 and api.json()["error"]["code"] == "REGISTRATION_NOT_FOUND"
    searched = page.request.get(f"{console.url}/api/v1/staff/registrations?q={other.id}")
    assert searched.json()["total"] == 0
    bureau_only = page.request.get(f"{console.url}/console/settings/accounts")
    assert bureau_only.status == 404
    # A mutation from outside the page (no CSRF token) is refused even with the cookie.
    forged = page.request.post(
        f"{console.url}/api/v1/staff/registrations/{own[0].id}/review",
        data={"decision": "approve", "expected_status": "submitted"})
    assert forged.status == 403 and forged.json()["error"]["code"] == "CSRF_FAILED"
