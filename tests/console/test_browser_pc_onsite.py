"""现场确认 and 投诉与申诉 on the PC in a browser (docs/PC.md), with the console's harness:
a family a school registered at the counter (代报名, no phone of its own) claims it from a
WeChat account and signs in on the PC by scanning; it books its admitted child's slot,
cancels it after the page's confirmation, books another, and prints the entry ticket — the
QR read from the screen is the code the school's desk accepts. Then it files a complaint
(the API's error next to the text, a document attached) and reads the bureau's answer.
The database is checked at each step; the pages fit 1366 × 768, a 768-wide tablet and 大字."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from backend.complaints.models import Complaint, ComplaintType
from backend.core.db import db
from backend.onsite.models import OnsiteBooking
from tests.console._support import (
    Console,
    booking_of,
    document_png,
    pc_login_phone,
    scene_on_screen,
)
from tests.onsite._support import add_slot, build_county
from tests.portal.test_pc_onsite_pages import counter_family

pytestmark = pytest.mark.slow

Login = Callable[..., dict[str, Any]]


def qr_on_screen(image: Locator) -> str:
    """What the desk's scanner reads from the ticket's QR as the screen shows it."""
    expect(image).to_be_visible()
    image.page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                                 arg=image.element_handle())
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot())))
    return str(found.text)


def no_sideways_scroll(page: Page, width: int) -> None:
    """The page is no wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_counter_family_books_prints_its_ticket_and_files_a_complaint_on_the_pc(
        client: FlaskClient, console: Console, office_page: Page, shots: Any, session: Any,
        login_parent: Login, login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    page = office_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with console.exclusive():
        county = build_county(login_staff)
        family = counter_family(client, county, login_parent, booked=False)
        first = add_slot(county, county.school_a, starts_in=dt.timedelta(days=1),
                         capacity=5, place="学校一楼报到处")
        second = add_slot(county, county.school_a, starts_in=dt.timedelta(days=1, hours=2),
                          capacity=5, place="学校二楼会议室")
        db.session.commit()
        first_id, second_id = first.id, second.id
    token = family.parent["token"]

    # The claimed account is bound (the counter's binding): scan and confirm, no phone step.
    page.goto(console.url + "/pc/login")
    scene = scene_on_screen(page)
    scanned = pc_login_phone(client, console, token, "scan", scene=scene)
    assert scanned["identity_bound"] is True
    pc_login_phone(client, console, token, "confirm", scene=scene, decision="confirm")
    page.wait_for_url(console.url + "/pc/")
    expect(page.locator("#pc-user-name")).to_have_text("李*例")

    # 现场确认: the admitted child (masked) and the school's two slots.
    page.get_by_role("link", name="现场确认").first.click()
    page.wait_for_url(console.url + "/pc/onsite")
    card = page.locator(f".pc-onsite-card[data-registration-id='{family.registration_id}']")
    expect(card.locator("h2")).to_contain_text("示例甲小学")
    expect(card.locator("h2")).to_contain_text("*")
    slots = card.locator(".pc-slot")
    expect(slots).to_have_count(2)
    expect(slots.first).to_contain_text("学校一楼报到处")
    expect(slots.first).to_contain_text("剩余 5 / 5 个名额")
    no_sideways_scroll(page, 1366)
    shots(page, "pc-onsite-slots", full_page=True)

    # Book the first: the page asks first; 返回 books nothing.
    card.locator(f".pc-slot[data-slot-id='{first_id}'] button").click()
    confirm = page.locator("#pc-onsite-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("学校一楼报到处")
    confirm.get_by_role("button", name="返回").click()
    expect(confirm).to_be_hidden()
    with console.exclusive():
        assert booking_of(family.registration_id) is None
    card.locator(f".pc-slot[data-slot-id='{first_id}'] button").click()
    confirm.get_by_role("button", name="确定预约").click()
    ticket = page.locator("#pc-entry-ticket")
    expect(ticket).to_be_visible()
    expect(page.locator("#pc-entry-place")).to_have_text("学校一楼报到处")
    with console.exclusive():
        booked = booking_of(family.registration_id)
        assert booked is not None and booked.slot_id == first_id
        assert booked.booked_by_role == "parent"
        first_booking = booked.id
    code_node = page.locator("#pc-entry-code")
    expect(code_node).to_contain_text(f"T1-{first_booking}-")
    old_code = code_node.text_content()
    assert qr_on_screen(page.locator("#pc-entry-qr")) == old_code

    # Cancel it (after the confirmation): the place goes back.
    page.get_by_role("button", name="返回预约列表").click()
    expect(card.locator(".pc-onsite-booked")).to_contain_text("已预约")
    card.get_by_role("button", name="取消预约").click()
    expect(confirm).to_contain_text("名额让给其他家庭")
    confirm.get_by_role("button", name="确定取消").click()
    expect(card.locator(".pc-onsite-booked")).to_have_count(0)
    with console.exclusive():
        assert booking_of(family.registration_id) is None
        assert db.session.scalar(select(OnsiteBooking.id).where(
            OnsiteBooking.id == first_booking)) is None

    # Book the second and print the ticket: only the ticket, a large QR, the code.
    card.locator(f".pc-slot[data-slot-id='{second_id}'] button").click()
    confirm.get_by_role("button", name="确定预约").click()
    expect(page.locator("#pc-entry-place")).to_have_text("学校二楼会议室")
    expect(page.locator("#pc-entry-school")).to_have_text("示例甲小学")
    expect(page.locator("#pc-entry-child")).to_contain_text("*")
    with console.exclusive():
        booked = booking_of(family.registration_id)
        assert booked is not None and booked.slot_id == second_id
        second_booking = booked.id
    code = code_node.text_content() or ""
    assert code.startswith(f"T1-{second_booking}-") and code != old_code
    no_sideways_scroll(page, 1366)
    shots(page, "pc-onsite-ticket")
    page.emulate_media(media="print")
    expect(page.locator(".pc-nav")).to_be_hidden()
    expect(page.locator(".masthead")).to_be_hidden()
    expect(page.locator("#pc-onsite-list")).to_be_hidden()
    expect(page.get_by_role("button", name="打印入场凭证")).to_be_hidden()
    expect(ticket).to_be_visible()
    expect(code_node).to_be_visible()
    assert page.locator("#pc-entry-qr").bounding_box()["width"] >= 300  # type: ignore[index]
    printed = qr_on_screen(page.locator("#pc-entry-qr"))
    shots(page, "pc-onsite-ticket-print", full_page=True)
    page.emulate_media(media="screen")
    assert printed == code

    # The desk scans the printed QR: school A's staff check the child in with it.
    with console.exclusive():
        checked = client.post("/api/v1/staff/checkins", json={"code": printed},
                              headers=county.auth("a"))
        assert checked.status_code == 201, checked.get_json()
        assert checked.get_json()["registration_id"] == family.registration_id
        checked_in = booking_of(family.registration_id)
        assert checked_in is not None and checked_in.checked_in_at is not None
    page.reload()
    expect(card.locator(".pc-onsite-booked")).to_contain_text("已完成现场确认")
    expect(card.get_by_role("button", name="取消预约")).to_have_count(0)

    # 大字 and a 768-wide tablet: nothing runs off to the side.
    page.get_by_role("button", name="大字").click()
    expect(page.locator("html")).to_have_class("pc-large")
    page.set_viewport_size({"width": 768, "height": 1024})
    no_sideways_scroll(page, 768)
    card.get_by_role("button", name="查看并打印入场凭证").click()
    expect(page.locator("#pc-entry-used")).to_be_visible()
    expect(page.locator("#pc-entry-qr")).to_be_hidden()
    no_sideways_scroll(page, 768)

    # 投诉与申诉: too short a text is refused next to the field; then filed with a document.
    page.get_by_role("link", name="投诉与申诉").click()
    page.wait_for_url(console.url + "/pc/complaints")
    expect(page.locator("#pc-complaints-empty")).to_be_visible()
    page.get_by_role("button", name="我要投诉 / 申诉").click()
    form = page.locator("#pc-complaint-form")
    form.get_by_label("申诉（对审核或录取结果有异议）").check()
    registration_option = form.locator("select[name=registration_id] option").nth(1)
    expect(registration_option).to_contain_text(f"报名编号 {family.registration_id}")
    expect(registration_option).to_contain_text("*")
    form.locator("select[name=registration_id]").select_option(str(family.registration_id))
    expect(page.locator("#pc-complaint-school")).to_be_hidden()
    form.get_by_label("情况说明").fill("太短")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(form.locator("textarea[name=text] ~ .field-error, label:has(textarea) .field-error")
           ).to_be_visible()
    with console.exclusive():
        assert db.session.scalar(select(Complaint).where(
            Complaint.user_id == family.parent["user"]["id"])) is None
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "notice.png", "mimeType": "image/png",
                "buffer": document_png("录取通知")}])
    expect(form.locator("#pc-complaint-files .pc-upload-state")).to_have_text("已上传")
    text = "现场确认时间与孩子入学体检时间冲突，申请调整到下午的时段。"
    form.get_by_label("情况说明").fill(text)
    no_sideways_scroll(page, 768)
    page.get_by_role("button", name="提交", exact=True).click()
    detail = page.locator("#pc-complaint-detail")
    expect(detail).to_be_visible()
    expect(page.locator("#pc-complaint-status")).to_have_text("已提交")
    expect(page.locator("#pc-complaint-text")).to_have_text(text)
    expect(page.locator("#pc-complaint-answer")).to_have_text("正在处理，请耐心等待。")
    with console.exclusive():
        [complaint] = db.session.scalars(select(Complaint).where(
            Complaint.user_id == family.parent["user"]["id"])).all()
        assert complaint.type is ComplaintType.APPEAL
        assert complaint.registration_id == family.registration_id
        assert complaint.school_id == county.school_a.id
        assert complaint.text == text and len(complaint.attachments) == 1
        complaint_id = complaint.id
    expect(detail.locator("#pc-complaint-attachments a")).to_have_count(1)
    page.get_by_role("button", name="返回列表").click()
    row = page.locator(f".pc-complaint[data-complaint-id='{complaint_id}']")
    expect(row).to_contain_text("申诉 · 示例甲小学")
    expect(row).to_contain_text("已提交")
    shots(page, "pc-complaints")

    # The bureau answers; the family reads it on the PC.
    with console.exclusive():
        answered = client.post(f"/api/v1/admin/complaints/{complaint_id}/answer",
                               json={"answer": "已协调学校，可改约下午时段。"},
                               headers=county.auth("bureau"))
        assert answered.status_code == 200, answered.get_json()
    page.reload()
    row.get_by_role("button").click()
    expect(page.locator("#pc-complaint-status")).to_have_text("已答复")
    expect(page.locator("#pc-complaint-answer")).to_contain_text("已协调学校，可改约下午时段。")
    expect(page.locator("#pc-complaint-history li")).to_have_count(2)
    no_sideways_scroll(page, 768)
    assert errors == []
