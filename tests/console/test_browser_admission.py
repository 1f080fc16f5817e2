"""The bureau's admission in the console, in a real browser: on an oversubscribed school,
freeze the list (commitment shown), draw with the public value, download the evidence and
verify it with scripts/verify_lottery, a practice run that can never be made public, offers
and the waitlist moving when a family declines, a placement (统筹) with a required reason,
publishing the admitted list and the public look-up, and the student-registry export —
each step checked against the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from backend.accounts.models import User
from backend.admission.models import Lottery, Offer, OfferSource, OfferStatus
from backend.admission.services import pseudonym
from backend.audit.models import AuditEvent
from backend.core import pii
from backend.core.db import db
from backend.registrations.models import Registration
from tests.admission._support import (
    PUBLIC_VALUE,
    PUBLIC_VALUE_SOURCE,
    County,
    applicant,
    build_county,
    child_of,
    run_verifier,
)
from tests.conftest import bearer
from tests.console._support import Console, confirm, download, look_up, picture
from tests.console.test_browser_overview import sign_in

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

def _shot(page: Page, shots: Any, name: str, *, top: bool = False) -> None:
    """The test's screenshot, also kept as the docs' picture of the page."""
    picture(page, shots, name, f"console-admission-{name}", top=top)


def test_a_clerk_runs_a_schools_admission_from_the_console(
        client: FlaskClient, console: Console, office_page: Page, shots: Any,
        session: Any, tmp_path: Path, login_staff: Callable[[str, str], dict[str, Any]],
        login_parent: Callable[..., dict[str, Any]]) -> None:
    page = office_page
    with console.exclusive():
        county: County = build_county(login_staff)
        parents = [login_parent() for _ in range(9)]
        registrations = [applicant(county, county.school_a,
                                   user=db.session.get(User, p["user"]["id"]))
                         for p in parents]
        tokens = {r.id: p["token"] for r, p in zip(registrations, parents, strict=True)}
        code_a, code_b = county.school_a.code, county.school_b.code
    sign_in(page, console, county.usernames["bureau"], "/console/admission/lotteries")

    # --- the lottery, step by step -------------------------------------------------------
    expect(page.get_by_test_id(f"applicants-{code_a}")).to_have_text("9")
    page.get_by_test_id(f"open-{code_a}").click()
    expect(page.get_by_test_id("step-1")).to_have_attribute("data-state", "now")
    # A practice run first: marked at every step, never public, offers nothing.
    page.get_by_test_id("mode-practice").click()
    expect(page.get_by_test_id("practice-banner")).to_be_visible()
    page.get_by_test_id("public-value-source-input").fill(PUBLIC_VALUE_SOURCE)
    page.get_by_test_id("freeze").click()
    confirm(page, "演练名单不公布")
    page.get_by_test_id("public-value").fill("演练用 01 02 03")
    page.get_by_test_id("draw").click()
    confirm(page, "演练结果不公示")
    expect(page.get_by_test_id("publish-locked")).to_be_disabled()
    expect(page.get_by_test_id("lottery-status")).to_contain_text("【演练】")
    with console.exclusive():
        practice = db.session.scalar(select(Lottery).where(Lottery.is_practice.is_(True)))
        assert practice is not None and practice.published_at is None
        assert client.get(f"/api/v1/lotteries/{practice.id}").status_code == 404
        assert db.session.scalar(select(func.count()).select_from(Offer).where(
            Offer.lottery_id == practice.id)) == 0
    _shot(page, shots, "lottery-practice")
    page.get_by_test_id("mode-real").click()
    expect(page.get_by_test_id("practice-banner")).to_be_hidden()


    # The real lottery.
    page.get_by_test_id("freeze").click()  # no public value source named: refused at the field
    expect(page.get_by_test_id("error-public_value_source")).to_be_visible()
    page.get_by_test_id("public-value-source-input").fill(PUBLIC_VALUE_SOURCE)
    _shot(page, shots, "lottery-freeze", top=True)
    page.get_by_test_id("freeze").click()
    confirm(page, "冻结后名单不可更改")

    expect(page.get_by_test_id("commitment")).to_be_visible()
    with console.exclusive():
        lottery = db.session.scalar(select(Lottery).where(
            Lottery.school_id == county.school_a.id, Lottery.is_practice.is_(False)))
        assert lottery is not None and lottery.status.value == "frozen"
        commitment, lottery_id = lottery.commitment, lottery.id
        assert lottery.applicant_count == 9 and lottery.seats == 6
    expect(page.get_by_test_id("commitment")).to_have_text(commitment)
    expect(page.get_by_test_id("public-value-source")).to_have_text(PUBLIC_VALUE_SOURCE)
    expect(page.get_by_test_id("step-2")).to_have_attribute("data-state", "now")
    _shot(page, shots, "lottery-frozen")

    page.get_by_test_id("draw").click()  # an empty public value: refused at the field
    expect(page.get_by_test_id("error-public_value")).to_be_visible()
    page.get_by_test_id("public-value").fill(PUBLIC_VALUE)
    page.get_by_test_id("draw").click()
    confirm(page, "不可撤销、不可重抽")
    expect(page.get_by_test_id("admitted-count")).to_have_text("6")
    expect(page.get_by_test_id("waitlist-count")).to_have_text("3")
    expect(page.get_by_test_id("published")).to_contain_text("已公示")
    expect(page.get_by_test_id("step-5")).to_have_attribute("data-state", "done")
    with console.exclusive():
        db.session.expire_all()
        drawn = db.session.get(Lottery, lottery_id)
        assert drawn is not None and drawn.status.value == "drawn"
        assert drawn.public_value == PUBLIC_VALUE
        lottery_offers = list(db.session.scalars(select(Offer).where(
            Offer.lottery_id == lottery_id).order_by(Offer.id)))
        assert len(lottery_offers) == 6
        assert {o.status for o in lottery_offers} == {OfferStatus.OFFERED}
        entries = sorted(drawn.entries, key=lambda e: e.position or 0)
        waitlisted = [e for e in entries if e.outcome and e.outcome.value == "waitlisted"]
    expect(page.get_by_test_id("public-value-used")).to_have_text(PUBLIC_VALUE)
    rows = page.get_by_test_id("result-table").locator("tbody tr")
    expect(rows).to_have_count(9)
    for n, entry in enumerate(entries):
        expect(rows.nth(n)).to_contain_text(entry.pseudonym)
    _shot(page, shots, "lottery-result")

    evidence = download(page, "evidence", tmp_path)
    verified = run_verifier(evidence, "--commitment", commitment)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PRACTICE" not in verified.stdout

    # --- offers and the waitlist ----------------------------------------------------------
    page.goto(console.url + "/console/admission/offers")
    page.get_by_test_id("filter-school").select_option(str(county.school_a.id))
    page.locator("#filters button[type=submit]").click()
    offer_rows = page.get_by_test_id("offers-table").locator("tbody tr")
    expect(offer_rows).to_have_count(6)
    for offer in lottery_offers:
        expect(page.get_by_test_id(f"offer-status-{offer.id}")).to_have_text("待确认")
    for n in (1, 2, 3):
        expect(page.get_by_test_id(f"waitlist-state-{n}")).to_have_text("候补中")

    declining = lottery_offers[0]
    with console.exclusive():
        declined = client.post(f"/api/v1/offers/{declining.id}/decline",
                               headers=bearer(tokens[declining.registration_id]))
        assert declined.status_code == 200
    page.locator("#filters button[type=submit]").click()
    expect(page.get_by_test_id(f"offer-status-{declining.id}")).to_have_text("已放弃")
    expect(page.get_by_test_id("waitlist-state-1")).to_have_text("已递补·待确认")
    expect(page.get_by_test_id("waitlist-state-2")).to_have_text("候补中")
    with console.exclusive():
        moved = db.session.scalar(select(Offer).where(
            Offer.lottery_entry_id == waitlisted[0].id))
        assert moved is not None and moved.source is OfferSource.WAITLIST
        assert moved.status is OfferStatus.OFFERED
    expect(offer_rows).to_have_count(7)

    # --- placement (统筹) with a reason --------------------------------------------------
    last = waitlisted[2]
    page.get_by_test_id(f"place-{last.registration_id}").click()
    page.select_option(".modal select[name=school_id]", str(county.school_b.id))
    page.get_by_test_id("modal-submit").click()
    expect(page.get_by_test_id("error-reason")).to_be_visible()
    page.fill(".modal textarea[name=reason]", "甲校学位已满，按就近原则统筹到乙校")
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(page.get_by_test_id(f"place-{last.registration_id}")).to_have_count(0)
    expect(page.get_by_test_id("waitlist-state-3")).to_have_text("已在其他学校获得学位")
    with console.exclusive():
        placed = db.session.scalar(select(Offer).where(
            Offer.registration_id == last.registration_id,
            Offer.source == OfferSource.BUREAU_PLACEMENT))
        assert placed is not None and placed.school_id == county.school_b.id
        assert placed.placement_reason == "甲校学位已满，按就近原则统筹到乙校"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "admission.placement",
            AuditEvent.object_id == str(placed.id))) == 1
    _shot(page, shots, "offers", top=True)

    # --- families confirm; the list is published and looked up -----------------------------
    confirming = lottery_offers[1:4]
    with console.exclusive():
        for offer in confirming:
            answer = client.post(f"/api/v1/offers/{offer.id}/confirm",
                                 headers=bearer(tokens[offer.registration_id]))
            assert answer.status_code == 200
    page.goto(console.url + "/console/admission/admitted-lists")
    expect(page.get_by_test_id(f"confirmed-{code_a}")).to_have_text("3")
    expect(page.get_by_test_id(f"list-status-{code_a}")).to_have_text("未公布")
    page.get_by_test_id(f"publish-{code_a}").click()
    confirm(page, "公布后不能撤回")
    expect(page.get_by_test_id(f"list-status-{code_a}")).to_contain_text("已公布")
    _shot(page, shots, "lists")

    with console.exclusive():
        season_id = county.season.id
        listed = client.get(f"/api/v1/admitted-lists/{code_a}?season_id={season_id}").get_json()
        expected = sorted(pseudonym(season_id, o.child_id) for o in confirming)
        assert sorted(r["pseudonym"] for r in listed["items"]) == expected
        registration = db.session.get(Registration, confirming[0].registration_id)
        assert registration is not None
        child = child_of(registration)
        assert child.id_number_enc
        last4 = pii.decrypt(child.id_number_enc, "child.id_number")[-4:]
        birth = child.birth_date.isoformat()
        found = client.post("/api/v1/admitted-lists/lookup", json={
            "season_id": season_id, "school_code": code_a, "id_last4": last4,
            "birth_date": birth}).get_json()
        assert found == {"admitted": True, "message": "已在该校录取名单中"}
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "admission.list_publish")) == 1

    # The public page the console links to: the list and the look-up, no login.
    with page.expect_popup() as popup:
        page.get_by_test_id(f"public-page-{code_a}").click()
    public = popup.value
    expect(public.locator("#admitted-table tbody tr")).to_have_count(3)
    look_up(public, last4, birth, "已在该校录取名单中")
    public.set_viewport_size({"width": 1366, "height": 768})
    _shot(public, shots, "public-lookup")
    public.close()

    # --- the student registry --------------------------------------------------------------
    page.get_by_test_id("registry-school").select_option(str(county.school_a.id))
    page.get_by_test_id("registry-export").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("完整证件号码")
    with page.expect_download() as registry:
        page.get_by_test_id("modal-submit").click()
    sheet = tmp_path / registry.value.suggested_filename
    registry.value.save_as(sheet)
    workbook = load_workbook(sheet, read_only=True)
    try:
        rows_out = list(workbook["新生学籍"].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert rows_out[0][2] == "个人编号"
    assert sorted(r[2] for r in rows_out[1:]) == expected
    assert code_b not in {r[0] for r in rows_out[1:]}


def test_switching_to_practice_leaves_no_real_lottery_form_under_the_practice_banner(
        console: Console, office_page: Page, session: Any,
        login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    page = office_page
    with console.exclusive():
        county: County = build_county(login_staff)
        for _ in range(8):
            applicant(county, county.school_a)
        code_a = county.school_a.code
    sign_in(page, console, county.usernames["bureau"],
            f"/console/admission/lotteries?school={code_a}")
    expect(page.get_by_test_id("freeze")).to_have_text("冻结名单并公布承诺值")

    # The server is busy (the test holds it): until the practice runs come, the step shows
    # nothing to act on, never the real freeze under the practice banner.
    with console.exclusive():
        page.get_by_test_id("mode-practice").click()
        expect(page.get_by_test_id("practice-banner")).to_be_visible()
        expect(page.get_by_test_id("step-loading")).to_be_visible()
        expect(page.get_by_test_id("freeze")).to_have_count(0)
    expect(page.get_by_test_id("freeze")).to_have_text("冻结演练名单")
