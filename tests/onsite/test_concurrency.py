"""Twenty families book a five-place slot at the same moment: never more than five get in."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from backend.schools.models import RegionLevel
from tests.conftest import Simulator, bearer
from tests.databases import private_database
from tests.factories import make_authority, make_region, make_school, make_season
from tests.onsite._support import County, add_child, add_guardian, admit

FAMILIES = 20
CAPACITY = 5


def _families(app: Flask, sim: Simulator) -> tuple[int, list[tuple[str, int]]]:
    """A committed slot and 20 signed-in families with confirmed offers: (slot id, families)."""
    now = utcnow()
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(days=20),
                         closes=now - dt.timedelta(days=10))
    school = make_school(authority, zone=[village])
    county = County(authority, season, village, school, school, login=lambda *_: {})
    slot = OnsiteSlot(school_id=school.id, season_id=season.id,
                      starts_at=now + dt.timedelta(days=1),
                      ends_at=now + dt.timedelta(days=1, hours=1), place="大厅",
                      capacity=CAPACITY, booked=0, version=1, note="")
    db.session.add(slot)
    db.session.commit()
    client = app.test_client()
    families = []
    for n in range(FAMILIES):
        code = sim.login_code(f"o-concurrent-{n:02d}-{now.timestamp():.0f}")
        login = client.post("/api/v1/auth/wechat-login", json={"code": code}).get_json()
        guardian = add_guardian(db.session.get(User, login["user"]["id"]))
        registration = admit(county, add_child(guardian, village), school)
        families.append((login["token"], registration.id))
        db.session.commit()  # SQLite: the next login writes through another connection
    return slot.id, families


def test_concurrent_bookings_never_exceed_the_slot(
        app: Flask, wechat_sim: Simulator, tmp_path: Path) -> None:
    with private_database(tmp_path, "onsite"), app.app_context():
        slot_id, families = _families(app, wechat_sim)
        db.session.remove()
        dialect = db.session.get_bind().dialect.name
        start = threading.Barrier(FAMILIES)
        statuses: list[int] = []
        codes: list[str] = []
        errors: list[BaseException] = []

        def book(token: str, registration_id: int) -> None:
            try:
                client = app.test_client()
                start.wait(timeout=30)
                response = client.post("/api/v1/onsite/bookings", headers=bearer(token),
                                        json={"registration_id": registration_id,
                                              "slot_id": slot_id})
                body: Any = response.get_json()
                statuses.append(response.status_code)
                if response.status_code != 201:
                    codes.append(body["error"]["code"])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=book, args=family) for family in families]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert len(statuses) == FAMILIES

        db.session.remove()
        booked = db.session.scalar(select(OnsiteSlot.booked).where(OnsiteSlot.id == slot_id))
        rows = db.session.scalar(select(func.count()).select_from(OnsiteBooking))
        won = statuses.count(201)
        # The invariant on every backend: the counter, the rows and the 201s agree, ≤ 5.
        assert booked == rows == won <= CAPACITY
        if dialect == "postgresql":
            # Row locks queue the writers: exactly the capacity wins, the rest are told why.
            assert won == CAPACITY
            assert set(codes) == {"SLOT_FULL"}
        else:
            # SQLite serialises writers; one that cannot wait gets 503 (retry), never a seat.
            assert set(codes) <= {"SLOT_FULL", "SERVICE_UNAVAILABLE"}
            assert won >= 1
