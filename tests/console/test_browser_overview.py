"""The overview in a real browser: signing in, live counts equal to the database, scope."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from backend.core.db import db
from backend.registrations.models import RegistrationStatus
from backend.stats.services import publish_version, refresh_counts, version_of
from tests.console._support import (
    Console,
    add_child,
    add_registration,
    build_county,
    expected_counts,
)
from tests.factories import STAFF_PASSWORD

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow


def sign_in(page: Page, console: Console, username: str, next_path: str = "/console/") -> None:
    """Sign in through the login page, as a person would."""
    page.goto(console.url + next_path)
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(console.url + next_path)


def test_bureau_admin_sees_the_county_counts_equal_to_the_database(
        console: Console, page: Page, shots: Any, session: Any) -> None:
    with console.exclusive():
        county = build_county()
        expected = expected_counts(county)
    sign_in(page, console, county.username("bureau"))
    expect(page.get_by_test_id("total-registrations")).to_have_text(str(expected["registrations"]))
    expect(page.get_by_test_id("total-active")).to_have_text(str(expected["active"]))
    expect(page.get_by_test_id("today")).to_have_text(str(expected["today"]))
    expect(page.get_by_test_id("pending")).to_have_text(str(expected["pending"]))
    for school in county.schools:
        counts = expected["schools"][school.code]
        expect(page.get_by_test_id(f"school-registrations-{school.code}")).to_have_text(
            str(counts["registrations"]))
        expect(page.get_by_test_id(f"school-active-{school.code}")).to_have_text(
            str(counts["active"]))
    expect(page.get_by_test_id(f"level-{county.school_a.code}")).to_have_text("已满")
    expect(page.get_by_test_id(f"level-{county.school_b.code}")).to_have_text("紧张")
    page.wait_for_timeout(800)  # the charts' entry animation
    shots(page, "overview-bureau")
    shots(page, "overview-bureau-full", full_page=True)


def test_school_staff_see_their_school_and_the_counts_follow_without_reloading(
        app: Flask, console: Console, page: Page, shots: Any, session: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CONSOLE_REFRESH_SECONDS", 1)
    with console.exclusive():
        county = build_county(scale=0.5)
        expected = expected_counts(county)["schools"][county.school_a.code]
    sign_in(page, console, county.username("a"))
    active = page.get_by_test_id(f"school-active-{county.school_a.code}")
    expect(active).to_have_text(str(expected["active"]))
    expect(page.get_by_test_id("total-active")).to_have_text(str(expected["active"]))
    # One row: the reviewer's own school; no other school's counts reach the page.
    assert page.locator("#schools-table tbody tr").count() == 1
    assert county.school_b.code not in page.content()
    shots(page, "overview-school")

    page.evaluate("window.notReloaded = true")
    with console.exclusive():
        child = add_child(county, county.villages[0])
        add_registration(county, child, county.school_a, status=RegistrationStatus.SUBMITTED)
        # What the workers' chore stats.refresh_wanted does: recount, commit, then tell the
        # read path (one Redis round trip) that a newer snapshot exists.
        snapshot = refresh_counts(db.session, county.season.id)
        db.session.commit()
        assert snapshot is not None
        publish_version(county.season.id, *version_of(snapshot))
    expect(active).to_have_text(str(expected["active"] + 1))
    assert page.evaluate("window.notReloaded") is True
