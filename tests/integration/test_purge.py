"""Purging a closed season: documents, ID numbers and phones go; anonymous counts stay."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import insert, select, text

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.govdata.sources import Fact
from backend.identity.services import today
from backend.privacy.models import DeletionLog
from backend.registrations.models import registration_uploads
from backend.schools.models import RegionLevel
from backend.uploads.models import Upload
from backend.verification.models import CheckStatus, DataCheck
from tests.conftest import bearer
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_region,
    make_registration,
    make_school,
    make_season,
)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _family(client: FlaskClient, login_parent: Any) -> dict[str, Any]:
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    closed = make_season(authority, year=2024,
                         purge_personal_data_after=today() - dt.timedelta(days=1))
    newer = make_season(authority, year=2025)
    school = make_school(authority, zone=[village])
    login = login_parent()
    user = db.session.get(User, login["user"]["id"])
    guardian = make_guardian(user, phone="13700001234")
    purged_child = make_child(guardian, village, name="甲示例")
    kept_child = make_child(guardian, village, name="乙示例", birth=dt.date(2019, 3, 3))
    registration = make_registration(closed, purged_child, school)
    make_registration(newer, kept_child, school)
    upload = client.post("/api/v1/uploads", headers=bearer(login["token"]), data={
        "kind": "hukou_book", "file": (io.BytesIO(_png()), "hukou.png")},
        content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    upload_id = upload.get_json()["upload_id"]
    db.session.execute(insert(registration_uploads).values(
        registration_id=registration.id, upload_id=upload_id))
    db.session.flush()
    return {"season": closed, "newer": newer, "guardian": guardian, "purged": purged_child,
            "kept": kept_child, "upload_id": upload_id, "token": login["token"]}


def _purge(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["purge-season", *args])


def test_purge_deletes_documents_and_numbers_and_keeps_counts(
    app: Flask, client: FlaskClient, login_parent: Any, session: Any
) -> None:
    family = _family(client, login_parent)
    season_id = str(family["season"].id)
    # The address a household record gave goes with the ID numbers.
    check = DataCheck(child_id=family["purged"].id, fact=Fact.HOUSEHOLD,
                      status=CheckStatus.CONFIRMED, attempts=1, reference="REF-1",
                      address="示例镇示例村1号（样例）", region_code="141124190001")
    db.session.add(check)
    db.session.flush()
    upload = db.session.get(Upload, family["upload_id"])
    assert upload is not None and upload.storage_name
    stored = next(Path(app.config["UPLOAD_DIR"]).rglob(upload.storage_name))

    dry = _purge(app, "--season-id", season_id, "--by", "县教育局", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would delete uploads=1, child_id_numbers=1" in dry.output
    assert stored.exists() and family["purged"].id_number_enc is not None

    result = _purge(app, "--season-id", season_id, "--by", "县教育局")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not stored.exists()
    assert client.get(f"/api/v1/uploads/{family['upload_id']}",
                      headers=bearer(family["token"])).status_code == 404
    purged, kept = family["purged"], family["kept"]
    assert purged.id_number_enc is None and purged.id_number_index is None
    # The other child applies in a season that is not purged: their data stays, and so
    # does the guardian binding that child needs.
    assert kept.id_number_enc is not None
    assert family["guardian"].phone_enc is not None
    log = db.session.scalar(select(DeletionLog))
    assert log is not None and log.performed_by == "县教育局"
    assert log.counts["uploads"] == 1 and log.statistics["registrations"] == 1
    assert log.counts["data_check_addresses"] == 1
    assert check.address is None and check.reference == "REF-1"
    assert "甲示例" not in str(log.statistics)
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "season.personal_data_purged"))
    assert event is not None and event.object_id == season_id


def test_purge_removes_the_guardian_numbers_when_no_child_needs_them(
    app: Flask, client: FlaskClient, login_parent: Any, session: Any
) -> None:
    family = _family(client, login_parent)
    family["newer"].purge_personal_data_after = today()
    family["newer"].registration_closes_at = utcnow() - dt.timedelta(days=1)
    family["newer"].registration_opens_at = utcnow() - dt.timedelta(days=5)
    for phase in family["newer"].phases:
        phase.starts_at, phase.ends_at = (family["newer"].registration_opens_at,
                                          family["newer"].registration_closes_at)
    db.session.flush()
    assert _purge(app, "--season-id", str(family["season"].id), "--by", "x").exit_code == 0
    assert _purge(app, "--season-id", str(family["newer"].id), "--by", "x").exit_code == 0
    db.session.expire_all()
    guardian = family["guardian"]
    assert guardian.id_number_enc is None and guardian.phone_enc is None
    dump = " ".join(str(r) for r in db.session.execute(text("SELECT * FROM guardians")))
    assert "13700001234" not in dump


def test_purge_is_refused_before_its_date_or_while_the_season_runs(
    app: Flask, session: Any
) -> None:
    authority = make_authority()
    closed = make_season(authority, year=2024,
                         purge_personal_data_after=today() + dt.timedelta(days=30))
    running = make_season(authority, year=2030,
                          purge_personal_data_after=today() - dt.timedelta(days=1))
    unset = make_season(authority, year=2023)
    for season, message in ((closed, "purge date"), (running, "not closed"),
                            (unset, "purge date")):
        result = _purge(app, "--season-id", str(season.id), "--by", "x")
        assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(select(DeletionLog)) is None


def test_purge_also_removes_documents_never_submitted_or_replaced(
    app: Flask, client: FlaskClient, login_parent: Any, session: Any
) -> None:
    family = _family(client, login_parent)
    loose = client.post("/api/v1/uploads", headers=bearer(family["token"]), data={
        "kind": "birth_certificate", "file": (io.BytesIO(_png()), "b.png")},
        content_type="multipart/form-data").get_json()["upload_id"]
    # Uploaded "during" the season (the season in the factory closed in 2024).
    db.session.get(Upload, loose).created_at = family["season"].registration_closes_at
    db.session.flush()
    result = _purge(app, "--season-id", str(family["season"].id), "--by", "x")
    assert result.exit_code == 0 and "uploads=2" in result.output
    db.session.expire_all()
    upload = db.session.get(Upload, loose)
    assert upload is not None and upload.purged_at is not None
