"""On the Lin County demo data: class sizes and sex counts within one in every class."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.demo.seed import ADMIN_PASSWORD, ADMIN_USERNAME, load_demo_data
from backend.schools.models import Region, RegionLevel, School, SeatPlan
from backend.seasons.models import Season, SeasonStatus
from tests.classes._support import (
    PUBLIC_VALUE_SOURCE,
    admit_cohort,
    class_counts,
    evidence,
    run_verify,
    spread,
)
from tests.conftest import bearer
from tests.onsite._support import County

# Cheap Argon2 parameters keep loading the demo accounts fast; they verify like real ones.
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backend.demo.seed.hash_password", _FAST_HASHER.hash)


@pytest.mark.slow  # the whole demo county, admitted and divided into classes: ~6 s
def test_every_demo_school_gets_classes_within_one_in_size_and_sex(
        client: FlaskClient, session: Any, tmp_path: Path,
        login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    load_demo_data()
    season = session.scalar(select(Season).where(Season.is_sample.is_(True),
                                                 Season.status == SeasonStatus.PUBLISHED))
    plans = list(session.scalars(select(SeatPlan).where(SeatPlan.season_id == season.id)
                                 .order_by(SeatPlan.school_id)))
    assert len(plans) == 10
    admin = bearer(login_staff(ADMIN_USERNAME, ADMIN_PASSWORD)["token"])
    for n, plan in enumerate(plans):
        school = session.get(School, plan.school_id)
        village = session.scalar(select(Region).where(Region.parent_id == school.town_id,
                                                      Region.level != RegionLevel.TOWN))
        county = County(season.authority, season, village, school, school, login_staff)
        # A full school less a few seats, a pair of twins and some children with needs.
        cohort = admit_cohort(county, school, plan.seats - n, seed=n, twins=1,
                              special_every=30)
        first, second = cohort.twins[0]
        together = client.post("/api/v1/staff/classes/together-requests", headers=admin, json={
            "season_id": season.id, "school": school.code,
            "registration_ids": [first.id, second.id]})
        assert together.status_code == 201, together.get_json()
        committed = client.post("/api/v1/staff/classes/assignments", headers=admin, json={
            "season_id": season.id, "school": school.code, "scope": "confirmed",
            "public_value_source": PUBLIC_VALUE_SOURCE})
        assert committed.status_code == 201, committed.get_json()
        assignment_id = committed.get_json()["id"]
        drawn = client.post(f"/api/v1/staff/classes/assignments/{assignment_id}/draw",
                            headers=admin, json={"public_value": f"{n} 4 7"})
        assert drawn.status_code == 200, drawn.get_json()

        document = evidence(client, assignment_id)
        rows = class_counts(document)
        assert len(rows) == plan.classes
        assert sum(r["size"] for r in rows) == plan.seats - n
        assert max(r["size"] for r in rows) <= plan.class_size, school.code
        assert spread(rows, "size") <= 1, school.code
        assert spread(rows, "male") <= 1, school.code
        assert spread(rows, "female") <= 1, school.code
        assert spread(rows, "special") <= 1, school.code
        assert document["result"][_pid(document, "G1", 0)] == \
            document["result"][_pid(document, "G1", 1)]
        if n in (0, 9):  # the largest school and the smallest: the script agrees
            assert run_verify(tmp_path, document).returncode == 0


def _pid(document: dict[str, Any], group: str, index: int) -> str:
    return [p["id"] for p in document["input"]["pupils"] if p["group"] == group][index]
