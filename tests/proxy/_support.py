"""A county whose registration window is open, two schools, their staff and the bureau;
the body of a 代报名 (staff-entered registration) and the worker that drains the intake."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid
from typing import Any

from flask.testing import FlaskClient
from PIL import Image

from backend.core.db import utcnow
from backend.schools.models import RegionLevel, School
from backend.seasons.models import Season
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.factories import (
    make_authority,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)
from tests.onsite._support import County, Login

BASE = "/api/v1/staff/proxy-registrations"
_seq = itertools.count(1)


def build_county(login: Login) -> County:
    """The county (schools A and B zoned to one village, staff of each, its bureau and
    another county's bureau); the window opened an hour ago and closes in three days."""
    now = utcnow()
    authority = make_authority()
    town = make_region(authority, name="示例镇")
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例村")
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    school_a = make_school(authority, zone=[village], name="示例甲小学")
    school_b = make_school(authority, zone=[village], name="示例乙小学")
    for school in (school_a, school_b):
        make_seat_plan(season, school)
    other = make_authority()
    users = {"a": make_staff(authority, school=school_a, display_name="王老师"),
             "b": make_staff(authority, school=school_b),
             "bureau": make_staff(authority), "other_bureau": make_staff(other)}
    return County(authority, season, village, school_a, school_b, login,
                  {k: u.username or "" for k, u in users.items()},
                  user_ids={k: u.id for k, u in users.items()})


def guardian_number() -> str:
    """A fresh, valid-checksum guardian ID number from the fictional 9xx sequence."""
    n = next(_seq)
    return make_id_number(dt.date(1980, 1, 1) + dt.timedelta(days=37 * n), 901 + n % 40 * 2)


def child_number(season: Season) -> str:
    """A fresh child ID number, old enough for the season."""
    n = next(_seq)
    return make_id_number(dt.date(season.year - 7, 9, 1) + dt.timedelta(days=n % 300),
                          901 + n % 40 * 2)


def entry(county: County, *, guardian_id: str | None = None, child_id: str | None = None,
          school: School | None = None, **overrides: Any) -> dict[str, Any]:
    """The body the console sends for a family at the counter (hukou in the zone; name the
    scanned 户口簿 in upload_ids, see `scanned`)."""
    body: dict[str, Any] = {
        "guardian": {"name": "李示例", "document_type": "resident_id",
                     "id_number": guardian_id or guardian_number(), "relation": "grandparent",
                     "phone": "13900000017"},
        "child": {"name": "李小示", "document_type": "resident_id",
                  "id_number": child_id or child_number(county.season),
                  "hukou": {"region_code": county.village.code, "address": "示例路1号"}},
        "school_code": (school or county.school_a).code, "basis": "hukou",
        "upload_ids": [], "documents_checked": True, "guardian_consent_given": True,
    }
    body.update(overrides)
    return body


def png() -> bytes:
    """A small real PNG, as a scanner at the counter would produce."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 90, 60)).save(out, "PNG")
    return out.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], kind: str = "hukou_book") -> str:
    """A document staff scan at the counter; its upload id."""
    response = client.post(f"{BASE}/uploads", headers=headers, data={
        "kind": kind, "file": (io.BytesIO(png()), "scan.png")},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["upload_id"])


def enter(client: FlaskClient, headers: dict[str, str], body: dict[str, Any],
          key: str | None = None) -> Any:
    """POST the entry with an Idempotency-Key (a new one unless given)."""
    return client.post(BASE, json=body, headers={
        **headers, "Idempotency-Key": key or f"proxy-{uuid.uuid4().hex[:16]}"})


def drain() -> int:
    """Let the worker write what the intake queued; how many messages it handled."""
    worker = Worker(load_handlers(), name="proxy-test", batch_handlers=load_batch_handlers(),
                    settings=WorkerSettings(block_ms=10, linger_ms=0))
    handled = 0
    while True:
        done = worker.run_once()
        if not done:
            return handled
        handled += done


def scanned(client: FlaskClient, county: County, who: str = "a", **overrides: Any
            ) -> dict[str, Any]:
    """An entry with the 户口簿 that staff `who` scanned at the counter."""
    return entry(county, **{"upload_ids": [upload(client, county.auth(who))], **overrides})
