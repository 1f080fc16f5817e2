"""The PC pages' browser tests use the console's harness: Debian's Chromium driven by
Playwright, the app on a loopback port inside the test's transaction, the screenshot folder."""

from tests.console.conftest import (  # noqa: F401 - fixtures, used by name
    browser,
    console,
    office,
    office_page,
    offices,
    shots,
)
