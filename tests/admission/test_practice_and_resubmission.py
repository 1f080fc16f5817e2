"""Practice runs: marked, never published, never notify. Re-applying never re-rolls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.admission.models import Lottery, Offer
from backend.admission.services import pseudonym
from backend.core.db import db, utcnow
from backend.notices.models import Notice
from backend.registrations.intake import release_child
from backend.registrations.models import Registration, RegistrationStatus
from tests.admission._support import (
    PUBLIC_VALUE,
    County,
    applicant,
    build_county,
    draw,
    freeze,
    run_verifier,
    write_json,
)
from tests.reviews import _support as reviews


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


def _admission_notices() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.template_key == "admission_result")) or 0)


def test_a_practice_run_is_marked_never_published_and_never_offers_or_notifies(
        client: FlaskClient, county: County, tmp_path: Path) -> None:
    for _ in range(9):
        applicant(county, county.school_a)
    # Even with a registration still in review: practice freezes what is approved now.
    applicant(county, county.school_a, status=RegistrationStatus.UNDER_REVIEW)
    frozen = freeze(client, county, county.school_a, practice=True)
    assert frozen.status_code == 201, frozen.get_json()
    body = frozen.get_json()
    assert body["practice"] is True and body["practice_label"] == "演练（非正式结果）"
    assert body["status_name"].startswith("【演练】") and body["published_at"] is None
    assert body["evidence_url"].startswith("/api/v1/admin/")
    drawn = draw(client, county, body["id"])
    assert drawn.status_code == 200 and drawn.get_json()["admitted_count"] == 6

    assert db.session.scalar(select(func.count()).select_from(Offer)) == 0
    assert _admission_notices() == 0
    for path in (f"/api/v1/lotteries/{body['id']}",
                 f"/api/v1/lotteries/{body['id']}/evidence.json"):
        assert client.get(path).status_code == 404
    listed = client.get(f"/api/v1/lotteries?season_id={county.season.id}").get_json()
    assert listed["items"] == []
    admin = client.get(f"/api/v1/admin/lotteries?season_id={county.season.id}",
                       headers=county.auth("a")).get_json()["items"]
    assert [(lot["id"], lot["practice"]) for lot in admin] == [(body["id"], True)]

    evidence = client.get(body["evidence_url"], headers=county.auth()).get_json()
    assert evidence["practice"] is True and "演练" in evidence["warning"]
    assert evidence["committed"]["practice"] is True
    checked = run_verifier(write_json(tmp_path / "practice.json", evidence))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("PRACTICE RUN")

    # The database refuses to publish a practice run whatever the code does.
    lottery = db.session.get(Lottery, body["id"])
    assert lottery is not None
    with pytest.raises(IntegrityError), db.session.begin_nested():
        lottery.published_at = utcnow()
        db.session.flush()


def test_a_real_lottery_after_practice_runs_has_its_own_commitment(
        client: FlaskClient, county: County) -> None:
    for _ in range(8):
        applicant(county, county.school_a)
    practice = [freeze(client, county, county.school_a, practice=True).get_json()
                for _ in range(2)]
    real = freeze(client, county, county.school_a)
    assert real.status_code == 201
    assert practice[0]["commitment"] == practice[1]["commitment"]
    # The practice flag is committed: a practice result can never pass for the real one.
    assert real.get_json()["commitment"] != practice[0]["commitment"]
    real_drawn = draw(client, county, real.get_json()["id"]).get_json()
    practice_drawn = draw(client, county, practice[0]["id"]).get_json()
    assert real_drawn["seed"] != practice_drawn["seed"]
    assert db.session.scalar(select(func.count()).select_from(Offer)) == 6


def test_a_resubmitted_application_keeps_its_lottery_number(
        client: FlaskClient, login_staff: Callable[[str, str], dict[str, Any]],
        login_parent: Callable[..., dict[str, Any]]) -> None:
    """NYC 2022: rejected, then submitted again through the intake — the same number."""
    county = reviews.build_county(login_staff)
    family = reviews.make_family(client, login_parent, county)
    first = reviews.submit(client, family, county.school_a, [reviews.upload(client, family)])
    assert reviews.review(client, county, "a", first, decision="approve",
                          expected_status="submitted").status_code == 200
    for _ in range(3):
        reviews.add_registration(county, county.school_a, status=RegistrationStatus.APPROVED)
    assert client.put(f"/api/v1/admin/seat-plans/{county.season.id}/{county.school_a.id}",
                      headers=county.auth("bureau"),
                      json={"classes": 1, "class_size": 2}).status_code == 200

    def practice_number() -> tuple[str, str]:
        frozen = client.post("/api/v1/admin/lotteries", headers=county.auth("bureau"), json={
            "season_id": county.season.id, "school_id": county.school_a.id,
            "practice": True, "public_value_source": "双色球 第2025092期"}).get_json()
        drawn = client.post(f"/api/v1/admin/lotteries/{frozen['id']}/draw",
                            headers=county.auth("bureau"),
                            json={"public_value": PUBLIC_VALUE}).get_json()
        ours = pseudonym(county.season.id, family.child_id)
        [row] = [r for r in drawn["result"] if r["pseudonym"] == ours]
        return drawn["commitment"], row["lottery_number"]

    before = practice_number()
    # The registration ends (as a bureau correction would end it) and the family applies
    # again through the intake: a new registration row, the same child and season.
    registration = db.session.get(Registration, first)
    assert registration is not None
    registration.status = RegistrationStatus.REJECTED
    db.session.flush()
    release_child(county.season.id, family.child_id)
    second = reviews.submit(client, family, county.school_a, [reviews.upload(client, family)])
    assert second != first
    assert reviews.review(client, county, "a", second, decision="approve",
                          expected_status="submitted").status_code == 200
    after = practice_number()
    assert after == before
