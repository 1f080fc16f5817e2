"""20 admissions at once never put a school past its plan (each request its own connection)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from backend.admission.models import LIVE_OFFER_STATUSES, Offer, SeatCount
from backend.core.db import db
from tests.admission._support import applicant, build_county
from tests.conftest import bearer
from tests.databases import private_database
from tests.factories import STAFF_PASSWORD

SEATS = 5
RACERS = 20


def _login(app: Flask, username: str) -> str:
    with app.test_client() as client:
        response = client.post("/api/v1/auth/staff-login",
                               json={"username": username, "password": STAFF_PASSWORD})
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["token"])


def test_twenty_concurrent_admissions_never_exceed_the_plan(app: Flask,
                                                            tmp_path: Path) -> None:
    with private_database(tmp_path, "admission"), app.app_context():
        county = build_county(lambda *_a: {}, seats_b=(1, SEATS))
        registrations = [applicant(county, county.school_a) for _ in range(RACERS)]
        school_id, season_id = county.school_b.id, county.season.id
        ids = [r.id for r in registrations]
        username = county.usernames["bureau"]
        db.session.commit()
        db.session.remove()
        token = _login(app, username)

        start = threading.Barrier(RACERS)
        answers: list[tuple[int, str]] = []
        busy: list[int] = []
        lock = threading.Lock()

        def admit(registration_id: int) -> None:
            with app.test_client() as client:
                start.wait(timeout=30)
                # A client retries a 503 (SQLite refuses a second writer as busy); on
                # PostgreSQL every racer waits for the row lock and none is refused.
                for _attempt in range(200):
                    response = client.post(
                        "/api/v1/admin/placements", headers=bearer(token),
                        json={"registration_id": registration_id, "school_id": school_id,
                              "reason": "统筹安排"})
                    if response.status_code != 503:
                        break
                    time.sleep(0.02)
                body: Any = response.get_json() or {}
                with lock:
                    answers.append((response.status_code,
                                    body.get("error", {}).get("code", "")))
                    if response.status_code == 503:
                        busy.append(registration_id)

        threads = [threading.Thread(target=admit, args=(rid,)) for rid in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(answers) == RACERS
        assert busy == []

        live = db.session.scalar(select(func.count()).select_from(Offer).where(
            Offer.school_id == school_id, Offer.status.in_(LIVE_OFFER_STATUSES))) or 0
        taken = db.session.scalar(select(SeatCount.taken).where(
            SeatCount.school_id == school_id, SeatCount.season_id == season_id))
        admitted = sum(1 for status, _code in answers if status == 201)
        # Exactly the plan is admitted, the counter agrees with the offers, the rest are full.
        assert live == taken == admitted == SEATS
        assert sorted(code for status, code in answers if status != 201) == [
            "SCHOOL_FULL"] * (RACERS - SEATS)
        # And the guard itself, directly: the database refuses a counter past the plan.
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE admission_seat_counts SET taken = seats + 1 "
                                    "WHERE school_id = :s"), {"s": school_id})
            db.session.flush()
        db.session.rollback()
