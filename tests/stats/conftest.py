"""The counts tests' world and its two staff callers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import bearer
from tests.factories import STAFF_PASSWORD
from tests.stats._support import World, build_world

Login = Callable[[str, str], dict[str, Any]]


@pytest.fixture()
def world(session: Any) -> World:
    """The mixed season (see _support.ROWS)."""
    return build_world()


@pytest.fixture()
def admin(world: World, login_staff: Login) -> dict[str, str]:
    """The bureau admin's Authorization header."""
    return bearer(login_staff(world.admin_username, STAFF_PASSWORD)["token"])


@pytest.fixture()
def staff(world: World, login_staff: Login) -> dict[str, str]:
    """School A's staff member's Authorization header."""
    return bearer(login_staff(world.staff_username, STAFF_PASSWORD)["token"])
