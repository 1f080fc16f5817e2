"""A registration's own page on a PC in a browser (docs/PC.md), with the console's harness:
a registration the school returned is fixed on the PC with a new document and goes back to
review; after the lottery a seat offer is declined-then-kept and confirmed in the dialog that
says what follows, and the result page shows it, printable. The database is checked at each
step; the pages fit an office PC (1366 × 768) and a tablet (768 wide) in 大字 mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend.accounts.models import User
from backend.admission.models import Offer, OfferStatus
from backend.admission.services import pseudonym
from backend.core.db import db, utcnow
from backend.registrations import facts
from backend.registrations.models import Registration, RegistrationStatus
from backend.uploads.models import Upload, UploadKind
from tests.admission import _support as admission
from tests.conftest import bearer
from tests.console._support import (
    Console,
    document_png,
    drain_until,
    pc_login_phone,
    scene_on_screen,
)
from tests.reviews import _support as reviews

Login = Callable[..., dict[str, Any]]
StaffLogin = Callable[[str, str], dict[str, Any]]


def sign_in_on_the_pc(page: Page, client: FlaskClient, console: Console, token: str) -> None:
    """The PC's code scanned and confirmed by the parent's phone; the PC lands on /pc/."""
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)
    pc_login_phone(client, console, token, "scan", scene=scene)
    pc_login_phone(client, console, token, "confirm", scene=scene, decision="confirm")
    page.wait_for_url(console.url + "/pc/")


def fits(page: Page, width: int) -> None:
    """Nothing runs off to the side at this width (else: what does)."""
    wide = page.evaluate("""width => Array.from(document.querySelectorAll('body *'))
        .filter(n => n.getBoundingClientRect().right > width || n.scrollWidth > n.clientWidth + 1)
        .map(n => n.tagName + '#' + n.id + '.' + n.className).slice(0, 8)""", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


@pytest.mark.slow
def test_a_returned_registration_is_fixed_on_the_pc_and_goes_back_to_review(
        app: Flask, client: FlaskClient, console: Console, office_page: Page, shots: Any,
        session: Any, login_staff: StaffLogin, login_parent: Login,
        monkeypatch: pytest.MonkeyPatch) -> None:
    page = office_page
    with console.exclusive():
        county = reviews.build_county(login_staff)
        monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", county.authority.code)
        family = reviews.make_family(client, login_parent, county, name="李小明")
        facts.refresh_children([family.child_id])
        blurry = reviews.upload(client, family)
        registration_id = reviews.submit(client, family, county.school_a, [blurry])
        seen = reviews.detail(client, county, "a", registration_id).get_json()
        deadline = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
        returned = reviews.review(client, county, "a", registration_id, decision="return",
                                  reason_code="PHOTO_BLURRY", note="请重新拍摄户口簿首页",
                                  fix_deadline=deadline.isoformat(),
                                  expected_status="submitted", expected_version=seen["version"])
        assert returned.status_code == 200, returned.get_json()
        db.session.commit()
    local_deadline = deadline.astimezone(dt.timezone(dt.timedelta(hours=8)))

    sign_in_on_the_pc(page, client, console, family.token)
    expect(page.locator("#pc-link-registrations").locator("xpath=..")).not_to_contain_text(
        "小程序中办理")
    page.get_by_role("link", name="我的报名").first.click()
    card = page.locator(f"[data-registration-id='{registration_id}']")
    expect(card.locator(".pc-registration-status")).to_have_text("退回修改")
    card.get_by_role("link", name="修改材料并重新提交").click()
    page.wait_for_url(f"{console.url}/pc/registrations/{registration_id}")

    # The reason and the deadline; the document given before is kept until replaced.
    expect(page.locator("#pc-registration-title")).to_have_text("示例甲小学　李*明")
    expect(page.locator("#pc-fix-reason")).to_have_text("照片模糊，无法辨认：请重新拍摄户口簿首页")
    expect(page.locator("#pc-fix-deadline")).to_contain_text(
        local_deadline.strftime("%Y-%m-%d %H:%M"))
    slot = page.locator("#pc-fix-document-list .pc-document").first
    expect(slot).to_contain_text("户口簿")
    expect(slot.locator(".pc-upload-state")).to_have_text("已交（原材料）")
    expect(page.locator("#pc-withdraw")).to_be_hidden()
    fits(page, 1366)
    shots(page, "pc-fix", full_page=True)

    # 居住地 needs a second document: asked for next to it before anything is sent; with a
    # rental record the API refuses the basis (no residence address): said next to the basis.
    form = page.locator("#pc-fix-form")
    form.get_by_label("报名依据").select_option("residence")
    slots = page.locator("#pc-fix-document-list .pc-document")
    # 户口簿, 房产证 or 租房, and the birth certificate (optional, as in the mini-program).
    expect(slots).to_have_count(3)
    expect(slots.nth(2)).to_contain_text("（选填）")
    expect(slots.first.locator(".pc-upload-state")).to_have_text("已交（原材料）")
    page.get_by_role("button", name="重新提交").click()
    expect(slots.nth(1).locator(".field-error")).to_have_text("请上传这份材料")
    slots.nth(1).locator("select").select_option("rental_record")
    slots.nth(1).locator("input[type=file]").set_input_files(
        files=[{"name": "rent.png", "mimeType": "image/png", "buffer": document_png("租房合同")}])
    expect(slots.nth(1).locator(".pc-upload-state")).to_have_text("已上传新材料")
    page.get_by_role("button", name="重新提交").click()
    expect(form.locator("label:has(select[name=basis]) .field-error")).to_have_text(
        "按居住地报名，请先在儿童信息中填写实际居住地址")
    with console.exclusive():
        db.session.expire_all()
        assert db.session.get(Registration, registration_id).status is RegistrationStatus.RETURNED

    # Back to 户籍, the clear photo uploaded from the PC, and sent.
    form.get_by_label("报名依据").select_option("hukou")
    expect(slots).to_have_count(2)
    slot = slots.first
    slot.locator("input[type=file]").set_input_files(
        files=[{"name": "hukou-clear.png", "mimeType": "image/png", "buffer": document_png()}])
    expect(slot.locator(".pc-upload-state")).to_have_text("已上传新材料")
    with console.exclusive():
        clear = db.session.scalars(select(Upload).where(
            Upload.owner_user_id == family.user_id, Upload.id != blurry,
            Upload.kind == UploadKind.HUKOU_BOOK)).one()
    page.get_by_role("button", name="重新提交").click()
    expect(page.locator("#pc-ticket-state")).to_have_text("正在受理，请稍候…")
    drain_until(page, console, "#pc-ticket-state", "已重新提交")
    expect(page.locator("#pc-registration-status")).to_have_text("已受理")
    expect(page.locator("#pc-fix")).to_be_hidden()
    expect(page.locator("#pc-registration-timeline li").last).to_contain_text("已受理")
    with console.exclusive():
        db.session.expire_all()
        registration = db.session.get(Registration, registration_id)
        assert registration.status is RegistrationStatus.SUBMITTED
        assert registration.fix_deadline is None
        assert [u.id for u in registration.uploads] == [clear.id]
        assert registration.events[-1].reason_code == "EDITED"
        assert registration.events[-1].actor_role == "parent"
        staff_view = reviews.detail(client, county, "a", registration_id).get_json()
        assert staff_view["status"] == "submitted"

    # Back in review and the window open: 撤回报名 asks first; 取消 changes nothing.
    page.reload()
    withdraw = page.get_by_role("button", name="撤回报名")
    expect(withdraw).to_be_visible()
    withdraw.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("撤回后本次报名作废，报名时间内可以重新报名。确定撤回吗？")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    with console.exclusive():
        db.session.expire_all()
        assert db.session.get(Registration, registration_id).status is RegistrationStatus.SUBMITTED
    withdraw.click()
    dialog.get_by_role("button", name="确定撤回").click()
    expect(page.locator("#pc-registration-status")).to_have_text("已撤回")
    expect(withdraw).to_be_hidden()
    with console.exclusive():
        db.session.expire_all()
        assert db.session.get(Registration, registration_id).status is RegistrationStatus.WITHDRAWN


@pytest.mark.slow
def test_an_offer_is_confirmed_on_the_pc_and_the_result_page_shows_it(
        app: Flask, client: FlaskClient, console: Console, browser: Browser, shots: Any,
        session: Any, login_staff: StaffLogin, login_parent: Login,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with console.exclusive():
        county = admission.build_county(login_staff)
        monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", county.authority.code)
        login = login_parent()
        parent = db.session.get(User, login["user"]["id"])
        ours = admission.applicant(county, county.school_a, user=parent, name="王小华",
                                   hukou=county.village_out, categories=["police_hero_child"])
        for _ in range(8):
            admission.applicant(county, county.school_a)
        drawn = admission.frozen_and_drawn(client, county, county.school_a)
        db.session.commit()
        [offer] = [o for o in admission.offers_of() if o.registration_id == ours.id]
        assert offer.status is OfferStatus.OFFERED
    lottery_id = drawn["id"]

    # At a tablet's width, in 大字 mode.
    tablet = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN",
                                 timezone_id="Asia/Shanghai")
    tablet.set_default_timeout(15_000)
    try:
        page = tablet.new_page()
        sign_in_on_the_pc(page, client, console, login["token"])
        page.get_by_role("button", name="大字").click()
        expect(page.locator("html")).to_have_class("pc-large")
        page.get_by_role("link", name="我的报名").first.click()
        card = page.locator(f"[data-registration-id='{ours.id}']")
        expect(card.locator(".pc-offer-line")).to_contain_text("示例甲小学　待确认")
        fits(page, 768)
        card.get_by_role("link", name="查看录取结果").click()
        page.wait_for_url(f"{console.url}/pc/registrations/{ours.id}")

        result = page.locator("#pc-result")
        expect(result).to_be_visible()
        expect(page.locator("#pc-registration-title")).to_have_text("示例甲小学　王*华")
        expect(page.locator("#pc-pseudonym")).to_have_text(
            pseudonym(county.season.id, ours.child_id))
        lottery = page.locator(f"[data-lottery-id='{lottery_id}']")
        expect(lottery.locator(".pc-lottery-outcome")).to_have_text("示例甲小学：录取")
        lottery.get_by_text("查看派位过程与证据").click()
        expect(lottery.locator(".pc-evidence")).to_contain_text(drawn["commitment"])
        evidence = lottery.get_by_role("link", name="下载证据文件")
        assert evidence.get_attribute("href") == f"/api/v1/lotteries/{lottery_id}/evidence.json"
        expect(page.locator("#pc-class")).to_have_text("分班结果尚未公布。")
        card = page.locator(f"[data-offer-id='{offer.id}']")
        expect(card.locator(".pc-offer-status")).to_have_text("待确认")
        fits(page, 768)
        shots(page, "pc-result-offered", full_page=True)

        # 放弃学位 says that the seat goes to the waitlist and cannot be undone; kept.
        card.get_by_role("button", name="放弃学位").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(
            "放弃后，该学位将依次递补给候补家庭，不能撤回。确定放弃示例甲小学的学位吗？")
        fits(page, 768)
        dialog.get_by_role("button", name="取消").click()
        expect(dialog).to_be_hidden()

        card.get_by_role("button", name="确认入学").click()
        expect(dialog).to_contain_text("确认在示例甲小学入学吗？")
        shots(page, "pc-result-confirm-dialog")
        dialog.get_by_role("button", name="确认入学").click()
        expect(card.locator(".pc-offer-status")).to_have_text("已确认")
        expect(card.get_by_role("button", name="确认入学")).to_have_count(0)
        expect(card).to_contain_text("已确认入学")
        with console.exclusive():
            db.session.expire_all()
            confirmed = db.session.get(Offer, offer.id)
            assert confirmed.status is OfferStatus.CONFIRMED
            assert confirmed.decided_at is not None

        # The family prints the result: no navigation, no buttons, the result kept.
        page.emulate_media(media="print")
        expect(page.locator(".pc-nav")).to_be_hidden()
        expect(page.get_by_role("button", name="退出学位")).to_be_hidden()
        expect(result).to_be_visible()
        expect(card.locator(".pc-offer-status")).to_have_text("已确认")
        page.emulate_media(media="screen")
    finally:
        tablet.close()

    # The mini-program sees the same answer (one API).
    with console.exclusive():
        mine = client.get("/api/v1/offers", headers=bearer(login["token"])).get_json()
    assert [(o["id"], o["status"]) for o in mine["items"]] == [(offer.id, "confirmed")]
