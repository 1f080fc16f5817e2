"""The console's usability on every page of both roles, in a real browser at an office PC's
screen size (1366 × 768): axe-core's WCAG 2 A/AA checks, no sideways scrolling of the page,
every control of the main area reachable with Tab and visibly focused, no click-only
controls, empty states that say what to do next, and a dialog that keeps and returns focus."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from backend.console.nav import visible_sections
from backend.core.db import db
from tests.console._support import Console, build_county
from tests.console.test_browser_overview import sign_in
from tests.factories import make_authority, make_region, make_school, make_staff

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

AXE = Axe()
# All WCAG 2.0/2.1 A and AA rules; none is switched off. (One that had to be would go in
# "rules": {"<id>": {"enabled": False}}, each with the reason beside it.)
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}
AXE_NODES_SHOWN = 8

# What each page's table says in a county that has nothing yet: the next step to take.
# Not listed: 数据导出 and 学校与片区导入 have no list to be empty; 账号管理 and 操作日志 always
# have rows (the county's staff accounts, their sign-ins).
EMPTY_STATES = {
    "console.overview": "还没有招生季",
    "console.reviews_queue": "家长在小程序提交的报名会出现在这里",
    "console.announcements": "点击右上角“新建公告”",
    "console.complaints": "会出现在这里",
    "console.seat_plans": "还没有招生季",
    "console.lotteries": "还没有招生季",
    "console.offers": "还没有招生季",
    "console.admitted_lists": "还没有招生季",
    "console.onsite": "还没有招生季",
    "console.classes": "还没有招生季",
    "console.disputes": "绑定申诉会出现在这里",
    "console.dead_letters": "没有失败任务",
    "console.notices": "放宽筛选条件",
    "console.season": "还没有招生季：点击右上角“从上一季复制新建”",
}

# Everything a keyboard user can land on, and what counts as visible.
FOCUSABLE = ("a[href], button, input:not([type=hidden]), select, textarea, summary, "
             "[tabindex]:not([tabindex='-1'])")

UNREACHED_JS = """([scope, selector]) => {
  const visible = el => el.checkVisibility({visibilityProperty: true, opacityProperty: true})
    && el.getClientRects().length > 0;
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.name ? '[name=' + el.name + ']' : '') + ' "' + (el.textContent || el.getAttribute(
      'aria-label') || el.placeholder || '').trim().slice(0, 30) + '"';
  const targets = Array.from(document.querySelector(scope).querySelectorAll(selector))
    .filter(el => !el.disabled && !el.closest('[inert]') && visible(el));
  // Tabs follow the tab pattern: one stop per tab list, arrow keys move between its tabs.
  const reached = el => window.__focused.has(el) || (el.getAttribute('role') === 'tab'
    && Array.from(el.closest('[role=tablist]').querySelectorAll('[role=tab]'))
      .some(tab => window.__focused.has(tab)));
  return {
    unreached: targets.filter(el => !reached(el)).map(describe),
    unmarked: Array.from(window.__unmarked).map(describe),
    ordered: Array.from(document.querySelectorAll('[tabindex]'))
      .filter(el => el.tabIndex > 0).map(describe),
  };
}"""

# The focus ring: an outline or a box-shadow while focused by the keyboard.
WATCH_FOCUS_JS = """() => {
  window.__focused = new Set();
  window.__unmarked = new Set();
  const start = document.createElement('span');
  start.tabIndex = -1;
  start.id = '__tab-start';
  document.body.prepend(start);
  document.addEventListener('focusin', event => { window.__focused.add(event.target); });
  start.focus();
}"""

RING_JS = """() => {
  const el = document.activeElement;
  // Focus inside a control's own parts (a date field's calendar button) has the browser's ring.
  if (!el || el === document.body || el.id === '__tab-start' || !el.matches(':focus')) return true;
  el.getAnimations().forEach(animation => animation.finish());  // the ring's transition
  const style = getComputedStyle(el);
  const ringed = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
    || (style.boxShadow && style.boxShadow !== 'none');
  if (!ringed) window.__unmarked.add(el);
  return ringed;
}"""

# Elements that look clickable (pointer cursor) with nothing a keyboard can reach under it.
CLICK_ONLY_JS = """([scope, selector]) => Array.from(document.querySelectorAll(scope + ' *'))
  .filter(el => el.getClientRects().length > 0 && getComputedStyle(el).cursor === 'pointer'
    && !el.closest(selector) && !el.closest('label')
    && getComputedStyle(el.parentElement).cursor !== 'pointer')
  .map(el => el.tagName.toLowerCase() + '.' + el.className + ' "'
    + (el.textContent || '').trim().slice(0, 30) + '"')"""


def axe_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations of WCAG 2 A/AA on the page."""
    results = AXE.run(page, options=AXE_OPTIONS)
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        nodes = violation["nodes"]
        for node in nodes[:AXE_NODES_SHOWN]:
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            reason = checks[0]["message"] if checks else ""
            problems.append(f"{violation['id']} ({violation['impact']}) "
                            f"{' '.join(str(t) for t in node['target'])}: {reason}")
        if len(nodes) > AXE_NODES_SHOWN:
            problems.append(f"{violation['id']}: {len(nodes) - AXE_NODES_SHOWN} more elements")
    return problems


def tab_problems(page: Page, scope: str = "main.content") -> dict[str, list[str]]:
    """Tab from the top of the page through everything once: what in `scope` (the main area)
    was never reached, what was reached without a visible focus ring, and positive tab
    indexes."""
    page.evaluate(WATCH_FOCUS_JS)
    # A date field is three stops (year, month, day).
    stops = int(page.evaluate(f"document.querySelectorAll({FOCUSABLE!r}).length")) + 3 + 2 * int(
        page.evaluate("document.querySelectorAll('input[type=date]').length"))
    for _ in range(stops):
        page.keyboard.press("Tab")
        page.evaluate(RING_JS)
    found: dict[str, list[str]] = page.evaluate(UNREACHED_JS, [scope, FOCUSABLE])
    page.evaluate("document.getElementById('__tab-start').remove()")
    return found


def walk_every_page(page: Page, role: str, *, empty: bool) -> dict[str, list[str]]:
    """Visit each page of the role's navigation and collect what fails there."""
    problems: dict[str, list[str]] = {}
    entries = [entry for section in visible_sections(role) for entry in section.pages]
    links = page.locator("nav.menu a.menu-item")
    assert links.all_inner_texts() == [entry.title for entry in entries]
    for n, entry in enumerate(entries):
        links.nth(n).click()
        expect(page.locator(".menu-item.active")).to_have_text(entry.title)
        page.wait_for_load_state("networkidle")
        expect(page.locator(".page-head h1")).to_be_visible()
        found: list[str] = [f"axe {p}" for p in axe_problems(page)]
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            found.append(f"the page scrolls sideways: {width[0]} > {width[1]}")
        found += [f"click-only: {c}"
                  for c in page.evaluate(CLICK_ONLY_JS, ["main.content", FOCUSABLE])]
        tabbing = tab_problems(page)
        found += [f"not reached with Tab: {d}" for d in tabbing["unreached"]]
        found += [f"no visible focus: {d}" for d in tabbing["unmarked"]]
        found += [f"positive tabindex: {d}" for d in tabbing["ordered"]]
        found += empty_state_problems(page, entry.endpoint if empty else None)
        if found:
            problems[entry.title] = found
    return problems


def empty_state_problems(page: Page, endpoint: str | None) -> list[str]:
    """No empty table just says 暂无数据; on an empty county (`endpoint` given) the page's
    table says what to do next."""
    texts = [t.strip() for t in page.locator(
        "main.content td.empty:visible, main.content .empty-state:visible").all_inner_texts()]
    found = [f"empty state without a next step: {t!r}" for t in texts if t in ("暂无数据", "")]
    expected = EMPTY_STATES.get(endpoint or "")
    if expected and not any(expected in t for t in texts):
        found.append(f"empty state {expected!r} missing (tables say {texts})")
    return found


def empty_county() -> dict[str, str]:
    """A county that has just been set up: one town and school, its staff, nothing else."""
    authority = make_authority(name="新建县教育局（示例）")
    town = make_region(authority, name="新城镇")
    school = make_school(authority, name="新城镇中心小学（示例）", town_id=town.id)
    suffix = uuid.uuid4().hex[:8]
    return {
        "a": make_staff(authority, school=school, username=f"empty-a-{suffix}",
                        display_name="孙老师").username or "",
        "bureau": make_staff(authority, username=f"empty-bureau-{suffix}",
                             display_name="周主任").username or "",
    }


@pytest.mark.parametrize("who", ["a", "bureau"])
@pytest.mark.parametrize("county_kind", ["with-data", "empty"])
def test_every_page_is_usable_with_the_keyboard_at_1366(
        console: Console, office: BrowserContext, session: Any, who: str,
        county_kind: str) -> None:
    with console.exclusive():
        if county_kind == "empty":
            usernames = empty_county()
        else:
            county = build_county(scale=0.3)
            usernames = {"a": county.username("a"), "bureau": county.username("bureau")}
        db.session.flush()
    page = office.new_page()
    sign_in(page, console, usernames[who])
    role = "school_staff" if who == "a" else "bureau_admin"
    problems = walk_every_page(page, role, empty=county_kind == "empty")
    assert problems == {}, "\n".join(
        f"{title}:\n  " + "\n  ".join(found) for title, found in problems.items())


def test_a_dialog_keeps_the_keyboard_inside_and_gives_focus_back(
        console: Console, office: BrowserContext, session: Any) -> None:
    with console.exclusive():
        county = build_county(scale=0.2)
    page = office.new_page()
    sign_in(page, console, county.username("bureau"), "/console/announcements")
    page.wait_for_load_state("networkidle")
    opener = page.get_by_test_id("new-announcement")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator(".modal[role=dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("新建公告")
    assert page.evaluate("document.querySelector('.modal').contains(document.activeElement)")
    assert axe_problems(page) == []
    for forward in (True, False):
        for _ in range(12):
            page.keyboard.press("Tab" if forward else "Shift+Tab")
            inside = page.evaluate(
                "document.querySelector('.modal').contains(document.activeElement)")
            assert inside, "Tab left the dialog"
    page.keyboard.press("Escape")
    expect(page.locator(".modal-mask")).to_have_count(0)
    expect(opener).to_be_focused()

    # The details drawer of the review queue: a row opened with Enter, closed with Esc.
    page.goto(f"{console.url}/console/reviews")
    page.wait_for_load_state("networkidle")
    row = page.locator("#table tbody tr").first
    row.focus()
    page.keyboard.press("Enter")
    drawer = page.locator("#drawer")
    expect(drawer).to_be_visible()
    expect(drawer).to_have_accessible_name(re.compile("^报名详情 · "))
    page.wait_for_load_state("networkidle")
    assert axe_problems(page) == []
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('drawer').contains(document.activeElement)"), \
            "Tab left the drawer"
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(row).to_be_focused()
