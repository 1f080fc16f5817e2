"""The console's browser tests: a county with live-looking data, the app on a loopback port
(one request at a time: every request shares the test's one database connection) and
headless Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import Role, User
from backend.audit.models import AuditEvent
from backend.classes.models import ClassPlacement
from backend.core import pii
from backend.core.db import db, utcnow
from backend.core.jobs import JOBS, dead_letter_key
from backend.core.redis import redis_store
from backend.core.timeutil import zone
from backend.identity.models import Child, DocumentType, Guardian, Relation, Sex
from backend.onsite.models import OnsiteBooking
from backend.registrations.models import (
    INACTIVE_STATUSES,
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
)
from backend.schools.models import Region, RegionLevel, School, SchoolType
from backend.seasons.models import Season
from backend.worker.consumer import Worker, WorkerSettings
from tests.conftest import LiveServer, bearer
from tests.factories import (
    STAFF_PASSWORD,
    consent_for,
    make_authority,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)
from tests.proxy._support import drain

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DOCS = Path(__file__).resolve().parents[2] / "docs"
# The docs' pictures are refreshed only when asked: UPDATE_DOCS_SCREENSHOTS=1 pytest …
UPDATE_DOCS = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"


class SerializedApp:
    """The app as a WSGI callable that serves one request at a time.

    The test's data lives in one uncommitted transaction on one connection; every request
    (and the test itself, through `lock`) takes turns on it, as the test client does.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.RLock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


@dataclass
class Console:
    """The app served on loopback for the browser."""

    url: str
    lock: threading.RLock

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Use the database from the test while no request is being served."""
        with self.lock:
            yield


@contextmanager
def serve(app: Flask) -> Iterator[Console]:
    """Serve the app on a loopback port for the length of the block."""
    wrapped = SerializedApp(app)
    with LiveServer(wrapped) as server:  # type: ignore[arg-type]
        yield Console(url=server.url.rstrip("/"), lock=wrapped.lock)


def web_login(client: FlaskClient, username: str, page: str = "/console/") -> str:
    """Sign in as the console's login page does; the CSRF token `page` carries."""
    response = client.post("/api/v1/auth/staff-login", json={
        "username": username, "password": STAFF_PASSWORD, "web_session": True})
    assert response.status_code == 200, response.get_json()
    opened = client.get(page)
    assert opened.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', opened.get_data(as_text=True))
    assert match
    return match.group(1)


def web_console(app: Flask, username: str) -> tuple[FlaskClient, str]:
    """A browser of its own, signed in to the console: the client and the page's CSRF token."""
    web = app.test_client()
    return web, web_login(web, username)


def audited(action: str, **where: Any) -> int:
    """How many audit rows of `action` (with these column values) the database holds."""
    stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return db.session.scalar(stmt) or 0


# --- the county ---------------------------------------------------------------------------

SCHOOLS = (
    # name, type, plan (classes, class size), active registrations, inactive ones
    ("临泉镇第一小学（示例）", SchoolType.PUBLIC, (1, 40), 44, 3),
    ("临泉镇第二小学（示例）", SchoolType.PUBLIC, (1, 40), 34, 2),
    ("白文镇中心小学（示例）", SchoolType.PUBLIC, (2, 40), 30, 1),
    ("城庄镇中心小学（示例）", SchoolType.PUBLIC, (1, 30), 16, 1),
    ("明德实验学校（民办·示例）", SchoolType.PRIVATE, (1, 30), 25, 2),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "子涵浩然梓萱一诺欣怡宇轩雨桐思源俊熙若曦嘉怡明轩"
# status mix of the active registrations, repeated
ACTIVE_MIX = (RegistrationStatus.SUBMITTED,) * 5 + (
    RegistrationStatus.UNDER_REVIEW, RegistrationStatus.APPROVED, RegistrationStatus.APPROVED,
    RegistrationStatus.RETURNED, RegistrationStatus.BUREAU_REVIEW)
CATEGORY_MIX = ([], [], [], [], ["migrant"], [], [], ["disability"], [], ["military_child"],
                [], ["migrant"], [], [], ["overseas_chinese"])


@dataclass
class County:
    """One authority, its season, schools (first two: A and B), staff and registrations."""

    authority: Any
    season: Season
    towns: list[Region]
    villages: list[Region]
    schools: list[School]
    users: dict[str, User] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)

    @property
    def school_a(self) -> School:
        return self.schools[0]

    @property
    def school_b(self) -> School:
        return self.schools[1]

    def username(self, who: str) -> str:
        """Username of 'a' (school A's reviewer), 'b' or 'bureau'."""
        return str(self.users[who].username)


def _staff(authority: Any, who: str, display_name: str, school: School | None) -> User:
    return make_staff(authority, school=school, username=f"console-{who}-{uuid.uuid4().hex[:8]}",
                      display_name=display_name)


_sequence = iter(range(1, 10**6))


def _person(n: int) -> tuple[str, str]:
    surname = SURNAMES[n % len(SURNAMES)]
    given = GIVEN[(n * 2) % len(GIVEN)] + GIVEN[(n * 5 + 1) % len(GIVEN)]
    return surname + given, surname + "示例"


def add_child(county: County, village: Region, *, categories: list[str] | None = None,
              residence: Region | None = None, user: User | None = None) -> Child:
    """A guardian (a new parent account unless given) and a child living in `village`."""
    n = next(_sequence)
    child_name, guardian_name = _person(n)
    if user is None:
        user = User(role=Role.PARENT, openid=f"o-console-{uuid.uuid4().hex[:16]}")
        db.session.add(user)
        db.session.flush()
    guardian_id = make_id_number(dt.date(1980, 1, 1) + dt.timedelta(days=n % 5000), 951)
    phone = f"139{n % 100000000:08d}"
    guardian = Guardian(
        user_id=user.id, name=guardian_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(guardian_id, "guardian.id_number"),
        id_number_index=pii.blind_index(guardian_id, "guardian.id_number"),
        relation=Relation.MOTHER if n % 3 else Relation.FATHER,
        phone_enc=pii.encrypt(phone, "guardian.phone"),
        phone_index=pii.blind_index(phone, "guardian.phone"))
    db.session.add(guardian)
    db.session.flush()
    birth = dt.date(utcnow().year - 7, 9, 1) + dt.timedelta(days=(n * 7) % 360)
    number = make_id_number(birth, 901 + (n // 360) % 40 * 2, male=n % 2 == 0)
    child = Child(
        guardian_id=guardian.id, name=child_name, document_type=DocumentType.RESIDENT_ID,
        id_number_enc=pii.encrypt(number, "child.id_number"),
        id_number_index=pii.blind_index(number, "child.id_number"),
        birth_date=birth, sex=Sex.MALE if n % 2 == 0 else Sex.FEMALE,
        hukou_region_id=village.id, categories=categories or [],
        residence_region_id=residence.id if residence else None,
        consent=consent_for(guardian.id))
    db.session.add(child)
    db.session.flush()
    return child


def _created_times(count: int, now: dt.datetime) -> list[dt.datetime]:
    """Times over the open window: a rush on the opening morning, quieter days after."""
    local = now.astimezone(zone())
    opening = (local - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    times = []
    for n in range(count):
        if n % 3 == 0:  # today, the last few hours
            times.append(now - dt.timedelta(minutes=5 + 11 * (n // 3)))
        elif n % 3 == 1:  # the opening morning's rush
            times.append(opening + dt.timedelta(minutes=3 + 4 * (n // 3)))
        else:  # the day after, spread over office hours
            times.append(opening + dt.timedelta(days=1, hours=1, minutes=17 * (n // 3)))
    return [t.astimezone(dt.UTC) for t in times]


def build_county(*, scale: float = 1.0) -> County:
    """The county with its season open, five sample schools and their registrations."""
    now = utcnow()
    authority = make_authority(name="临县教育局（示例）")
    towns = [make_region(authority, name=name) for name in ("临泉镇", "白文镇", "城庄镇")]
    village_names = ("东关村（示例）", "白文村（示例）", "城庄村（示例）", "西关社区（示例）",
                     "南庄村（示例）", "北坡村（示例）")
    villages = [make_region(authority, level=RegionLevel.VILLAGE, parent=town, name=name)
                for town, name in zip(towns * 2, village_names, strict=True)]
    local_now = now.astimezone(zone())
    opens = (local_now - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0,
                                                       microsecond=0).astimezone(dt.UTC)
    season = make_season(authority, year=local_now.year, opens=opens,
                         closes=opens + dt.timedelta(days=5, hours=10),
                         name=f"{local_now.year}年小学一年级招生（示例）")
    schools = []
    for n, (name, kind, plan, _active, _inactive) in enumerate(SCHOOLS):
        town = towns[n % 3]
        school = make_school(authority, zone=[villages[n % 3], villages[3 + n % 3]], name=name,
                             type=kind, town_id=town.id, address=f"{town.name}示例路{n + 1}号")
        make_seat_plan(season, school, classes=plan[0], class_size=plan[1])
        schools.append(school)
    county = County(authority, season, towns, villages, schools)
    county.users = {"a": _staff(authority, "a", "王老师", schools[0]),
                    "b": _staff(authority, "b", "赵老师", schools[1]),
                    "bureau": _staff(authority, "bureau", "刘主任", None)}
    total = sum(int((a + i) * scale) for _n, _t, _p, a, i in SCHOOLS)
    times = iter(_created_times(total, now))
    for n, (_name, _type, _plan, active, inactive) in enumerate(SCHOOLS):
        school = schools[n]
        for k in range(int(active * scale) + int(inactive * scale)):
            status = (ACTIVE_MIX[k % len(ACTIVE_MIX)] if k < int(active * scale)
                      else INACTIVE_STATUSES[k % 2])
            categories = CATEGORY_MIX[(k + n) % len(CATEGORY_MIX)]
            basis = (Basis.RESIDENCE_PERMIT if "migrant" in categories
                     else Basis.RESIDENCE if k % 7 == 3 else Basis.HUKOU)
            home = villages[(n + k) % 6]
            child = add_child(county, home, categories=categories,
                              residence=home if basis is not Basis.HUKOU else None)
            county.registrations.append(add_registration(
                county, child, school, status=status, basis=basis, created_at=next(times)))
    return county


def add_registration(county: County, child: Child, school: School, *,
                     status: RegistrationStatus = RegistrationStatus.SUBMITTED,
                     basis: Basis = Basis.HUKOU, created_at: dt.datetime | None = None,
                     ) -> Registration:
    """A registration written directly, with its first timeline event."""
    at = created_at or utcnow()
    registration = Registration(
        season_id=county.season.id, child_id=child.id, school_id=school.id,
        submitted_by_user_id=child.guardian.user_id, basis=basis, status=status,
        ticket=f"T{uuid.uuid4().hex[:24]}", created_at=at, updated_at=at,
        fix_deadline=at + dt.timedelta(days=3) if status is RegistrationStatus.RETURNED
        else None)
    registration.events.append(RegistrationEvent(
        status=RegistrationStatus.SUBMITTED, actor_user_id=child.guardian.user_id,
        actor_role="parent", occurred_at=at))
    db.session.add(registration)
    db.session.flush()
    return registration


def document_png(title: str = "居民户口簿") -> bytes:
    """A sample document photo: a household-register page marked as sample data."""
    image = Image.new("RGB", (900, 620), (247, 240, 226))
    draw = ImageDraw.Draw(image)
    big = ImageFont.truetype(str(FONT), 44) if FONT.exists() else ImageFont.load_default()
    small = ImageFont.truetype(str(FONT), 26) if FONT.exists() else ImageFont.load_default()
    draw.rectangle((30, 30, 870, 590), outline=(150, 60, 50), width=4)
    draw.text((330, 60), title, fill=(150, 60, 50), font=big)
    rows = ("户主姓名　示例", "户　　号　示例0000", "住　　址　临泉镇东关村（示例）",
            "与户主关系　子", "出生日期　示例", "本页为示例材料，不含真实个人信息")
    for n, text in enumerate(rows):
        y = 160 + n * 66
        draw.line((60, y + 46, 840, y + 46), fill=(200, 170, 150), width=1)
        draw.text((70, y), text, fill=(60, 50, 40), font=small)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def expected_counts(county: County) -> dict[str, Any]:
    """What the overview must show, counted straight from the registrations."""
    rows = list(db.session.scalars(select(Registration).where(
        Registration.season_id == county.season.id)))
    today = utcnow().astimezone(zone()).date()
    per_school = {s.code: {"registrations": 0, "active": 0} for s in county.schools}
    for r in rows:
        counts = per_school[next(s.code for s in county.schools if s.id == r.school_id)]
        counts["registrations"] += 1
        counts["active"] += r.status not in INACTIVE_STATUSES
    return {
        "registrations": len(rows),
        "active": sum(r.status not in INACTIVE_STATUSES for r in rows),
        "today": sum(r.created_at.astimezone(zone()).date() == today for r in rows),
        "pending": sum(r.status in (RegistrationStatus.SUBMITTED, RegistrationStatus.UNDER_REVIEW,
                                    RegistrationStatus.BUREAU_REVIEW) for r in rows),
        "schools": per_school,
    }


# --- steps in the pages, shared by the browser tests ------------------------------------------


def picture(page: Page, shots: Any, name: str, docs_name: str, *, top: bool = False) -> Path:
    """The test's screenshot (without the toasts of earlier steps), also kept as
    docs/<docs_name>.png when the docs' pictures are being refreshed."""
    if top:
        page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.querySelectorAll('.toast').forEach(function (t) { t.remove(); })")
    path: Path = shots(page, name)
    if UPDATE_DOCS:
        shutil.copyfile(path, DOCS / f"{docs_name}.png")
    return path


def confirm(page: Page, says: str) -> None:
    """Read the confirmation dialog (it must say `says`) and confirm."""
    expect(page.get_by_test_id("confirm-text")).to_contain_text(says)
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)


def download(page: Page, testid: str, folder: Path) -> Path:
    """Click the download button `testid`; the file, saved under its suggested name."""
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def submit_slot(page: Page, day: str, start: str, end: str, place: str, capacity: int) -> None:
    """现场报到 › 新增时段: fill the form (a date, Beijing times) and submit it."""
    page.get_by_test_id("new-slot").click()
    page.fill(".modal input[name=date]", day)
    page.fill(".modal input[name=start]", start)
    page.fill(".modal input[name=end]", end)
    page.fill(".modal input[name=place]", place)
    page.fill(".modal input[name=capacity]", str(capacity))
    page.click(".modal button[type=submit]")


def commit_classes(page: Page, public_value_source: str) -> None:
    """均衡分班: freeze the list, naming the public random source; the list is frozen."""
    page.get_by_test_id("commit-classes").click()
    expect(page.locator(".modal")).to_contain_text("不能再登记或撤回同班申请")
    page.fill(".modal input[name=public_value_source]", public_value_source)
    page.click(".modal button[type=submit]")
    expect(page.get_by_test_id("detail-status")).to_have_text("已冻结，待分班")


def draw_classes(page: Page, public_value: str) -> None:
    """均衡分班: enter the public value, read what the draw will do, confirm."""
    page.get_by_test_id("draw").click()
    page.fill(".modal input[name=public_value]", public_value)
    page.click(".modal button[type=submit]")
    expect(page.locator(".modal")).to_contain_text("不能重新分班")
    expect(page.locator(".modal")).to_contain_text(public_value)
    page.click(".modal button[type=submit]")
    expect(page.get_by_test_id("detail-status")).to_have_text("已公布")


def expect_class_balance(page: Page, assignment_id: int, classes: int) -> None:
    """The balance table shows each class's size, boys and girls as the database has them."""
    db.session.expire_all()
    rows = db.session.execute(
        select(ClassPlacement.class_no, Child.sex, func.count())
        .join(Registration, ClassPlacement.registration_id == Registration.id)
        .join(Child, Registration.child_id == Child.id)
        .where(ClassPlacement.assignment_id == assignment_id)
        .group_by(ClassPlacement.class_no, Child.sex)).all()
    expected = {n: {"size": 0, "male": 0, "female": 0} for n in range(1, classes + 1)}
    for class_no, sex, count in rows:
        assert class_no is not None, "every child is placed in a class"
        expected[class_no]["size"] += count
        expected[class_no]["male" if sex is Sex.MALE else "female"] += count
    balance = page.locator("#balance tbody tr")
    expect(balance).to_have_count(classes + 1)  # the classes and the spread
    for n in range(1, classes + 1):
        cells = balance.nth(n - 1).locator("td")
        expect(cells.nth(1)).to_have_text(str(expected[n]["size"]))
        expect(cells.nth(2)).to_have_text(str(expected[n]["male"]))
        expect(cells.nth(3)).to_have_text(str(expected[n]["female"]))
    expect(page.locator("#balance-verdict")).to_contain_text("相差均不超过 1 人")


def entry_code(client: FlaskClient, token: str, booking_id: int) -> str:
    """The code on a family's entry ticket, as the mini-program shows it."""
    response = client.get(f"/api/v1/onsite/bookings/{booking_id}/ticket", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["code"])


def booking_of(registration_id: int) -> OnsiteBooking | None:
    """The registration's on-site booking, read afresh."""
    return db.session.scalar(select(OnsiteBooking).where(
        OnsiteBooking.registration_id == registration_id).execution_options(
        populate_existing=True))


def check_in(page: Page, code: str, registration_id: int) -> None:
    """现场报到 › 扫码报到: type the code and Enter, as a USB scanner does; it is accepted."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("checkin-ok")).to_contain_text(f"报名编号 {registration_id}")
    expect(page.locator("#scan")).to_be_focused()


def expect_laid_out_for_the_screen(page: Page, table: str, one_line: str = "") -> None:
    """The table needs no sideways scrolling, and the cells `one_line` (a selector inside it,
    e.g. names and identifiers) are not broken over two lines."""
    wrap = page.locator(f"{table} .table-wrap")
    expect(wrap).to_be_visible()
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), f"{table} scrolls sideways"
    if one_line:
        broken = wrap.evaluate("""(w, selector) => Array.from(w.querySelectorAll(selector))
          .filter(cell => {
            const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = texts.nextNode(); node; node = texts.nextNode()) {
              const range = document.createRange();
              range.selectNodeContents(node);
              if (range.getClientRects().length > 1) return true;  // one box per line
            }
            return false;
          }).map(cell => cell.textContent)""", one_line)
        assert broken == [], f"broken over two lines in {table}: {broken}"


def look_up(public: Page, id_last4: str, birth_date: str, answer: str) -> None:
    """The public admitted-list page: a family looks itself up and reads `answer`."""
    public.fill("input[name=id_last4]", id_last4)
    public.fill("input[name=birth_date]", birth_date)
    public.click("#lookup-form button")
    expect(public.locator("#lookup-result")).to_have_text(answer)


# --- 招生日程 and 招生计划 (the bureau's season set-up) ------------------------------------------


def create_season_from(page: Page, source: Season, year: int) -> None:
    """招生日程 › 从上一季复制新建: the dialog proposes `source`, the year `year` and the name
    with that year; the draft is created."""
    page.get_by_test_id("new-season").click()
    expect(page.locator(".modal select[name=copy_from_season_id]")).to_have_value(str(source.id))
    expect(page.locator(".modal input[name=year]")).to_have_value(str(year))
    expect(page.locator(".modal input[name=name]")).to_have_value(
        source.name.replace(str(source.year), str(year)))
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)


def save_season(page: Page, *, opens: str | None = None, closes: str | None = None,
                notice: str | None = None) -> None:
    """招生日程: type the window's ends given (Beijing time, YYYY-MM-DDTHH:MM) and the 须知
    given, and save."""
    for testid, value in (("opens-at", opens), ("closes-at", closes), ("notice", notice)):
        if value is not None:
            page.get_by_test_id(testid).fill(value)
    page.get_by_test_id("save-season").click()


def expect_season_saved(page: Page) -> None:
    """招生日程: the settings were saved (no field refused, the page reloaded)."""
    expect(page.get_by_test_id("error-registration_closes_at")).to_have_count(0)
    expect(page.locator(".toast", has_text="设置已保存")).to_be_visible()
    expect(page.get_by_test_id("save-season")).not_to_have_attribute("aria-busy", "true")


def publish_season(page: Page, season_id: int) -> None:
    """招生日程: publish the draft shown, after the confirmation says it cannot go back."""
    page.get_by_test_id("publish").click()
    confirm(page, "发布后不能退回草稿")
    expect(page.get_by_test_id(f"status-{season_id}")).to_have_text("已发布")
    expect(page.get_by_test_id("publish")).to_be_hidden()


def plan_seats(page: Page, code: str, classes: int, class_size: int) -> None:
    """招生计划 › 设置计划: type a school's classes × class size and save."""
    page.get_by_test_id(f"plan-{code}").click()
    page.fill(".modal input[name=classes]", str(classes))
    page.fill(".modal input[name=class_size]", str(class_size))
    page.get_by_test_id("modal-submit").click()


def set_seat_plan(page: Page, code: str, classes: int, class_size: int) -> None:
    """招生计划: a school's plan saved; the row shows its seats."""
    plan_seats(page, code, classes, class_size)
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(page.get_by_test_id(f"seats-{code}")).to_have_text(str(classes * class_size))


def add_priority_tier(page: Page, code: str, label: str, condition: str, value: str) -> None:
    """招生计划 › 优先顺序: open a school's tiers and add one above the fallback, named
    `label`, with one condition (`condition` set to `value`); not saved yet."""
    page.get_by_test_id(f"tiers-{code}").click()
    page.get_by_test_id("add-tier").click()
    new_row = page.locator(".tier-row").nth(-2)
    new_row.locator("input[name$='.label']").fill(label)
    new_row.locator(f"select[name$='.rule.{condition}']").select_option(value)


def save_tiers(page: Page) -> None:
    """招生计划 › 优先顺序: save; the drawer closes."""
    page.get_by_test_id("save-tiers").click()
    expect(page.locator("#drawer")).to_be_hidden()


# --- 代报名 (a family entered at the counter) -----------------------------------------------


def counter_guardian(page: Page, name: str, relation: str, id_number: str,
                     phone: str) -> None:
    """代报名, step 1: type the guardian."""
    page.get_by_test_id("guardian-name").fill(name)
    page.get_by_test_id("guardian-relation").select_option(relation)
    page.get_by_test_id("guardian-id-number").fill(id_number)
    page.get_by_test_id("guardian-phone").fill(phone)


def counter_child(page: Page, name: str, id_number: str, town: str, village: str) -> None:
    """代报名, step 2: type the child, registered (and living) in `village` of `town`."""
    page.get_by_test_id("child-name").fill(name)
    page.get_by_test_id("child-id-number").fill(id_number)
    page.get_by_test_id("hukou-town").select_option(label=town)
    page.get_by_test_id("hukou-village").select_option(label=village)


def counter_scan(page: Page, scan: Path) -> None:
    """代报名, step 3: by household registration, which needs the 户口簿, scanned and
    uploaded at the counter."""
    page.get_by_test_id("basis").select_option("hukou")
    expect(page.locator("#required-documents")).to_contain_text("户口簿")
    page.get_by_test_id("scan-kind").select_option("hukou_book")
    page.get_by_test_id("scan-file").set_input_files(str(scan))
    page.get_by_test_id("scan-upload").click()
    expect(page.get_by_test_id("scan-list")).to_contain_text(scan.name)


def counter_slip(page: Page, registration_id: int, school_name: str) -> str:
    """代报名: the ticket accepted, the printable slip for the family; its claim code."""
    expect(page.get_by_test_id("accepted")).to_contain_text(str(registration_id))
    expect(page.get_by_test_id("slip")).to_be_visible()
    expect(page.get_by_test_id("slip-school")).to_have_text(school_name)
    expect(page.get_by_test_id("slip-registration")).to_have_text(str(registration_id))
    code = page.get_by_test_id("slip-code").inner_text()
    assert len(code) == 9 and code[4] == "-"
    expect(page.get_by_test_id("print-slip")).to_be_focused()
    expect(page.get_by_test_id(f"claim-state-{registration_id}")).to_contain_text("未认领")
    return code


# --- 绑定争议 and 失败任务 (the bureau's operations pages) -----------------------------------


def ask_to_transfer_binding(page: Page, dispute_id: int, note: str) -> None:
    """绑定争议: open the dispute, ask to transfer the binding; the confirmation says what
    it does, a missing reason is refused next to its field, then the reason is typed."""
    page.get_by_test_id(f"open-dispute-{dispute_id}").click()
    expect(page.get_by_test_id("dispute-state")).to_have_text("待处理")
    page.get_by_test_id("dispute-transfer").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("原微信账号")
    expect(page.get_by_test_id("confirm-text")).to_contain_text("立即退出登录")
    page.get_by_test_id("modal-submit").click()
    expect(page.get_by_test_id("error-note")).to_be_visible()
    page.fill(".modal textarea[name=note]", note)


def confirm_transfer(page: Page) -> None:
    """绑定争议: confirm the transfer; the dispute shows it done."""
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(page.get_by_test_id("dispute-state")).to_have_text("已转移绑定")


def faulty_worker_gives_up(job_type: str, stream: str = JOBS) -> str:
    """The worker reads `stream` once while `job_type`'s handler has a bug (fixed since)
    and, one delivery allowed, gives the message up as it does: a dead letter with the
    reason; the dead letter's id."""
    def broken(_session: Session, _payload: dict[str, Any], _message_id: str) -> None:
        raise RuntimeError("a bug, fixed in the next release")

    worker = Worker({job_type: broken}, name=f"faulty-{uuid.uuid4().hex[:6]}",
                    streams=(stream,),
                    settings=WorkerSettings(block_ms=10, linger_ms=0, max_deliveries=1))
    worker.ensure_group()
    assert worker.run_once() == 1
    assert worker.dead_lettered == 1
    [(letter_id, _fields)] = redis_store.client.xrevrange(dead_letter_key(stream), count=1)
    return letter_id.decode() if isinstance(letter_id, bytes) else str(letter_id)


def replay(page: Page, key: str, queue: str) -> None:
    """失败任务: replay a message (its row's `key`) after the confirmation says it goes back
    to `queue`; the row follows it."""
    page.get_by_test_id(f"replay-{key}").click()
    confirm(page, f"重新放回{queue}")
    expect(page.get_by_test_id(f"replay-result-{key}")).to_contain_text("已重新排队")


# --- the parent's PC (docs/PC_LOGIN.md, docs/PC.md) -----------------------------------------

PC_LOGIN_PAGE = "packages/account/pc-login/pc-login"


def scene_on_screen(page: Page) -> str:
    """The code the PC page shows, read from a screenshot of it (what a phone's camera sees)."""
    code = page.locator("#pc-qr-image")
    expect(code).to_be_visible()
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(code.screenshot())))
    target, _, scene = found.text.removeprefix("wxacode:").partition("?scene=")
    assert target == PC_LOGIN_PAGE
    return scene


def pc_login_phone(client: FlaskClient, console: Console, token: str, path: str,
                   **body: str) -> dict[str, Any]:
    """The mini-program's scan or confirm (while the served app is not using the database)."""
    with console.exclusive():
        response = client.post(f"/api/v1/auth/pc-login/{path}", json=body,
                               headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def drain_until(page: Page, console: Console, locator: str, text: str) -> None:
    """Let the worker drain the intake queue until the page's `locator` reads `text`."""
    for _ in range(20):
        with console.exclusive():
            drain()
        if page.locator(locator).text_content() == text:
            break
        page.wait_for_timeout(500)
    expect(page.locator(locator)).to_have_text(text)
