"""The bureau sets up next year's season in the console, in a real browser: a draft copied
from this year's season (seat plans, priority tiers, must-read notice, timeline a year on),
the window and the notice edited with a refused value shown at its field, a seat plan and a
priority tier set for the draft on the 招生计划 page beside this year's registration counts,
and the season published — each step checked against the database.

Screenshots for docs/CONSOLE.md: docs/console-season-setup.png, docs/console-seat-plans.png
(1366 × 768). Also the imports page's dry run with its row errors in a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from backend.admission.models import PriorityTier
from backend.core.db import db
from backend.core.timeutil import local_datetime
from backend.schools.models import School, SeatPlan
from backend.seasons.models import Season, SeasonStatus
from tests.console._support import (
    Console,
    add_priority_tier,
    build_county,
    create_season_from,
    expect_season_saved,
    expected_counts,
    picture,
    plan_seats,
    publish_season,
    save_season,
    save_tiers,
)
from tests.console.test_browser_overview import sign_in

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

NOTICE = "一、今年起户口簿须提供户主页和儿童本人页。\n二、咨询电话：0358-0000000（示例）。"


def _doc_shot(page: Page, shots: Any, name: str) -> None:
    """The test's screenshot, also the docs' picture (when refreshed), from the top."""
    picture(page, shots, name, f"console-{name}", top=True)


def _season(year: int, authority_id: int) -> Season:
    db.session.expire_all()
    season = db.session.scalar(select(Season).where(Season.year == year,
                                                    Season.authority_id == authority_id))
    assert season is not None
    return season


def test_the_bureau_sets_up_next_years_season_from_this_years(
        console: Console, office_page: Page, shots: Any, session: Any) -> None:
    page = office_page
    with console.exclusive():
        county = build_county()
        current = county.season
        current.must_read_notice = "请如实填写。"
        db.session.add_all(PriorityTier(season_id=current.id, school_id=county.school_a.id,
                                        rank=rank, key=key, label=label, rule=rule)
                           for rank, key, label, rule in (
                               (1, "hukou", "户籍在片区内", {"hukou_in_zone": True}),
                               (2, "others", "其他", {})))
        db.session.flush()
        year, authority_id = current.year + 1, county.authority.id
        code_a, code_b = county.school_a.code, county.school_b.code
        counts = expected_counts(county)["schools"]
    sign_in(page, console, county.username("bureau"), "/console/settings/season")
    expect(page.get_by_test_id(f"status-{current.id}")).to_have_text("已发布")

    # --- a draft copied from this year's season ----------------------------------------------
    create_season_from(page, current, year)
    expect(page.get_by_test_id("copy-summary")).to_contain_text("5 所学校的招生计划")
    expect(page.get_by_test_id("copy-summary")).to_contain_text("1 所学校的优先顺序")
    with console.exclusive():
        draft = _season(year, authority_id)
        draft_id = draft.id
        assert draft.status is SeasonStatus.DRAFT and draft.must_read_notice == "请如实填写。"
        plans = {p.school_id: (p.classes, p.class_size) for p in db.session.scalars(
            select(SeatPlan).where(SeatPlan.season_id == draft_id))}
        assert plans == {p.school_id: (p.classes, p.class_size) for p in db.session.scalars(
            select(SeatPlan).where(SeatPlan.season_id == current.id))}
        assert [t.key for t in db.session.scalars(select(PriorityTier).where(
            PriorityTier.season_id == draft_id).order_by(PriorityTier.rank))] == ["hukou", "others"]
    expect(page.get_by_test_id(f"status-{draft_id}")).to_have_text("草稿")
    expect(page.get_by_test_id("season-note")).to_contain_text("家长和公众看不到")

    # --- the window and the notice; a wrong window is refused at its field --------------------
    save_season(page, opens=f"{year}-08-03T08:00", closes=f"{year}-08-02T18:00")
    expect(page.get_by_test_id("error-registration_closes_at")).to_contain_text("晚于开始时间")
    with console.exclusive():
        assert _season(year, authority_id).registration_opens_at != local_datetime(year, 8, 3, 8)
    save_season(page, closes=f"{year}-08-07T17:30", notice=NOTICE)
    expect_season_saved(page)
    with console.exclusive():
        saved = _season(year, authority_id)
        assert (saved.registration_opens_at, saved.registration_closes_at) == (
            local_datetime(year, 8, 3, 8, 0), local_datetime(year, 8, 7, 17, 30))
        assert saved.must_read_notice == NOTICE
        [registration] = [p for p in saved.phases if p.key == "registration"]
        assert registration.starts_at == saved.registration_opens_at
    page.evaluate("document.getElementById('phase-form').scrollIntoView()")
    shots(page, "phases")
    _doc_shot(page, shots, "season-setup")

    # --- 招生计划: this year's counts, then the draft's plan and a tier ------------------------
    page.goto(console.url + "/console/admission/seat-plans")
    expect(page.get_by_test_id("season-select")).to_have_value(str(current.id))
    for code in (code_a, code_b):
        expect(page.get_by_test_id(f"registrations-{code}")).to_have_text(
            str(counts[code]["active"]))
    expect(page.get_by_test_id("cap-hint")).to_contain_text("班额上限 45 人")
    _doc_shot(page, shots, "seat-plans")

    page.get_by_test_id("season-select").select_option(str(draft_id))
    expect(page.get_by_test_id("draft-note")).to_be_visible()
    expect(page.get_by_test_id(f"registrations-{code_a}")).to_have_text("0")
    plan_seats(page, code_a, 3, 46)
    expect(page.get_by_test_id("error-class_size")).to_contain_text("不能超过45人")
    page.fill(".modal input[name=class_size]", "40")
    page.get_by_test_id("modal-submit").click()
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(page.get_by_test_id(f"seats-{code_a}")).to_have_text("120")
    with console.exclusive():
        plan = db.session.scalar(select(SeatPlan).where(
            SeatPlan.season_id == draft_id, SeatPlan.school_id == county.school_a.id)
            .execution_options(populate_existing=True))
        assert plan is not None and (plan.classes, plan.class_size) == (3, 40)
        old = db.session.scalar(select(SeatPlan).where(
            SeatPlan.season_id == current.id, SeatPlan.school_id == county.school_a.id))
        assert old is not None and (old.classes, old.class_size) == (1, 40)

    add_priority_tier(page, code_b, "持居住证的随迁子女", "residence_permit", "true")
    expect(page.get_by_test_id("tier-intro")).to_contain_text("系统默认顺序")
    shots(page, "tiers")
    save_tiers(page)
    with console.exclusive():
        db.session.expire_all()
        tiers = list(db.session.scalars(select(PriorityTier).where(
            PriorityTier.season_id == draft_id, PriorityTier.school_id == county.school_b.id)
            .order_by(PriorityTier.rank)))
        assert tiers[-1].key == "others" and tiers[-1].rule == {}
        assert (tiers[-2].label, tiers[-2].rule) == ("持居住证的随迁子女",
                                                     {"residence_permit": True})
        assert not db.session.scalars(select(PriorityTier).where(
            PriorityTier.season_id == current.id,
            PriorityTier.school_id == county.school_b.id)).first()

    # --- publish ------------------------------------------------------------------------------
    page.goto(console.url + f"/console/settings/season?season={draft_id}")
    publish_season(page, draft_id)
    with console.exclusive():
        assert _season(year, authority_id).status is SeasonStatus.PUBLISHED


def test_the_imports_dry_run_shows_each_bad_row_in_a_table(
        console: Console, office_page: Page, shots: Any, session: Any,
        tmp_path: Path) -> None:
    page = office_page
    with console.exclusive():
        county = build_county(scale=0.1)
        schools_before = db.session.scalar(select(func.count()).select_from(School))
    bad = tmp_path / "schools.csv"
    bad.write_text("学校代码,学校名称,办学类型,所在乡镇代码,地址,咨询电话\n"
                   "T-01,示例新建小学（样例数据）,公办,,示例路1号,0358-0000000\n"
                   ",没有代码的小学,公办,,,\n"
                   "T-03,示例第三小学（样例数据）,国办,,,\n", encoding="utf-8")
    sign_in(page, console, county.username("bureau"), "/console/settings/imports")
    page.select_option("#kind", "schools")
    page.get_by_test_id("dry-run").click()
    expect(page.get_by_test_id("error-file")).to_be_visible()  # no file chosen
    page.set_input_files("#file", str(bad))
    page.get_by_test_id("dry-run").click()
    expect(page.get_by_test_id("import-refused")).to_contain_text("2 行错误")
    rows = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("3")
    expect(rows.nth(0)).to_contain_text("学校代码")
    expect(rows.nth(1)).to_contain_text("4")
    expect(rows.nth(1)).to_contain_text("办学类型")
    expect(page.locator("#commit")).to_be_disabled()
    shots(page, "import-errors")

    header = tmp_path / "header.csv"
    header.write_text("代码,名称\nT-01,示例\n", encoding="utf-8")
    page.set_input_files("#file", str(header))
    page.get_by_test_id("dry-run").click()
    expect(page.get_by_test_id("import-refused")).to_contain_text("表头不正确")
    expect(page.locator("#report")).to_contain_text("学校名称")

    good = tmp_path / "good.csv"
    good.write_text("学校代码,学校名称,办学类型,所在乡镇代码,地址,咨询电话\n"
                    "T-01,示例新建小学（样例数据）,公办,,示例路1号,0358-0000000\n",
                    encoding="utf-8")
    page.set_input_files("#file", str(good))
    page.get_by_test_id("dry-run").click()
    expect(page.get_by_test_id("import-report")).to_contain_text("1")
    expect(page.locator("#commit")).to_be_enabled()
    with console.exclusive():
        assert db.session.scalar(select(func.count()).select_from(School)) == schools_before
