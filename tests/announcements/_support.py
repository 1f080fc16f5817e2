"""A county with two schools, its staff and families with registrations, for announcements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.accounts.models import User
from backend.registrations.models import RegistrationStatus
from backend.schools.models import RegionLevel, School
from backend.seasons.models import Season
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_parent,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_staff,
)

Login = Callable[[str, str], dict[str, Any]]


@dataclass
class County:
    """Two schools of one authority, their staff, a bureau admin and a neighbour county."""

    authority_code: str
    season: Season
    first: School
    second: School
    admin: User
    first_staff: User
    second_staff: User
    other_admin: User
    village: Any
    families: dict[str, User] = field(default_factory=dict)


def make_county() -> County:
    """The county, with nobody registered yet."""
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    first = make_school(authority, zone=[village])
    second = make_school(authority)
    elsewhere = make_authority()
    return County(
        authority_code=authority.code, season=make_season(authority), first=first,
        second=second, admin=make_staff(authority), first_staff=make_staff(authority, school=first),
        second_staff=make_staff(authority, school=second), other_admin=make_staff(elsewhere),
        village=village)


def add_family(county: County, name: str, schools: list[School], *,
               status: RegistrationStatus = RegistrationStatus.SUBMITTED) -> User:
    """A parent with one child registered at each of `schools` (one child per school)."""
    number = len(county.families) + 1
    parent = make_parent()
    guardian = make_guardian(parent, id_number=make_id_number(
        dt.date(1985, 1, 1) + dt.timedelta(days=number), 901))
    for n, school in enumerate(schools):
        child = make_child(guardian, county.village, id_number=make_id_number(
            dt.date(2017, 1, 1) + dt.timedelta(days=number * 10 + n), 903))
        make_registration(county.season, child, school, status=status)
    county.families[name] = parent
    return parent


def token(login_staff: Login, user: User) -> str:
    """A staff member's bearer token."""
    assert user.username is not None
    return str(login_staff(user.username, STAFF_PASSWORD)["token"])
