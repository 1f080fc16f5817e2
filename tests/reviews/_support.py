"""A county with two schools, their reviewers, a bureau admin and families, for review tests."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.notices.models import Notice
from backend.registrations.models import Registration, RegistrationEvent, RegistrationStatus
from backend.schools.models import Region, RegionLevel, School
from backend.seasons.models import Season
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_child,
    make_guardian,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

Login = Callable[[str, str], dict[str, Any]]


@dataclass
class County:
    """One authority with an open window, two towns, two schools and their reviewers."""

    authority: Any
    season: Season
    town_north: Region
    town_south: Region
    village_north: Region
    village_south: Region
    school_a: School
    school_b: School
    login: Login
    usernames: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        """Authorization header of a reviewer: 'a', 'b', 'bureau' or 'other_bureau'."""
        if who not in self.tokens:  # logged in on first use: password checks are slow
            self.tokens[who] = self.login(self.usernames[who], STAFF_PASSWORD)["token"]
        return bearer(self.tokens[who])


def build_county(login_staff: Login) -> County:
    """The county, with staff of school A, of school B, its bureau and another county's."""
    now = utcnow()
    authority = make_authority()
    north = make_region(authority, name="北镇")
    south = make_region(authority, name="南镇")
    village_north = make_region(authority, level=RegionLevel.VILLAGE, parent=north, name="北村")
    village_south = make_region(authority, level=RegionLevel.VILLAGE, parent=south, name="南村")
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    school_a = make_school(authority, zone=[village_north, village_south], name="示例甲小学")
    school_b = make_school(authority, zone=[village_north], name="示例乙小学")
    for school in (school_a, school_b):
        make_seat_plan(season, school)
    other = make_authority()
    make_school(other)
    staff = {"a": make_staff(authority, school=school_a),
             "b": make_staff(authority, school=school_b),
             "bureau": make_staff(authority), "other_bureau": make_staff(other)}
    return County(authority, season, north, south, village_north, village_south, school_a,
                  school_b, login_staff, {who: u.username or "" for who, u in staff.items()})


_names = iter(f"{a}{b}" for a in "明华伟芳静丽强磊军洋" for b in "一二三四五六七八九十")


def add_registration(county: County, school: School, *, name: str | None = None,
                     categories: list[str] | None = None, status: RegistrationStatus | None = None,
                     basis: str = "hukou", village: Region | None = None,
                     out_of_zone: bool = False) -> Registration:
    """A registration written directly (for the queue's filters), with its first event."""
    from backend.registrations.models import Basis

    place = village or county.village_north
    guardian = make_guardian(name="王示例", phone=None)
    # Household registration in `place` (basis hukou), or in the north with the actual
    # residence in `place` (the other bases): the town filter follows the basis.
    child = make_child(guardian, place if basis == "hukou" else county.village_north,
                       name=name or f"王{next(_names)}")
    child.categories = categories or []
    if basis != "hukou":
        child.residence_region_id = place.id
    registration = make_registration(county.season, child, school, basis=Basis(basis),
                                     out_of_zone=out_of_zone, ticket=f"T{uuid.uuid4().hex[:24]}",
                                     status=status or RegistrationStatus.SUBMITTED)
    registration.events.append(RegistrationEvent(
        status=RegistrationStatus.SUBMITTED, actor_user_id=guardian.user_id,
        actor_role="parent"))
    db.session.flush()
    return registration


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG, as a phone uploads a photo of a document."""
    out = io.BytesIO()
    Image.new("RGB", (24, 18), color).save(out, "PNG")
    return out.getvalue()


@dataclass
class Family:
    """A signed-in parent with a child living in the north village."""

    token: str
    user_id: int
    child_id: int

    def auth(self) -> dict[str, str]:
        """The parent's Authorization header."""
        return bearer(self.token)


def make_family(client: FlaskClient, login_parent: Callable[..., dict[str, Any]],
                county: County, *, name: str = "李小明",
                categories: list[str] | None = None) -> Family:
    """A parent (through the simulator's login) with an eligible child in the zone."""
    login = login_parent()
    guardian = make_guardian(db.session.get(User, login["user"]["id"]), name="李示例",
                             phone="13800000042")
    child = make_child(guardian, county.village_north, name=name,
                       birth=dt.date(utcnow().year - 6, 3, 1))
    child.categories = categories or []
    db.session.flush()
    return Family(token=login["token"], user_id=login["user"]["id"], child_id=child.id)


def upload(client: FlaskClient, family: Family, kind: str = "hukou_book",
           color: tuple[int, int, int] = (200, 30, 30)) -> str:
    """Upload one document as the parent; its id."""
    response = client.post("/api/v1/uploads", headers=family.auth(), data={
        "kind": kind, "file": (io.BytesIO(png(color)), "doc.png")},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["upload_id"])


def worker() -> Worker:
    """An in-process worker that never waits between batches."""
    return Worker(load_handlers(), name=f"review-test-{uuid.uuid4().hex[:6]}",
                  batch_handlers=load_batch_handlers(),
                  settings=WorkerSettings(block_ms=10, linger_ms=0))


def submit(client: FlaskClient, family: Family, school: School, upload_ids: list[str]) -> int:
    """Submit through the intake, run the worker; the new registration's id."""
    response = client.post("/api/v1/registrations", json={
        "child_id": family.child_id, "school_code": school.code, "basis": "hukou",
        "upload_ids": upload_ids},
        headers={**family.auth(), "Idempotency-Key": f"k-{uuid.uuid4().hex[:16]}"})
    assert response.status_code == 202, response.get_json()
    worker().run_once()
    ticket = client.get(f"/api/v1/registrations/tickets/{response.get_json()['ticket']}",
                        headers=family.auth()).get_json()
    assert ticket["state"] == "accepted", ticket
    return int(ticket["registration_id"])


def notices_of(user_id: int) -> list[Notice]:
    """The user's outbox rows, in the order they were written."""
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user_id)
                                   .order_by(Notice.id)))


def review(client: FlaskClient, county: County, who: str, registration_id: int,
           **body: Any) -> Any:
    """POST a review decision as one of the county's reviewers."""
    return client.post(f"/api/v1/staff/registrations/{registration_id}/review", json=body,
                       headers=county.auth(who))


def detail(client: FlaskClient, county: County, who: str, registration_id: int) -> Any:
    """GET the staff detail as one of the county's reviewers."""
    return client.get(f"/api/v1/staff/registrations/{registration_id}",
                      headers=county.auth(who))
