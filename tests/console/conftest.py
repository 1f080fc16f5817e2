"""Fixtures of the console's browser tests: Chromium (Debian's, driven by Playwright), the
app on a loopback port inside the test's transaction, and the screenshot folder."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import Connection

from tests.console._support import Console, serve

SCREENSHOTS: list[Path] = []


def chromium_path() -> str:
    """Debian's Chromium (scripts/_system_packages.sh installs it), or CHROMIUM_PATH."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
    if not path:
        raise RuntimeError("Chromium is missing: apt-get install chromium (scripts/test does)")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the run."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True,
            # CI runs as root in a container: Chromium's sandbox needs user namespaces.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--font-render-hinting=none"])
        yield instance
        instance.close()


@pytest.fixture()
def console(app: Flask, connection: Connection) -> Iterator[Console]:
    """The app on a loopback port, serving the test's (rolled-back) data."""
    with serve(app) as served:
        yield served


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at an office PC's screen size, in Beijing time."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                              timezone_id="Asia/Shanghai", accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    """A tab of that profile."""
    return context.new_page()


@pytest.fixture()
def offices(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Opens browser profiles at the size of a county office PC's screen (1366 × 768), one
    per person at a desk, in Beijing time; all closed after the test."""
    opened: list[BrowserContext] = []

    def open_profile() -> BrowserContext:
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
        ctx.set_default_timeout(15_000)
        opened.append(ctx)
        return ctx

    yield open_profile
    for ctx in opened:
        ctx.close()


@pytest.fixture()
def office(offices: Callable[[], BrowserContext]) -> BrowserContext:
    """One profile at the office PC's screen size."""
    return offices()


@pytest.fixture()
def office_page(office: BrowserContext) -> Page:
    """A tab at the office PC size the console is made for (1366 × 768), Beijing time."""
    return office.new_page()


@pytest.fixture()
def shots(artifacts_dir: Path, request: pytest.FixtureRequest) -> Any:
    """Save a full-page screenshot under test-artifacts/console/<test>/<name>.png."""
    folder = artifacts_dir / "console" / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        SCREENSHOTS.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the console's screenshots are."""
    if SCREENSHOTS:
        folder = SCREENSHOTS[0].parent.parent
        terminalreporter.write_line(
            f"console screenshots ({len(SCREENSHOTS)}): {folder}")
