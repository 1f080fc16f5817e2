"""A whole admission season, run from the staff console in a real browser.

The county ran last year's season; in 招生日程 the bureau creates this year's from it, opens
the registration window, writes the 须知 and publishes it, and sets the seat plans (and a
priority tier) in 招生计划. Families register through the API as the mini-program does
(WeChat login, real-name binding with the phone, a child, a document, the queued intake);
one submission is given up by a faulty worker (a dead letter); a school clerk enters a
family without a smartphone at the counter (代报名), through the same intake. The school
reviews in 报名审核 (approve, return with a reason and a deadline, reject) and approves the
family's fix; the counter family claims its registration from WeChat. The window closes and
the bureau runs the lottery of the oversubscribed school step by step, its evidence accepted
by scripts/verify_lottery; in 录取与候补 a family declines, the waitlist moves and one child
is placed (统筹) with a reason; the school checks families in by code at 现场报到 and sees
the one that did not come; 均衡分班 draws the classes, its evidence accepted by
scripts/verify_classes; the bureau publishes the admitted list and a family looks itself up
on the public page. A parent who changed phones gets the binding moved to the new WeChat
account on 绑定争议, and the bureau replays the given-up submission on 失败任务. At each
step what the page shows is checked against the database.

Each step is one function, named for who does what. The docs' pictures
docs/season-<step>.png (1366 × 768) are refreshed with UPDATE_DOCS_SCREENSHOTS=1."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import func, select, update

from backend.admission.models import (
    Lottery,
    LotteryStatus,
    Offer,
    OfferSource,
    OfferStatus,
    PriorityTier,
    SeatCount,
)
from backend.admission.services import pseudonym
from backend.audit.models import AuditEvent
from backend.classes.models import ClassAssignment, ClassPlacement
from backend.core.db import db, utcnow
from backend.core.jobs import INTAKE, dead_letter_key
from backend.core.redis import redis_store
from backend.core.timeutil import zone
from backend.identity.consent import CONSENT_VERSION
from backend.identity.models import Child, Guardian
from backend.onsite.models import OnsiteSlot
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import RegionLevel, SchoolType, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus
from backend.seasons.services import shift_years
from tests.admission._support import PUBLIC_VALUE, PUBLIC_VALUE_SOURCE, run_verifier
from tests.classes._support import verify_file
from tests.conftest import Simulator, bearer
from tests.console._support import (
    Console,
    County,
    add_priority_tier,
    ask_to_transfer_binding,
    booking_of,
    check_in,
    commit_classes,
    confirm,
    confirm_transfer,
    counter_child,
    counter_guardian,
    counter_scan,
    counter_slip,
    create_season_from,
    document_png,
    download,
    draw_classes,
    entry_code,
    expect_class_balance,
    expect_laid_out_for_the_screen,
    expect_season_saved,
    faulty_worker_gives_up,
    look_up,
    picture,
    publish_season,
    replay,
    save_season,
    save_tiers,
    set_seat_plan,
    submit_slot,
)
from tests.console.test_browser_overview import sign_in
from tests.factories import (
    make_authority,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)
from tests.proxy._support import drain
from tests.reviews._support import worker

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

Login = Callable[..., dict[str, Any]]
CHILDREN = ("王子涵", "李浩然", "张梓萱", "刘一诺", "陈欣怡", "杨宇轩", "赵雨桐", "黄思源",
            "周俊熙")
RETURNED, REJECTED = 2, 6  # which of the families' registrations the school returns, rejects
SEATS_A = (2, 3)  # the oversubscribed school's plan: classes × class size
SEATS_B = (1, 30)
LAST_YEARS_SEATS = ((2, 40), (2, 40))  # last year's plans of A and B, copied to this year's
NOTICE = "一、报名须上传户口簿户主页和儿童本人页。\n二、咨询电话：0358-0000000（示例）。"
STUCK_CHILD, STUCK_N = "吴若曦", 9  # the submission (at school B) the faulty worker gives up
COUNTER_CHILD, COUNTER_GUARDIAN, COUNTER_N = "孙嘉怡", "孙示例", 10  # entered at the counter
DISPUTE_NOTE = "换了手机号，原来的微信号登录不了，申请把实名绑定转到新的微信号"
TRANSFER_REASON = "已核对申诉人身份证和户口簿原件，原手机号已停用"
CLASS_VALUE_SOURCE = "次日中国福利彩票“3D”开奖号码（示例）"
CLASS_VALUE = "3 8 1"
PLACEMENT_REASON = "第一小学学位已满，按就近原则统筹到白文镇中心小学"


@pytest.fixture()
def patient_expect() -> Iterator[None]:
    """Assertions wait up to 20 s (the machine is shared): the journey waits on conditions,
    never on the clock."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=None)


@dataclass
class Household:
    """A family as the mini-program knows it: its session, its child, its registration."""

    n: int
    openid: str
    token: str = ""
    guardian_name: str = ""
    guardian_id_number: str = ""
    child_id: int = 0
    child_id_number: str = ""
    birth_date: dt.date = dt.date(2000, 1, 1)
    registration_id: int = 0
    ticket: str = ""
    claim_code: str = ""  # on the slip of a family entered at the counter

    def auth(self) -> dict[str, str]:
        """The family's Authorization header."""
        return bearer(self.token)


@dataclass
class Journey:
    """Who takes part and what the season has produced so far."""

    console: Console
    client: FlaskClient
    county: County
    bureau: Page
    school: Page
    shots: Any
    folder: Path
    families: list[Household] = field(default_factory=list)
    lottery_id: int = 0
    stuck: Household | None = None  # the family whose submission was given up
    dead_letter: str = ""  # the id of that dead letter

    @property
    def code_a(self) -> str:
        """The oversubscribed school's code."""
        return self.county.school_a.code

    def family_of(self, registration_id: int) -> Household:
        """The family that submitted a registration."""
        return next(f for f in self.families if f.registration_id == registration_id)

    def status_of(self, registration_id: int) -> RegistrationStatus:
        """A registration's status in the database now."""
        registration = db.session.get(Registration, registration_id, populate_existing=True)
        assert registration is not None
        return registration.status


def local_now() -> dt.datetime:
    """Now, in Beijing time."""
    return utcnow().astimezone(zone())


def numbers(season: Season, n: int) -> tuple[str, dt.date, str]:
    """Family n's guardian ID number, and its child's birth date (of age this season) and ID
    number (fictional 9xx sequences)."""
    birth = dt.date(season.year - 7, 9, 1) + dt.timedelta(days=35 * n)
    return (make_id_number(dt.date(1988, 3, 1) + dt.timedelta(days=41 * n), 951), birth,
            make_id_number(birth, 931, male=n % 2 == 0))


def minute(value: dt.datetime) -> str:
    """A Beijing time as a datetime-local field takes it."""
    return value.astimezone(zone()).strftime("%Y-%m-%dT%H:%M")


# --- 1. the bureau sets the season up -----------------------------------------------------------


def county_that_ran_last_year() -> County:
    """The county as it stands before this year's season: two schools with their zones, the
    staff, and last year's season (archived) with its seat plans. The County's season is
    last year's until the bureau has set up this year's."""
    authority = make_authority(name="临县教育局（示例）")
    towns = [make_region(authority, name=name) for name in ("临泉镇", "白文镇")]
    villages = [make_region(authority, level=RegionLevel.VILLAGE, parent=town, name=name)
                for town, name in zip(towns, ("东关村（示例）", "白文村（示例）"), strict=True)]
    last_year = local_now().year  # this year's season is the next school year's
    opened = (local_now() - dt.timedelta(days=335)).replace(hour=8, minute=0, second=0,
                                                            microsecond=0)
    previous = make_season(authority, year=last_year, opens=opened,
                           closes=opened + dt.timedelta(days=5, hours=9, minutes=30),
                           name=f"{last_year}年小学一年级招生（示例）",
                           status=SeasonStatus.ARCHIVED)
    schools = [make_school(authority, zone=[village], name=name, type=SchoolType.PUBLIC,
                           town_id=town.id, address=f"{town.name}示例路{n + 1}号")
               for n, (town, village, name) in enumerate(zip(
                   towns, villages, ("临泉镇第一小学（示例）", "白文镇中心小学（示例）"),
                   strict=True))]
    for school, (classes, size) in zip(schools, LAST_YEARS_SEATS, strict=True):
        make_seat_plan(previous, school, classes=classes, class_size=size)
    county = County(authority, previous, towns, villages, schools)
    suffix = uuid.uuid4().hex[:8]
    county.users = {
        "a": make_staff(authority, school=schools[0], username=f"season-a-{suffix}",
                        display_name="王老师"),
        "bureau": make_staff(authority, username=f"season-bureau-{suffix}",
                             display_name="刘主任")}
    db.session.commit()
    return county


def bureau_sets_up_the_season(j: Journey) -> None:
    """招生日程: this year's season as a draft copied from last year's (seat plans, timeline
    a year on); the bureau opens the registration window now, writes the 须知 and publishes
    it. From here on the County's season is this year's."""
    page, previous = j.bureau, j.county.season
    year = previous.year + 1
    sign_in(page, j.console, j.county.username("bureau"), "/console/settings/season")
    expect(page.get_by_test_id(f"status-{previous.id}")).to_have_text("已归档")
    create_season_from(page, previous, year)
    expect(page.get_by_test_id("copy-summary")).to_contain_text(
        f"{len(j.county.schools)} 所学校的招生计划")
    with j.console.exclusive():
        season = db.session.scalar(select(Season).where(
            Season.authority_id == j.county.authority.id, Season.year == year))
        assert season is not None and season.status is SeasonStatus.DRAFT
        assert season.registration_opens_at == shift_years(previous.registration_opens_at, 1)
        season_id = season.id
    expect(page.get_by_test_id(f"status-{season_id}")).to_have_text("草稿")
    expect(page.get_by_test_id("season-note")).to_contain_text("家长和公众看不到")

    opens = (local_now() - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    closes = (local_now() + dt.timedelta(days=3)).replace(hour=18, minute=0, second=0,
                                                          microsecond=0)
    save_season(page, opens=minute(opens), closes=minute(closes), notice=NOTICE)
    expect_season_saved(page)
    with j.console.exclusive():
        db.session.refresh(season)
        assert (season.registration_opens_at, season.registration_closes_at) == (opens, closes)
        assert season.must_read_notice == NOTICE
        [window] = [p for p in season.phases if p.key == "registration"]
        assert (window.starts_at, window.ends_at) == (opens, closes)

    publish_season(page, season_id)
    expect(page.get_by_test_id("season-note")).to_contain_text("报名已经开始")
    picture(page, j.shots, "setup", "season-setup", top=True)
    with j.console.exclusive():
        db.session.refresh(season)
        assert season.status is SeasonStatus.PUBLISHED
        current = j.client.get(
            f"/api/v1/seasons/current?authority={j.county.authority.code}").get_json()
        assert current["id"] == season_id
        j.county.season = season


def bureau_sets_seat_plans(j: Journey) -> None:
    """招生计划: the season's plans as copied from last year's; the bureau sets this year's
    classes × class size of both schools (school A will be oversubscribed) and gives school
    B a priority tier for children with a residence permit."""
    page, code_b = j.bureau, j.county.school_b.code
    page.goto(j.console.url + "/console/admission/seat-plans")
    expect(page.get_by_test_id("season-select")).to_have_value(str(j.county.season.id))
    for school, (classes, size), (copied_classes, copied_size) in zip(
            j.county.schools, (SEATS_A, SEATS_B), LAST_YEARS_SEATS, strict=True):
        expect(page.get_by_test_id(f"seats-{school.code}")).to_have_text(
            str(copied_classes * copied_size))
        set_seat_plan(page, school.code, classes, size)
    add_priority_tier(page, code_b, "持居住证的随迁子女", "residence_permit", "true")
    save_tiers(page)
    with j.console.exclusive():
        db.session.expire_all()
        plans = {p.school_id: (p.classes, p.class_size) for p in db.session.scalars(
            select(SeatPlan).where(SeatPlan.season_id == j.county.season.id))}
        assert plans == {j.county.school_a.id: SEATS_A, j.county.school_b.id: SEATS_B}
        tiers = list(db.session.scalars(select(PriorityTier).where(
            PriorityTier.season_id == j.county.season.id,
            PriorityTier.school_id == j.county.school_b.id).order_by(PriorityTier.rank)))
        assert tiers[-1].key == "others"
        assert (tiers[-2].label, tiers[-2].rule) == ("持居住证的随迁子女",
                                                     {"residence_permit": True})


# --- 2. families register through the API, as the mini-program does --------------------------


def family_registers(j: Journey, login_parent: Login, wechat_sim: Simulator, n: int,
                     child_name: str, at: int = 0) -> Household:
    """WeChat login, real-name binding with the phone, the child (living in the zone of
    school `at`: 0 is A, 1 is B), a photo of the household register, and the registration
    at that school with an Idempotency-Key (queued)."""
    family = Household(n=n, openid=f"o-season-{uuid.uuid4().hex[:12]}",
                       guardian_name=child_name[0] + "示例")
    client, village = j.client, j.county.villages[at]
    family.guardian_id_number, family.birth_date, family.child_id_number = numbers(
        j.county.season, n)
    family.token = login_parent(family.openid)["token"]
    phone_code = wechat_sim.post("/sim/phone-code", openid=family.openid,
                                 phone=f"1390000{n:04d}")["code"]
    bound = client.post("/api/v1/me/identity", headers=family.auth(), json={
        "name": family.guardian_name, "relation": "mother" if n % 2 else "father",
        "id_number": family.guardian_id_number, "phone_code": phone_code})
    assert bound.status_code == 201, bound.get_json()
    assert bound.get_json()["phone"] == f"139****{n:04d}"
    child = client.post("/api/v1/me/children", headers=family.auth(), json={
        "name": child_name, "id_number": family.child_id_number,
        "hukou": {"region_code": village.code, "address": f"{village.name}示例路{n + 1}号"},
        "guardian_consent": {"version": CONSENT_VERSION, "agreed": True}})
    assert child.status_code == 201, child.get_json()
    assert child.get_json()["eligibility"]["eligible"] is True
    family.child_id = child.get_json()["id"]
    family.ticket = submit_documents(j, family, f"registration-{n}", "POST",
                                     "/api/v1/registrations", child_id=family.child_id,
                                     school_code=j.county.schools[at].code)
    return family


def submit_documents(j: Journey, family: Household, key: str, method: str, path: str,
                     **body: Any) -> str:
    """Upload a photo of the household register and send it with the registration (or its
    fix); the intake's ticket."""
    uploaded = j.client.post("/api/v1/uploads", headers=family.auth(), data={
        "kind": "hukou_book", "file": (io.BytesIO(document_png()), "hukou.png")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    response = j.client.open(path, method=method, json={
        "basis": "hukou", "upload_ids": [uploaded.get_json()["upload_id"]], **body},
        headers={**family.auth(), "Idempotency-Key": f"{key}-{uuid.uuid4().hex[:12]}"})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["fairness_notice"] == "报名先后不影响录取"
    return str(response.get_json()["ticket"])


def worker_drains_and_families_follow_their_tickets(j: Journey,
                                                     families: list[Household]) -> None:
    """The worker drains the intake queue; each family polls its ticket until accepted."""
    drain = worker()
    for family in families:
        for _ in range(20):
            ticket = j.client.get(f"/api/v1/registrations/tickets/{family.ticket}",
                                  headers=family.auth()).get_json()
            if ticket["state"] != "queued":
                break
            drain.run_once()
        assert ticket["state"] == "accepted", ticket
        family.registration_id = int(ticket["registration_id"])


def a_submission_is_given_up(j: Journey, login_parent: Login,
                             wechat_sim: Simulator) -> Household:
    """One more family registers at school B while the worker has a bug: it gives the
    submission up (a dead letter); the family's ticket says it failed and nothing is
    written."""
    family = family_registers(j, login_parent, wechat_sim, STUCK_N, STUCK_CHILD, at=1)
    j.dead_letter = faulty_worker_gives_up("registration.submit", INTAKE)
    ticket = j.client.get(f"/api/v1/registrations/tickets/{family.ticket}",
                          headers=family.auth()).get_json()
    assert ticket["state"] == "rejected", ticket
    assert ticket["error"]["code"] == "PROCESSING_FAILED"
    assert db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.child_id == family.child_id)) == 0
    return family


def school_enters_a_family_at_the_counter(j: Journey) -> Household:
    """代报名: a grandmother without a smartphone comes to school A's counter; the clerk
    enters her, the child and the scanned 户口簿, confirms the originals were checked; the
    parents' intake accepts it and the slip with the claim code is ready to print."""
    page, n = j.school, COUNTER_N
    family = Household(n=n, openid="", guardian_name=COUNTER_GUARDIAN)
    family.guardian_id_number, family.birth_date, family.child_id_number = numbers(
        j.county.season, n)
    scan = j.folder / "hukou.png"
    scan.write_bytes(document_png())
    sign_in(page, j.console, j.county.username("a"), "/console/proxy")
    counter_guardian(page, COUNTER_GUARDIAN, "grandparent", family.guardian_id_number,
                     f"1390000{n:04d}")
    page.get_by_test_id("next").click()
    counter_child(page, COUNTER_CHILD, family.child_id_number, j.county.towns[0].name,
                  j.county.villages[0].name)
    page.get_by_test_id("next").click()
    counter_scan(page, scan)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("summary")).to_contain_text(COUNTER_CHILD)
    page.get_by_test_id("documents-checked").check()
    page.get_by_test_id("guardian-consent-given").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("ticket-state")).to_contain_text("排队受理中")
    with j.console.exclusive():
        drain()
        registration = db.session.scalar(select(Registration).where(
            Registration.entered_by_user_id == j.county.users["a"].id))
        assert registration is not None
        assert registration.school_id == j.county.school_a.id
        assert registration.status is RegistrationStatus.SUBMITTED
        family.registration_id, family.child_id = registration.id, registration.child_id
    family.claim_code = counter_slip(page, family.registration_id, j.county.school_a.name)
    picture(page, j.shots, "counter", "season-counter")
    return family


# --- 3. the school reviews ------------------------------------------------------------------


def row(page: Page, registration_id: int) -> Any:
    """The registration's row in the review queue."""
    return page.locator(f"#table tbody tr[data-id='{registration_id}']")


def school_reviews(j: Journey) -> dt.datetime:
    """报名审核, row after row: approve, return one with a reason and a deadline, reject one.
    The fix deadline entered (Beijing time)."""
    page = j.school
    ids = [f.registration_id for f in j.families]
    page.goto(j.console.url + "/console/reviews")
    expect(page.locator("#list-summary")).to_contain_text(f"共 {len(ids)} 条")
    for registration_id in ids:
        expect(row(page, registration_id)).to_contain_text("已受理")
    deadline = (local_now() + dt.timedelta(days=2)).replace(hour=18, minute=0, second=0,
                                                            microsecond=0)
    page.get_by_test_id(f"row-{ids[0]}").click()
    for n, registration_id in enumerate(ids):
        expect(page.get_by_test_id("detail")).to_have_attribute("data-id", str(registration_id))
        if n == RETURNED:
            page.get_by_test_id("decide-return").click()
            page.get_by_test_id("reason").select_option("PHOTO_BLURRY")
            page.get_by_test_id("deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
            page.get_by_test_id("note").fill("户口簿首页照片模糊，请重新拍摄上传")
            shown = "退回修改"
        elif n == REJECTED:
            page.get_by_test_id("decide-reject").click()
            page.get_by_test_id("reason").select_option("DOCUMENT_MISMATCH")
            page.get_by_test_id("note").fill("户口簿与儿童证件信息不一致")
            shown = "未通过"
        else:
            page.get_by_test_id("decide-approve").click()
            shown = "审核通过"
        page.get_by_test_id("submit-decision").click()
        expect(row(page, registration_id)).to_contain_text(shown)
    expect(row(page, ids[RETURNED])).to_contain_text(deadline.strftime("%m-%d %H:%M"))
    with j.console.exclusive():
        expected = {rid: RegistrationStatus.APPROVED for rid in ids}
        expected[ids[RETURNED]] = RegistrationStatus.RETURNED
        expected[ids[REJECTED]] = RegistrationStatus.REJECTED
        assert {rid: j.status_of(rid) for rid in ids} == expected
        returned = db.session.get(Registration, ids[RETURNED])
        assert returned is not None and returned.fix_deadline == deadline
    return deadline


def family_fixes_the_return_and_school_approves(j: Journey, deadline: dt.datetime) -> None:
    """The family reads what to fix, uploads a new photo (PATCH, queued); the school sees it
    back in the queue with its timeline and approves it."""
    family = j.families[RETURNED]
    page = j.school
    with j.console.exclusive():
        mine = j.client.get(f"/api/v1/registrations/{family.registration_id}",
                            headers=family.auth()).get_json()
        assert mine["status"] == "returned"
        assert mine["correction"]["reason"] == "照片模糊，无法辨认"
        assert dt.datetime.fromisoformat(mine["correction"]["fix_deadline"]) == deadline
        family.ticket = submit_documents(j, family, "fix", "PATCH",
                                         f"/api/v1/registrations/{family.registration_id}")
        worker_drains_and_families_follow_their_tickets(j, [family])
        assert j.status_of(family.registration_id) is RegistrationStatus.SUBMITTED

    page.keyboard.press("Escape")  # close the last registration, search the queue again
    expect(page.locator("#drawer")).to_be_hidden()
    page.locator("#filters button[type=submit]").click()
    expect(row(page, family.registration_id)).to_contain_text("已受理")
    page.get_by_test_id(f"row-{family.registration_id}").click()
    detail = page.get_by_test_id("detail")
    expect(detail).to_have_attribute("data-id", str(family.registration_id))
    expect(detail.locator(".timeline li")).to_have_count(4)  # submitted, review, return, fix
    expect(detail.locator(".timeline")).to_contain_text("照片模糊，无法辨认")
    detail.locator(".timeline").scroll_into_view_if_needed()
    picture(page, j.shots, "review", "season-review")
    page.get_by_test_id("decide-approve").click()
    page.get_by_test_id("submit-decision").click()
    expect(row(page, family.registration_id)).to_contain_text("审核通过")
    with j.console.exclusive():
        statuses = [j.status_of(f.registration_id) for f in j.families]
        assert statuses.count(RegistrationStatus.APPROVED) == len(j.families) - 1
        assert statuses[REJECTED] is RegistrationStatus.REJECTED
        worker().run_once()  # the review audit rows are written by the worker
        reviewed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "registration.review",
            AuditEvent.actor_user_id == j.county.users["a"].id))
        assert reviewed == len(j.families) + 1


def family_claims_the_counter_registration(j: Journey, login_parent: Login) -> None:
    """The family entered at the counter signs in to the mini-program (a relative's
    smartphone) and claims it with the code on the slip: the registration, approved, is
    theirs now, and they take part in the rest of the season like the others."""
    [family] = [f for f in j.families if f.claim_code]
    with j.console.exclusive():
        family.openid = f"o-season-{uuid.uuid4().hex[:12]}"
        family.token = login_parent(family.openid)["token"]
        claimed = j.client.post("/api/v1/me/claims", json={"code": family.claim_code},
                                headers=family.auth())
        assert claimed.status_code == 200, claimed.get_json()
        assert [r["id"] for r in claimed.get_json()["registrations"]] == [
            family.registration_id]
        mine = j.client.get("/api/v1/registrations", headers=family.auth()).get_json()
        assert [(r["id"], r["status"]) for r in mine["items"]] == [
            (family.registration_id, "approved")]


def registration_window_closes(j: Journey) -> None:
    """Time passes: the registration window is over (the lottery needs it closed)."""
    with j.console.exclusive():
        closed = utcnow() - dt.timedelta(minutes=1)
        season_id = j.county.season.id
        db.session.execute(update(Season).where(Season.id == season_id).values(
            registration_closes_at=closed))
        db.session.execute(update(SeasonPhase).where(
            SeasonPhase.season_id == season_id, SeasonPhase.key == "registration").values(
            ends_at=closed))
        db.session.commit()


# --- 4. the lottery ---------------------------------------------------------------------------


def bureau_runs_the_lottery(j: Journey) -> None:
    """随机派位 for the oversubscribed school: freeze (commitment), the public value, draw,
    the result; the evidence downloaded and accepted by scripts/verify_lottery."""
    page, code = j.bureau, j.code_a
    approved = len(j.families) - 1
    seats = SEATS_A[0] * SEATS_A[1]
    page.goto(j.console.url + "/console/admission/lotteries")
    expect(page.get_by_test_id(f"applicants-{code}")).to_have_text(str(approved))
    expect(page.get_by_test_id(f"applicants-{j.county.school_b.code}")).to_have_text("0")
    page.get_by_test_id(f"open-{code}").click()
    expect(page.get_by_test_id("step-1")).to_have_attribute("data-state", "now")
    page.get_by_test_id("public-value-source-input").fill(PUBLIC_VALUE_SOURCE)
    page.get_by_test_id("freeze").click()
    confirm(page, "冻结后名单不可更改")
    expect(page.get_by_test_id("commitment")).to_be_visible()
    with j.console.exclusive():
        lottery = db.session.scalar(select(Lottery).where(
            Lottery.school_id == j.county.school_a.id, Lottery.is_practice.is_(False)))
        assert lottery is not None and lottery.status is LotteryStatus.FROZEN
        assert (lottery.applicant_count, lottery.seats) == (approved, seats)
        j.lottery_id, commitment = lottery.id, lottery.commitment
    expect(page.get_by_test_id("commitment")).to_have_text(commitment)
    expect(page.get_by_test_id("step-2")).to_have_attribute("data-state", "now")

    page.get_by_test_id("public-value").fill(PUBLIC_VALUE)
    page.get_by_test_id("draw").click()
    confirm(page, "不可撤销、不可重抽")
    expect(page.get_by_test_id("admitted-count")).to_have_text(str(seats))
    expect(page.get_by_test_id("waitlist-count")).to_have_text(str(approved - seats))
    expect(page.get_by_test_id("published")).to_contain_text("已公示")
    expect(page.get_by_test_id("public-value-used")).to_have_text(PUBLIC_VALUE)
    with j.console.exclusive():
        drawn = db.session.get(Lottery, j.lottery_id, populate_existing=True)
        assert drawn is not None and drawn.status is LotteryStatus.DRAWN
        entries = sorted(drawn.entries, key=lambda e: e.position or 0)
        # Every approved registration takes part, the one entered at the counter included.
        assert {e.registration_id for e in entries} == {
            f.registration_id for n, f in enumerate(j.families) if n != REJECTED}
        offered = db.session.scalar(select(func.count()).select_from(Offer).where(
            Offer.lottery_id == j.lottery_id, Offer.status == OfferStatus.OFFERED))
        assert offered == seats
    rows = page.get_by_test_id("result-table").locator("tbody tr")
    expect(rows).to_have_count(approved)
    for n, entry in enumerate(entries):
        expect(rows.nth(n)).to_contain_text(entry.pseudonym)
    picture(page, j.shots, "lottery", "season-lottery")

    evidence = download(page, "evidence", j.folder)
    verified = run_verifier(evidence, "--commitment", commitment)
    assert verified.returncode == 0, verified.stdout + verified.stderr


# --- 5. offers and the waitlist -----------------------------------------------------------------


def family_offer(j: Journey, family: Household) -> dict[str, Any]:
    """The family's one open offer, as the mini-program lists it."""
    offers = j.client.get("/api/v1/offers", headers=family.auth()).get_json()["items"]
    [offer] = [o for o in offers if o["status"] == "offered"]
    return offer


def family_answers(j: Journey, family: Household, answer: str) -> int:
    """The family confirms or declines its offer in the mini-program; the offer's id."""
    offer = family_offer(j, family)
    assert answer in offer["actions"]
    answered = j.client.post(f"/api/v1/offers/{offer['id']}/{answer}", headers=family.auth())
    assert answered.status_code == 200, answered.get_json()
    return int(offer["id"])


def bureau_follows_offers_and_places_a_child(j: Journey) -> None:
    """录取与候补: the offers; a family declines and the next child on the waitlist gets the
    seat; the last child waiting is placed (统筹) at school B with a reason. The families
    holding an offer at school A confirm it."""
    page = j.bureau
    page.goto(j.console.url + "/console/admission/offers")
    page.get_by_test_id("filter-school").select_option(str(j.county.school_a.id))
    page.locator("#filters button[type=submit]").click()
    with j.console.exclusive():
        lottery = db.session.get(Lottery, j.lottery_id)
        assert lottery is not None
        offers = list(db.session.scalars(select(Offer).where(
            Offer.lottery_id == j.lottery_id).order_by(Offer.id)))
        waitlisted = sorted((e for e in lottery.entries if e.outcome
                             and e.outcome.value == "waitlisted"), key=lambda e: e.position or 0)
    expect(page.get_by_test_id("offers-table").locator("tbody tr")).to_have_count(len(offers))
    for offer in offers:
        expect(page.get_by_test_id(f"offer-status-{offer.id}")).to_have_text("待确认")
    for n in range(1, len(waitlisted) + 1):
        expect(page.get_by_test_id(f"waitlist-state-{n}")).to_have_text("候补中")

    with j.console.exclusive():
        declined = family_answers(j, j.family_of(offers[0].registration_id), "decline")
    page.locator("#filters button[type=submit]").click()
    expect(page.get_by_test_id(f"offer-status-{declined}")).to_have_text("已放弃")
    expect(page.get_by_test_id("waitlist-state-1")).to_have_text("已递补·待确认")
    expect(page.get_by_test_id("waitlist-state-2")).to_have_text("候补中")
    with j.console.exclusive():
        moved = db.session.scalar(select(Offer).where(
            Offer.lottery_entry_id == waitlisted[0].id))
        assert moved is not None and moved.source is OfferSource.WAITLIST
        assert moved.status is OfferStatus.OFFERED
    expect(page.get_by_test_id(f"offer-status-{moved.id}")).to_have_text("待确认")

    last = waitlisted[-1].registration_id
    page.get_by_test_id(f"place-{last}").click()
    page.select_option(".modal select[name=school_id]", str(j.county.school_b.id))
    page.fill(".modal textarea[name=reason]", PLACEMENT_REASON)
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(page.get_by_test_id(f"waitlist-state-{len(waitlisted)}")).to_have_text(
        "已在其他学校获得学位")
    expect(page.get_by_test_id(f"place-{last}")).to_have_count(0)
    with j.console.exclusive():
        placed = db.session.scalar(select(Offer).where(
            Offer.registration_id == last, Offer.source == OfferSource.BUREAU_PLACEMENT))
        assert placed is not None and placed.school_id == j.county.school_b.id
        assert placed.placement_reason == PLACEMENT_REASON
        worker().run_once()  # the audit rows
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "admission.placement",
            AuditEvent.object_id == str(placed.id))) == 1
    # At the office screen the names, pseudonyms, sources and statuses stay on one line.
    expect_laid_out_for_the_screen(page, "[data-testid=offers-table]", ", ".join(
        f"tbody td:nth-child({n})" for n in (2, 3, 5, 6)))
    picture(page, j.shots, "offers", "season-offers", top=True)

    with j.console.exclusive():
        holders = db.session.scalars(select(Offer.registration_id).where(
            Offer.school_id == j.county.school_a.id, Offer.status == OfferStatus.OFFERED))
        for registration_id in holders.all():
            family_answers(j, j.family_of(registration_id), "confirm")
        taken = dict(db.session.execute(select(SeatCount.school_id, SeatCount.taken).where(
            SeatCount.season_id == j.county.season.id).execution_options(
            populate_existing=True)).all())
    assert taken == {j.county.school_a.id: SEATS_A[0] * SEATS_A[1], j.county.school_b.id: 1}
    page.locator("#filters button[type=submit]").click()
    expect(page.get_by_test_id(f"offer-status-{moved.id}")).to_have_text("已确认")
    expect(page.get_by_test_id("waitlist-state-1")).to_have_text("已递补·已确认")

    # 招生计划 shows the seats taken and left as the seat counters have them.
    page.goto(j.console.url + "/console/admission/seat-plans")
    for school, (classes, size) in zip(j.county.schools, (SEATS_A, SEATS_B), strict=True):
        expect(page.get_by_test_id(f"taken-{school.code}")).to_have_text(str(taken[school.id]))
        expect(page.get_by_test_id(f"free-{school.code}")).to_have_text(
            str(classes * size - taken[school.id]))


def admitted_to_a(j: Journey) -> list[int]:
    """Registration ids with a confirmed seat at school A, in id order."""
    return list(db.session.scalars(select(Offer.registration_id).where(
        Offer.school_id == j.county.school_a.id, Offer.status == OfferStatus.CONFIRMED)
        .order_by(Offer.registration_id).execution_options(populate_existing=True)))


# --- 6. on-site check-in ---------------------------------------------------------------------


def slot_moves(slot_id: int, starts: dt.datetime) -> None:
    """Time passes: the slot's hour is `starts` (an hour long)."""
    db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == slot_id).values(
        starts_at=starts, ends_at=starts + dt.timedelta(hours=1)))
    db.session.commit()


def school_checks_families_in(j: Journey) -> list[int]:
    """现场报到: the school opens a slot, the admitted families book it in the mini-program,
    the desk checks them in by typed code, and one family that never came is on the
    no-show list. The ids of the children checked in."""
    page = j.school
    page.goto(j.console.url + "/console/admission/onsite")
    page.get_by_role("tab", name="报到时段").click()
    tomorrow = (local_now() + dt.timedelta(days=1)).date()
    submit_slot(page, tomorrow.isoformat(), "09:00", "10:00", "学校一楼报到处", 10)
    expect(page.locator(".modal")).to_have_count(0)
    expect(page.locator("#table tbody tr")).to_have_count(1)
    with j.console.exclusive():
        [slot] = db.session.scalars(select(OnsiteSlot).where(
            OnsiteSlot.school_id == j.county.school_a.id)).all()
        assert slot.starts_at.astimezone(zone()).strftime("%Y-%m-%d %H:%M") \
            == f"{tomorrow.isoformat()} 09:00"
        slot_id = slot.id
        admitted = admitted_to_a(j)
        codes = {}
        for registration_id in admitted:
            family = j.family_of(registration_id)
            listed = j.client.get(f"/api/v1/onsite/slots?registration_id={registration_id}",
                                  headers=family.auth()).get_json()["items"]
            assert [s["id"] for s in listed] == [slot_id]
            booked = j.client.post("/api/v1/onsite/bookings", headers=family.auth(), json={
                "registration_id": registration_id, "slot_id": slot_id})
            assert booked.status_code == 201, booked.get_json()
            codes[registration_id] = entry_code(j.client, family.token, booked.get_json()["id"])
        slot_moves(slot_id, utcnow() - dt.timedelta(minutes=10))  # the morning has come
    came, absent = admitted[:-1], admitted[-1]

    page.get_by_role("tab", name="扫码报到").click()
    expect(page.locator("#scan")).to_be_focused()
    for registration_id in came:
        check_in(page, codes[registration_id], registration_id)
    expect(page.get_by_test_id("checkin-warning")).to_have_count(0)  # within the slot
    expect(page.get_by_test_id(f"checked-in-{slot_id}")).to_have_text(str(len(came)))
    expect_laid_out_for_the_screen(page, "#checkin-log")  # 准时 / 非预约时段 in sight
    picture(page, j.shots, "onsite", "season-onsite")
    with j.console.exclusive():
        for registration_id in admitted:
            booking = booking_of(registration_id)
            assert booking is not None
            assert (booking.checked_in_at is not None) is (registration_id in came)
            if registration_id in came:
                assert booking.checked_in_by_user_id == j.county.users["a"].id
        slot_moves(slot_id, utcnow() - dt.timedelta(hours=2))  # the slot is over

    page.get_by_role("tab", name="未到场名单").click()
    group = page.get_by_test_id(f"noshow-slot-{slot_id}")
    expect(group).to_contain_text(
        f"已预约 {len(admitted)} · 已报到 {len(came)} · 未到场 1")
    expect(group.locator("tbody tr")).to_have_count(1)
    expect(group.locator("tbody tr")).to_contain_text(str(absent))
    expect(page.locator("#noshow-summary")).to_have_text("共 1 户未到场")
    return came


# --- 7. classes ------------------------------------------------------------------------------


def school_assigns_classes(j: Journey, came: list[int]) -> None:
    """均衡分班: freeze the checked-in children (commitment), draw with the public value, read
    the balance; the evidence downloaded and accepted by scripts/verify_classes."""
    page = j.school
    page.goto(j.console.url + "/console/admission/classes")
    commit_classes(page, CLASS_VALUE_SOURCE)
    with j.console.exclusive():
        assignment = db.session.scalar(select(ClassAssignment).where(
            ClassAssignment.school_id == j.county.school_a.id))
        assert assignment is not None and assignment.pupil_count == len(came)
        assert set(assignment.members.values()) == set(came)
        assignment_id, commitment = assignment.id, assignment.commitment
    expect(page.get_by_test_id("detail-pupils")).to_have_text(f"{len(came)} 人")
    expect(page.get_by_test_id("detail-commitment")).to_have_text(commitment)

    draw_classes(page, CLASS_VALUE)
    with j.console.exclusive():
        expect_class_balance(page, assignment_id, SEATS_A[0])
    expect(page.locator("#pupil-summary")).to_have_text(f"共 {len(came)} 人")
    with j.console.exclusive():
        # The family reads the class in the mini-program; the page shows the same class.
        mine = j.client.get(f"/api/v1/registrations/{came[0]}/class",
                            headers=j.family_of(came[0]).auth()).get_json()
        placement = db.session.scalar(select(ClassPlacement).where(
            ClassPlacement.registration_id == came[0]))
        assert placement is not None and mine["class_no"] == placement.class_no
        assert mine["assignment_id"] == assignment_id
    expect(page.get_by_test_id(f"class-of-{came[0]}")).to_have_text(mine["class_name"])
    page.locator("#balance-card").scroll_into_view_if_needed()
    picture(page, j.shots, "classes", "season-classes")

    evidence = download(page, "evidence-download", j.folder)
    assert evidence.name == f"class-evidence-{j.code_a}-{assignment_id}.json"
    verified = verify_file(evidence, "--commitment", commitment)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout


# --- 8. the admitted list -------------------------------------------------------------------


def bureau_publishes_the_list_and_a_family_looks_itself_up(j: Journey) -> None:
    """名单公布: the bureau publishes school A's list; on the public page a family finds
    itself, and the family whose registration was rejected does not."""
    page, code = j.bureau, j.code_a
    with j.console.exclusive():
        admitted = admitted_to_a(j)
    page.goto(j.console.url + "/console/admission/admitted-lists")
    expect(page.get_by_test_id(f"confirmed-{code}")).to_have_text(str(len(admitted)))
    expect(page.get_by_test_id(f"list-status-{code}")).to_have_text("未公布")
    page.get_by_test_id(f"publish-{code}").click()
    confirm(page, "公布后不能撤回")
    expect(page.get_by_test_id(f"list-status-{code}")).to_contain_text("已公布")
    picture(page, j.shots, "lists", "season-lists")
    with j.console.exclusive():
        season_id = j.county.season.id
        listed = j.client.get(f"/api/v1/admitted-lists/{code}?season_id={season_id}").get_json()
        expected = sorted(pseudonym(season_id, j.family_of(r).child_id) for r in admitted)
        assert sorted(item["pseudonym"] for item in listed["items"]) == expected

    with page.expect_popup() as popup:
        page.get_by_test_id(f"public-page-{code}").click()
    public = popup.value
    public.set_viewport_size({"width": 1366, "height": 768})
    expect(public.locator("#admitted-table tbody tr")).to_have_count(len(admitted))
    rejected = j.families[REJECTED]
    look_up(public, rejected.child_id_number[-4:], rejected.birth_date.isoformat(),
            "未在该校录取名单中查到")
    family = j.family_of(admitted[0])
    look_up(public, family.child_id_number[-4:], family.birth_date.isoformat(),
            "已在该校录取名单中")
    picture(public, j.shots, "public-list", "season-public-list")
    public.close()


# --- 9. operations: a binding dispute, a dead letter ------------------------------------------


def bureau_resolves_a_binding_dispute(j: Journey, login_parent: Login,
                                      wechat_sim: Simulator) -> None:
    """A parent of an admitted child changed phones: the new WeChat account cannot bind the
    ID number (it is bound to the old one) and asks the bureau in the mini-program; on
    绑定争议 the bureau transfers the binding with its reason. The binding and the family's
    registration (with its class) follow to the new account; the old one is signed out."""
    page = j.bureau
    with j.console.exclusive():
        registration_id = admitted_to_a(j)[0]
        family = j.family_of(registration_id)
        openid = f"o-season-{uuid.uuid4().hex[:12]}"
        new = login_parent(openid)
        new_auth = bearer(new["token"])
        phone = f"1370000{family.n:04d}"
        code = wechat_sim.post("/sim/phone-code", openid=openid, phone=phone)["code"]
        refused = j.client.post("/api/v1/me/identity", headers=new_auth, json={
            "name": family.guardian_name, "relation": "mother" if family.n % 2 else "father",
            "id_number": family.guardian_id_number, "phone_code": code})
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["error"]["code"] == "IDENTITY_ALREADY_BOUND"
        code = wechat_sim.post("/sim/phone-code", openid=openid, phone=phone)["code"]
        opened = j.client.post("/api/v1/me/identity/disputes", headers=new_auth, json={
            "name": family.guardian_name, "id_number": family.guardian_id_number,
            "phone_code": code, "note": DISPUTE_NOTE, "authority": j.county.authority.code})
        assert opened.status_code == 201, opened.get_json()
        dispute_id = opened.get_json()["id"]

    page.goto(j.console.url + "/console/ops/disputes")
    ask_to_transfer_binding(page, dispute_id, TRANSFER_REASON)
    confirm_transfer(page)
    picture(page, j.shots, "dispute", "season-dispute")
    with j.console.exclusive():
        guardian = db.session.scalar(select(Guardian).join(Child).where(
            Child.id == family.child_id).execution_options(populate_existing=True))
        assert guardian is not None and guardian.user_id == new["user"]["id"]
        owners = db.session.scalars(select(Registration.submitted_by_user_id).where(
            Registration.child_id == family.child_id).execution_options(
            populate_existing=True)).all()
        assert owners == [new["user"]["id"]]
        mine = j.client.get("/api/v1/registrations", headers=new_auth).get_json()
        assert [r["id"] for r in mine["items"]] == [registration_id]
        assert j.client.get(f"/api/v1/registrations/{registration_id}/class",
                            headers=new_auth).status_code == 200
        assert j.client.get("/api/v1/me", headers=family.auth()).status_code == 401
        family.openid, family.token = openid, new["token"]


def bureau_replays_a_dead_letter(j: Journey) -> None:
    """失败任务: the submission the faulty worker gave up on during the window is listed with
    its reason; the bureau replays it (the bug fixed), the worker writes it and the row says
    so. The registration is there once, at school B, and the family's ticket is accepted."""
    page, family = j.bureau, j.stuck
    assert family is not None
    key = f"intake-{j.dead_letter}"
    page.goto(j.console.url + "/console/ops/dead-letters")
    expect(page.get_by_test_id(f"reason-{key}")).to_contain_text("RuntimeError")
    replay(page, key, "报名队列")
    with j.console.exclusive():
        assert redis_store.client.xlen(dead_letter_key(INTAKE)) == 0
        drain()
    expect(page.get_by_test_id(f"replay-result-{key}")).to_contain_text("已处理成功")
    picture(page, j.shots, "dead-letter", "season-dead-letter")
    with j.console.exclusive():
        written = db.session.scalars(select(Registration).where(
            Registration.child_id == family.child_id)).all()
        assert [(r.school_id, r.ticket) for r in written] == [
            (j.county.school_b.id, family.ticket)]
        ticket = j.client.get(f"/api/v1/registrations/tickets/{family.ticket}",
                              headers=family.auth()).get_json()
        assert (ticket["state"], ticket["registration_id"]) == ("accepted", written[0].id)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "queue.replay",
            AuditEvent.actor_user_id == j.county.users["bureau"].id)) == 1


# --- the season ------------------------------------------------------------------------------


def test_a_whole_season_runs_from_the_staff_console(
        client: FlaskClient, console: Console, offices: Callable[[], BrowserContext],
        shots: Any, session: Any, tmp_path: Path, login_parent: Login,
        wechat_sim: Simulator, patient_expect: None) -> None:
    errors: list[str] = []
    pages = []
    for _desk in ("bureau", "school"):
        tab = offices().new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pages.append(tab)
    with console.exclusive():
        county = county_that_ran_last_year()
    j = Journey(console, client, county, pages[0], pages[1], shots, tmp_path)

    bureau_sets_up_the_season(j)
    bureau_sets_seat_plans(j)
    with console.exclusive():
        j.families = [family_registers(j, login_parent, wechat_sim, n, child)
                      for n, child in enumerate(CHILDREN)]
        worker_drains_and_families_follow_their_tickets(j, j.families)
        j.stuck = a_submission_is_given_up(j, login_parent, wechat_sim)
    j.families.append(school_enters_a_family_at_the_counter(j))
    deadline = school_reviews(j)
    family_fixes_the_return_and_school_approves(j, deadline)
    family_claims_the_counter_registration(j, login_parent)
    registration_window_closes(j)
    bureau_runs_the_lottery(j)
    bureau_follows_offers_and_places_a_child(j)
    came = school_checks_families_in(j)
    school_assigns_classes(j, came)
    bureau_publishes_the_list_and_a_family_looks_itself_up(j)
    bureau_resolves_a_binding_dispute(j, login_parent, wechat_sim)
    bureau_replays_a_dead_letter(j)
    assert errors == []
