"""On-site check-in and class assignment in the console, in a real browser: school staff set
up slots, a family books through the API, staff book another family, check one in by typing
its code, see the other among the no-shows; then the class assignment is committed, drawn,
its balance read, one placement corrected by the bureau with a reason, and the downloaded
evidence passes scripts/verify_classes. What the pages show is checked against the database.

Screenshots of the main views go to docs/console-onsite-*.png (1366 × 768) when the docs'
pictures are refreshed: UPDATE_DOCS_SCREENSHOTS=1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import func, select, update

from backend.accounts.models import User
from backend.admission.models import Offer, OfferStatus
from backend.classes.models import (
    AssignmentStatus,
    ClassAssignment,
    ClassCorrection,
    ClassPlacement,
)
from backend.core.db import db, utcnow
from backend.onsite import tickets
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from backend.registrations.models import Registration
from backend.schools.models import SeatPlan
from tests.classes._support import verify_file
from tests.conftest import bearer
from tests.console._support import (
    DOCS,
    UPDATE_DOCS,
    Console,
    County,
    add_child,
    booking_of,
    build_county,
    check_in,
    commit_classes,
    download,
    draw_classes,
    entry_code,
    expect_class_balance,
    submit_slot,
)
from tests.console.test_browser_overview import sign_in
from tests.factories import STAFF_PASSWORD
from tests.onsite._support import add_slot, admit

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

LOCAL = dt.timezone(dt.timedelta(hours=8))
COHORT = 16  # children who checked in at an earlier slot, besides the two families


def doc_shot(page: Page, name: str) -> None:
    """A screenshot for docs/CONSOLE.md (without the toasts of earlier steps), taken when the
    docs' pictures are being refreshed (UPDATE_DOCS_SCREENSHOTS=1)."""
    if UPDATE_DOCS:
        page.evaluate("() => document.querySelectorAll('.toast').forEach(t => t.remove())")
        page.screenshot(path=str(DOCS / f"console-onsite-{name}.png"))


def _family(county: County, login_parent: Any, **kwargs: Any) -> tuple[str, Registration]:
    """A signed-in parent whose child holds a confirmed offer at school A."""
    body = login_parent()
    child = add_child(county, county.villages[0], user=db.session.get(User, body["user"]["id"]),
                      **kwargs)
    return body["token"], admit(county, child, county.school_a)  # type: ignore[arg-type]


def _checked_in_cohort(county: County) -> list[Registration]:
    """Children admitted to school A who came to an earlier slot and were checked in."""
    early = add_slot(county, county.school_a, starts_in=-dt.timedelta(hours=5),  # type: ignore[arg-type]
                     capacity=COHORT, place="学校礼堂")
    staff = county.users["a"]
    cohort = []
    for n in range(COHORT):
        child = add_child(county, county.villages[n % 3],
                          categories=["disability"] if n % 7 == 3 else [])
        registration = admit(county, child, county.school_a)  # type: ignore[arg-type]
        db.session.add(OnsiteBooking(
            registration_id=registration.id, slot_id=early.id, school_id=county.school_a.id,
            season_id=county.season.id, nonce=tickets.new_nonce(),
            booked_by_user_id=child.guardian.user_id, booked_by_role="parent",
            checked_in_at=early.starts_at + dt.timedelta(minutes=5 + n),
            checked_in_by_user_id=staff.id, off_slot=False))
        cohort.append(registration)
    early.booked = COHORT
    db.session.flush()
    return cohort


def test_a_school_runs_check_in_and_classes_from_the_console(
        client: FlaskClient, console: Console, office: BrowserContext, session: Any,
        login_parent: Any, offices: Callable[[], BrowserContext], tmp_path: Path) -> None:
    with console.exclusive():
        county = build_county(scale=0.2)
        plan = db.session.scalar(select(SeatPlan).where(
            SeatPlan.school_id == county.school_a.id, SeatPlan.season_id == county.season.id))
        assert plan is not None
        plan.classes, plan.class_size = 2, 20
        county.users["a"].display_name = "王老师"
        cohort = _checked_in_cohort(county)
        self_token, self_booked = _family(county, login_parent)
        staff_token, staff_booked = _family(county, login_parent)
        db.session.commit()
        self_id, staff_id = self_booked.id, staff_booked.id

    page = office.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, console, county.username("a"), "/console/admission/onsite")

    # --- slots: create, refuse a bad one next to its field, edit, delete -----------------
    page.get_by_role("tab", name="报到时段").click()
    tomorrow = (utcnow().astimezone(LOCAL) + dt.timedelta(days=1)).date().isoformat()

    def new_slot(start: str, end: str, place: str, capacity: int) -> None:
        submit_slot(page, tomorrow, start, end, place, capacity)

    new_slot("10:00", "09:00", "学校一楼报到处", 5)
    expect(page.locator(".modal .field-error")).to_have_text("结束时间须晚于开始时间")
    expect(page.locator(".modal input[name=end] ~ .field-error")).to_be_visible()
    page.click(".modal .modal-foot button:has-text('取消')")
    new_slot("09:00", "10:00", "学校一楼报到处", 5)
    expect(page.locator(".modal")).to_have_count(0)
    new_slot("10:00", "11:00", "学校二楼会议室", 3)
    expect(page.locator("#table tbody tr")).to_have_count(3)  # with the cohort's earlier slot
    with console.exclusive():
        slots = {s.place: s for s in db.session.scalars(select(OnsiteSlot).where(
            OnsiteSlot.school_id == county.school_a.id))}
        first, second = slots["学校一楼报到处"], slots["学校二楼会议室"]
        assert first.starts_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") == f"{tomorrow} 09:00"
        assert (first.capacity, second.capacity) == (5, 3)
        first_id, second_id = first.id, second.id

    page.get_by_test_id(f"edit-{second_id}").click()
    page.fill(".modal input[name=capacity]", "4")
    page.fill(".modal input[name=place]", "学校图书室")
    page.click(".modal button[type=submit]")
    expect(page.locator(f"#table tr[data-id='{second_id}']")).to_contain_text("学校图书室")
    with console.exclusive():
        edited = db.session.get(OnsiteSlot, second_id, populate_existing=True)
        assert edited is not None and (edited.capacity, edited.place) == (4, "学校图书室")
    page.get_by_test_id(f"delete-{second_id}").click()
    expect(page.locator(".modal")).to_contain_text("删除后不能恢复")
    page.click(".modal button[type=submit]")
    expect(page.locator(f"#table tr[data-id='{second_id}']")).to_have_count(0)
    with console.exclusive():
        assert db.session.get(OnsiteSlot, second_id, populate_existing=True) is None

    # --- a family books through the API; staff book the other family ------------------------
    with console.exclusive():
        booked = client.post("/api/v1/onsite/bookings", headers=bearer(self_token),
                             json={"registration_id": self_id, "slot_id": first_id})
        assert booked.status_code == 201, booked.get_json()
    page.get_by_test_id(f"delete-{first_id}").click()
    page.click(".modal button[type=submit]")
    expect(page.locator(".modal .form-error")).to_have_text("该时段已有家庭预约，不能删除")
    page.keyboard.press("Escape")
    doc_shot(page, "slots")

    page.get_by_role("tab", name="代家长预约").click()
    page.select_option("#admitted-filters select[name=booked]", "false")
    page.click("#admitted-filters button[type=submit]")
    expect(page.locator("#admitted-summary")).to_have_text("共 1 人")
    page.get_by_test_id(f"book-{staff_id}").click()
    expect(page.locator(".modal select[name=slot_id] option")).to_have_count(1)
    page.click(".modal button[type=submit]")
    expect(page.locator(".modal")).to_have_count(0)
    page.select_option("#admitted-filters select[name=booked]", "")
    page.click("#admitted-filters button[type=submit]")
    expect(page.locator(f"#admitted-table tr:has([data-testid=book-{staff_id}])")).to_contain_text(
        "学校代约")
    with console.exclusive():
        by_staff = booking_of(staff_id)
        assert by_staff is not None and by_staff.slot_id == first_id
        assert by_staff.booked_by_role == "school_staff"
        assert by_staff.booked_by_user_id == county.users["a"].id
        listed = db.session.scalar(select(func.count()).where(
            Offer.school_id == county.school_a.id, Offer.status == OfferStatus.CONFIRMED))
    assert listed == COHORT + 2
    expect(page.locator("#admitted-summary")).to_have_text(f"共 {listed} 人")
    doc_shot(page, "booking")

    page.get_by_role("tab", name="报到时段").click()
    page.get_by_test_id(f"roster-{first_id}").click()
    expect(page.locator("#drawer-body tbody tr")).to_have_count(2)
    expect(page.locator("#drawer-body")).to_contain_text("家长自约")
    expect(page.locator("#drawer-body")).to_contain_text("学校代约")
    page.keyboard.press("Escape")

    # --- check in the staff-booked family by typing its code -------------------------------
    with console.exclusive():
        code = entry_code(client, staff_token, by_staff.id)
        # The slot's morning has come: the family is at the desk.
        started = utcnow() - dt.timedelta(minutes=10)
        db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == first_id).values(
            starts_at=started, ends_at=started + dt.timedelta(hours=1)))
        db.session.commit()
    page.get_by_role("tab", name="扫码报到").click()
    expect(page.locator("#scan")).to_be_focused()
    expect(page.get_by_test_id("camera-status")).to_contain_text("扫码枪或手工输入")
    check_in(page, code, staff_id)
    expect(page.get_by_test_id("checkin-warning")).to_have_count(0)  # within its slot
    doc_shot(page, "checkin")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("checkin-error")).to_contain_text("凭证已使用")
    expect(page.get_by_test_id("checkin-error")).to_contain_text("由 王老师")
    page.keyboard.type("T1-1-AAAAAAAA-BBBBBBBBBBBBBBBB")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("checkin-error")).to_contain_text("凭证无效")
    with console.exclusive():
        came = booking_of(staff_id)
        assert came is not None and came.checked_in_at is not None
        assert came.checked_in_by_user_id == county.users["a"].id
        missing = booking_of(self_id)
        assert missing is not None and missing.checked_in_at is None
        # The slot is over: the family that booked itself never came.
        ended = utcnow() - dt.timedelta(hours=2)
        db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == first_id).values(
            starts_at=ended, ends_at=ended + dt.timedelta(hours=1)))
        db.session.commit()

    page.get_by_role("tab", name="未到场名单").click()
    group = page.get_by_test_id(f"noshow-slot-{first_id}")
    expect(group).to_contain_text("已预约 2 · 已报到 1 · 未到场 1")
    expect(group.locator("tbody tr")).to_have_count(1)
    expect(group.locator("tbody tr")).to_contain_text(str(self_id))
    expect(page.locator("#noshow-summary")).to_have_text("共 1 户未到场")
    doc_shot(page, "noshows")

    # --- classes: commit the checked-in children, draw, read the balance ---------------------
    page.goto(console.url + "/console/admission/classes")
    commit_classes(page, "次日中国福利彩票“3D”开奖号码（示例）")
    with console.exclusive():
        assignment = db.session.scalar(select(ClassAssignment).where(
            ClassAssignment.school_id == county.school_a.id))
        assert assignment is not None and assignment.pupil_count == COHORT + 1
        assert set(assignment.members.values()) == {r.id for r in cohort} | {staff_id}
        assignment_id, commitment = assignment.id, assignment.commitment
    expect(page.get_by_test_id("detail-pupils")).to_have_text(f"{COHORT + 1} 人")
    expect(page.get_by_test_id("detail-commitment")).to_have_text(commitment)

    draw_classes(page, "3 8 1")
    with console.exclusive():
        expect_class_balance(page, assignment_id, 2)
    expect(page.locator("#pupil-summary")).to_have_text(f"共 {COHORT + 1} 人")
    assert page.get_by_test_id(f"correct-{staff_id}").count() == 0  # school staff: no correction
    page.locator("#balance-card").scroll_into_view_if_needed()
    doc_shot(page, "classes")

    # --- the bureau corrects one placement, with a reason ----------------------------------
    bureau = offices()
    admin = bureau.new_page()
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(admin, console, county.username("bureau"),
            f"/console/admission/classes?school={county.school_a.code}")
    expect(admin.get_by_test_id("detail-status")).to_have_text("已公布")
    admin.fill("#pupil-filters input[name=q]", str(staff_id))
    admin.click("#pupil-filters button[type=submit]")
    expect(admin.locator("#pupils tbody tr")).to_have_count(1)
    with console.exclusive():
        placement = db.session.scalar(select(ClassPlacement).where(
            ClassPlacement.registration_id == staff_id))
        assert placement is not None
        drawn = placement.class_no
    assert drawn in (1, 2)
    target = 3 - drawn
    admin.get_by_test_id(f"correct-{staff_id}").click()
    expect(admin.locator(".modal")).to_contain_text("不能撤销")
    admin.click(".modal button[type=submit]")  # no reason chosen
    expect(admin.locator(".modal select[name=reason_code] ~ .field-error")).to_have_text(
        "请选择更正原因")
    admin.select_option(".modal select[name=reason_code]", "data_error")
    expect(admin.locator(".modal .field-error")).to_have_count(0)
    admin.select_option(".modal select[name=to_class]", str(target))
    admin.fill(".modal textarea[name=note]", "出生日期录入有误，经核对户口簿更正")
    doc_shot(admin, "correction")
    admin.click(".modal button[type=submit]")
    expect(admin.locator(".modal")).to_have_count(0)
    expect(admin.get_by_test_id(f"class-of-{staff_id}")).to_contain_text(f"一年级{target}班")
    expect(admin.get_by_test_id(f"class-of-{staff_id}")).to_contain_text("已更正")
    expect(admin.locator("#corrections tbody tr")).to_have_count(1)
    expect(admin.locator("#corrections tbody tr")).to_contain_text("性别、出生日期等信息有误")
    with console.exclusive():
        correction = db.session.scalar(select(ClassCorrection).where(
            ClassCorrection.assignment_id == assignment_id))
        assert correction is not None and correction.reason_code == "data_error"
        assert (correction.from_class, correction.to_class) == (drawn, target)
        assert correction.corrected_by_user_id == county.users["bureau"].id
        moved = db.session.get(ClassPlacement, placement.id, populate_existing=True)
        assert moved is not None and moved.class_no == target
        published = db.session.get(ClassAssignment, assignment_id, populate_existing=True)
        assert published is not None and published.status is AssignmentStatus.PUBLISHED

    # --- the evidence, downloaded and checked by the published script ---------------------
    admin.locator("#detail").scroll_into_view_if_needed()
    expect(admin.get_by_test_id("evidence-note")).to_contain_text("scripts/verify_classes")
    path = download(admin, "evidence-download", tmp_path)
    assert path.name == f"class-evidence-{county.school_a.code}-{assignment_id}.json"
    verified = verify_file(path, "--commitment", commitment)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout and "1 audited correction" in verified.stdout
    assert errors == []


# A camera that "sees" whatever code the test holds up, for a browser that has
# BarcodeDetector (Chrome on Android, macOS, ChromeOS); Linux Chromium has none.
FAKE_CAMERA = """
window.__codes = [];
window.__deny = false;
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code", "code_128"]); }
  constructor(options) { this.formats = options.formats; }
  detect(source) {
    const code = window.__codes.shift();
    return Promise.resolve(code ? [{ rawValue: code, format: "qr_code" }] : []);
  }
};
navigator.mediaDevices.getUserMedia = function () {
  if (window.__deny) return Promise.reject(new DOMException("denied", "NotAllowedError"));
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 240;
  canvas.getContext("2d").fillRect(0, 0, 320, 240);
  return Promise.resolve(canvas.captureStream(5));
};
"""


def test_the_desk_checks_a_family_in_with_the_camera_where_the_browser_reads_qr_codes(
        client: FlaskClient, console: Console, office: BrowserContext, session: Any,
        login_parent: Any, login_staff: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.2)
        token, registration = _family(county, login_parent)
        slot = add_slot(county, county.school_a,  # type: ignore[arg-type]
                        starts_in=-dt.timedelta(minutes=10), place="学校一楼报到处")
        db.session.commit()
        booked = client.post("/api/v1/onsite/bookings", headers=bearer(token),
                             json={"registration_id": registration.id, "slot_id": slot.id})
        assert booked.status_code == 409  # a family books before the slot starts …
        staff = login_staff(county.username("a"), STAFF_PASSWORD)
        assigned = client.post("/api/v1/staff/onsite/bookings", headers=bearer(staff["token"]),
                               json={"registration_id": registration.id, "slot_id": slot.id})
        assert assigned.status_code == 201, assigned.get_json()  # … staff until it ends
        code = entry_code(client, token, assigned.get_json()["id"])

    office.add_init_script(FAKE_CAMERA)
    page = office.new_page()
    sign_in(page, console, county.username("a"), "/console/admission/onsite")
    page.evaluate("window.__deny = true")
    page.get_by_role("button", name="使用摄像头扫码").click()
    expect(page.get_by_test_id("camera-status")).to_contain_text("未获得摄像头权限")
    expect(page.locator("#camera-video")).to_be_hidden()

    page.evaluate("window.__deny = false")
    page.get_by_role("button", name="使用摄像头扫码").click()
    expect(page.get_by_test_id("camera-status")).to_contain_text("摄像头已打开")
    expect(page.locator("#camera-video")).to_be_visible()
    page.evaluate("code => window.__codes.push(code, code, code)", code)
    expect(page.get_by_test_id("checkin-ok")).to_contain_text(f"报名编号 {registration.id}")
    expect(page.get_by_test_id("checked-in-" + str(slot.id))).to_have_text("1")
    # The same code held up for a few frames is checked in once, not refused as used.
    page.wait_for_function("() => window.__codes.length === 0")
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("checkin-ok")).to_be_visible()
    expect(page.get_by_test_id("checkin-error")).to_have_count(0)
    with console.exclusive():
        booking = booking_of(registration.id)
        assert booking is not None and booking.checked_in_at is not None
    page.get_by_role("button", name="关闭摄像头").click()
    expect(page.locator("#camera-video")).to_be_hidden()
