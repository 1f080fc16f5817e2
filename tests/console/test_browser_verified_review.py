"""Reviewing what government data verified, in a real browser: each requirement's line
(已由户籍信息核验 · 参考号 … · 时间) and a mismatch's reason in the drawer, the "仅显示全部已核验"
filter, and 批量通过 with a confirmation that says how many."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.core.db import db, utcnow
from backend.govdata.sources import Fact
from backend.registrations.models import Basis, Registration, RegistrationStatus
from backend.verification.models import CheckStatus, DataCheck
from tests.console._support import Console, build_county
from tests.console.test_browser_overview import sign_in

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow


def test_a_reviewer_sees_what_sources_verified_and_approves_those_at_once(
        console: Console, page: Page, shots: Any, session: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.3)
        own = [r for r in county.registrations if r.school_id == county.school_a.id]
        simple = [r for r in own if r.basis is Basis.HUKOU and not r.child.categories
                  and r.status in (RegistrationStatus.SUBMITTED,
                                   RegistrationStatus.UNDER_REVIEW)]
        verified, mismatched = simple[:2], simple[2]
        for registration in verified:
            db.session.add(DataCheck(
                child_id=registration.child_id, fact=Fact.HOUSEHOLD,
                status=CheckStatus.CONFIRMED, source="县公安局户籍（示例）",
                reference=f"HJ-{registration.id}", checked_at=utcnow(), attempts=1))
        db.session.add(DataCheck(
            child_id=mismatched.child_id, fact=Fact.HOUSEHOLD, status=CheckStatus.MISMATCH,
            source="县公安局户籍（示例）", reference="HJ-X", checked_at=utcnow(),
            reason="户主姓名与登记不一致", attempts=1))
        db.session.commit()
        ids = sorted(r.id for r in verified)

    sign_in(page, console, county.username("a"), "/console/reviews")
    page.get_by_test_id("filter-verified").check()
    page.click("#filters button[type=submit]")
    expect(page.locator("#list-summary")).to_contain_text(f"共 {len(ids)} 条")
    page.get_by_test_id(f"row-{ids[0]}").click()
    expect(page.get_by_test_id("requirement-source-hukou_book")).to_contain_text(
        f"已由户籍信息核验（县公安局户籍（示例）） · 参考号 HJ-{ids[0]}")
    shots(page, "review-verified-requirement")
    page.keyboard.press("Escape")

    page.get_by_test_id("filter-verified").uncheck()
    page.fill("input[name=q]", str(mismatched.id))
    page.click("#filters button[type=submit]")
    page.get_by_test_id(f"row-{mismatched.id}").click()
    expect(page.get_by_test_id("requirement-reason-hukou_book")).to_contain_text(
        "户籍信息核验未通过：户主姓名与登记不一致")
    page.keyboard.press("Escape")
    page.fill("input[name=q]", "")

    page.get_by_test_id("batch-approve").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text(f"将通过 {len(ids)} 条报名")
    shots(page, "review-batch-confirm")
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".toast.success")).to_contain_text(f"已通过 {len(ids)} 条")

    with console.exclusive():
        db.session.expire_all()
        statuses = dict(db.session.execute(select(Registration.id, Registration.status).where(
            Registration.id.in_([*ids, mismatched.id]))).all())
    assert [statuses[i] for i in ids] == [RegistrationStatus.APPROVED] * len(ids)
    assert statuses[mismatched.id] is not RegistrationStatus.APPROVED
