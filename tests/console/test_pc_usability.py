"""The parent's PC pages (docs/PC.md) usable on an office PC (1366 × 768) and on a tablet
(768 × 1024), each in the normal and the 大字 size: axe-core's WCAG 2 A/AA checks, no
sideways scrolling, every control reached with Tab and visibly focused, nothing click-only.
The pages are every GET rule of the portal's `pc_` endpoints without arguments, so a page
added later is checked too; /pc/login signed out, the others signed in as a parent with a
child (of a special group, so its extra fields show) and a registration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.core.db import utcnow
from backend.identity.models import Guardian
from backend.registrations.models import RegistrationEvent, RegistrationStatus
from backend.schools.models import RegionLevel
from tests.console._support import Console
from tests.console.test_browser_pc_journey import sign_in_bound
from tests.console.test_usability import CLICK_ONLY_JS, FOCUSABLE, axe_problems, tab_problems
from tests.factories import (
    make_authority,
    make_child,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_seat_plan,
)

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

SCREENS = {"pc-1366": (1366, 768), "tablet-768": (768, 1024)}
LOGIN = "/pc/login"
LARGE_KEY = "pc-large-text"

# Shown before a page is checked, so that the fields a page hides until asked are checked
# as well: on 我的孩子, a passport (birth date and sex), the actual address, and the groups
# with their own fields (居住证, the placement wish).
SHOW_ALL_FIELDS = {
    "/pc/children": """() => {
      const form = document.getElementById('pc-child-form');
      form.elements.document_type.value = 'foreign_passport';
      form.elements.has_residence.checked = true;
      form.querySelectorAll('input[name=categories]').forEach(box => {
        if (box.value === 'migrant' || box.value === 'disability') box.checked = true;
      });
      form.elements.document_type.dispatchEvent(new Event('change'));
      form.elements.has_residence.dispatchEvent(new Event('change'));
      form.querySelector('input[name=categories]').dispatchEvent(new Event('change'));
    }""",
}
# What each page shows once its data has arrived.
READY = {
    "/pc/": "#pc-user-name:not(:text('正在读取…'))",
    "/pc/identity": "#pc-identity-done",
    "/pc/children": "#pc-category-list input[value=migrant]",
    "/pc/register": "#pc-register-form .pc-document",
    "/pc/registrations": ".pc-registration",
    "/pc/registrations/<id>": "#pc-fix-form",
}
# PC rules with arguments: the page to open for the family (None: not a page, e.g. an image).
WITH_ARGUMENTS: dict[str, Callable[[dict[str, Any]], str] | None] = {
    "portal.pc_registration": lambda family: f"/pc/registrations/{family['registration'].id}",
    "portal.pc_ticket_qr": None,
}


def pc_pages(app: Flask) -> list[str]:
    """Every PC page: the GET rules of the portal's `pc_` endpoints without arguments."""
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("portal.pc_") and "GET" in (rule.methods or ())
                  and not rule.arguments)


@pytest.fixture()
def family(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The county with an open season and a zoned school; a parent, bound, with a migrant
    child and its registration."""
    authority = make_authority(name="示例县教育局")
    monkeypatch.setitem(app.config, "DEFAULT_AUTHORITY", authority.code)
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    town = make_region(authority, name="临泉镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例一村")
    school = make_school(authority, zone=[village], name="临泉镇第一小学")
    make_seat_plan(season, school)
    return {"season": season, "village": village, "school": school, "year": now.year + 1}


def migrant_child_registered(family: dict[str, Any]) -> Callable[[Guardian], None]:
    """Adds to a guardian a migrant child (with a 居住证) and its registration."""

    def add(guardian: Guardian) -> None:
        child = make_child(guardian, family["village"], name="王小示",
                           birth=dt.date(family["year"] - 7, 5, 1))
        child.categories = ["migrant"]
        child.residence_permit = {"number_enc": None, "issued_on": "2024-03-01",
                                  "expires_on": None, "issuing_city": ""}
        # Returned by the school, so its page shows the fix form too.
        registration = make_registration(family["season"], child, family["school"],
                                         status=RegistrationStatus.RETURNED,
                                         fix_deadline=utcnow() + dt.timedelta(days=2))
        registration.events.append(RegistrationEvent(
            status=RegistrationStatus.SUBMITTED, actor_user_id=guardian.user_id,
            actor_role="parent", occurred_at=utcnow()))
        registration.events.append(RegistrationEvent(
            status=RegistrationStatus.RETURNED, actor_user_id=None, actor_role="school_staff",
            reason_code="PHOTO_BLURRY", occurred_at=utcnow()))
        family["registration"] = registration

    return add


def page_problems(page: Page, path: str) -> list[str]:
    """What fails on the page now open."""
    if path in SHOW_ALL_FIELDS:
        page.evaluate(SHOW_ALL_FIELDS[path])
    found = [f"axe {p}" for p in axe_problems(page)]
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        found.append(f"the page scrolls sideways: {width[0]} > {width[1]}")
    found += [f"click-only: {c}" for c in page.evaluate(CLICK_ONLY_JS, ["body", FOCUSABLE])]
    tabbing = tab_problems(page, "body")
    found += [f"not reached with Tab: {d}" for d in tabbing["unreached"]]
    found += [f"no visible focus: {d}" for d in tabbing["unmarked"]]
    found += [f"positive tabindex: {d}" for d in tabbing["ordered"]]
    return found


def visit(page: Page, console: Console, path: str, *, large: bool) -> list[str]:
    """Open the page at the size asked (大字 as the toggle leaves it in the browser)."""
    page.evaluate(f"localStorage.setItem({LARGE_KEY!r}, {'1' if large else '0'!r})")
    page.goto(console.url + path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_be_visible()
    ready = READY.get(path) or READY.get(path.rsplit("/", 1)[0] + "/<id>")
    if ready:
        expect(page.locator(ready).first).to_be_attached()
    expect(page.locator("html.pc-large")).to_have_count(1 if large else 0)
    return page_problems(page, path)


@pytest.mark.parametrize("screen", SCREENS)
def test_every_pc_page_is_usable_at_both_sizes_and_in_large_text(
        app: Flask, browser: Browser, client: FlaskClient, console: Console,
        family: dict[str, Any], login_parent: Callable[..., dict[str, Any]], shots: Any,
        screen: str) -> None:
    pages = pc_pages(app)
    assert LOGIN in pages and "/pc/children" in pages, pages
    with_arguments = {rule.endpoint for rule in app.url_map.iter_rules()
                      if rule.endpoint.startswith("portal.pc_") and rule.arguments}
    # A new PC page with arguments must say here how to open it.
    assert with_arguments == set(WITH_ARGUMENTS), with_arguments
    width, height = SCREENS[screen]
    context: BrowserContext = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN",
        timezone_id="Asia/Shanghai", has_touch=screen.startswith("tablet"))
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        problems: dict[str, list[str]] = {}
        page.goto(console.url + LOGIN)
        for large in (False, True):
            problems[f"{LOGIN} 大字={large}"] = visit(page, console, LOGIN, large=large)
        # The toggle on the page works (not only the stored choice).
        page.get_by_role("button", name="大字").click()
        expect(page.locator("html.pc-large")).to_have_count(0)
        sign_in_bound(page, client, console, login_parent, "王示例",
                      migrant_child_registered(family))
        pages += [make(family) for make in WITH_ARGUMENTS.values() if make is not None]
        for path in pages:
            if path == LOGIN:
                continue
            for large in (False, True):
                problems[f"{path} 大字={large}"] = visit(page, console, path, large=large)
            shots(page, f"{screen}{path.replace('/', '-')}-large", full_page=True)
    finally:
        context.close()
    problems = {where: found for where, found in problems.items() if found}
    assert problems == {}, "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
