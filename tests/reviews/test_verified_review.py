"""Reviewers and government data, through HTTP: each required document verified by a source
(source, reference, time), uploaded (and why: the failed check) or missing; the "all
verified" filter; batch approval of all-verified registrations, scoped and idempotent."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.govdata.sources import Fact
from backend.registrations.models import Registration, RegistrationStatus
from backend.schools.models import School
from backend.uploads.models import Upload, UploadKind
from backend.verification.models import CheckStatus, DataCheck
from tests.reviews._support import County, add_registration, build_county, notices_of

API = "/api/v1"
BATCH = f"{API}/admin/registrations/batch-approve"
CHECKED_AT = dt.datetime(2026, 8, 5, 2, 30, tzinfo=dt.UTC)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county with an open window, schools A and B and their reviewers."""
    return build_county(login_staff)


def check(registration: Registration, fact: Fact, status: CheckStatus = CheckStatus.CONFIRMED,
          reason: str | None = None) -> DataCheck:
    """A data check of the registration's child, as the worker writes it."""
    row = DataCheck(child_id=registration.child_id, fact=fact, status=status,
                    source=f"示例{fact.value}数据源",
                    reference=f"REF-{fact.value}-{registration.id}",
                    checked_at=CHECKED_AT, reason=reason, attempts=1)
    db.session.add(row)
    db.session.flush()
    return row


def attach(registration: Registration, kind: UploadKind) -> str:
    """A document the family sent with the registration."""
    upload = Upload(id=uuid.uuid4().hex, owner_user_id=registration.submitted_by_user_id,
                    kind=kind, content_type="image/png", size=100, sha256="0" * 64,
                    storage_name=uuid.uuid4().hex)
    db.session.add(upload)
    registration.uploads.append(upload)
    db.session.flush()
    return upload.id


def verified(county: County, school: School, **kw: Any) -> Registration:
    """A submitted registration whose household record a source confirmed."""
    registration = add_registration(county, school, **kw)
    check(registration, Fact.HOUSEHOLD)
    return registration


def get(client: FlaskClient, county: County, who: str, path: str) -> Any:
    response = client.get(f"{API}{path}", headers=county.auth(who))
    return response


def batch(client: FlaskClient, county: County, who: str, key: str | None = None,
          **body: Any) -> Any:
    headers = county.auth(who)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(BATCH, json={"verified": "all", **body}, headers=headers)


def audits(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action)) or 0


# --- the detail ---------------------------------------------------------------------------


def test_the_detail_shows_a_verified_requirement_with_source_reference_and_time(
        client: FlaskClient, county: County) -> None:
    registration = verified(county, county.school_a)
    body = get(client, county, "a", f"/staff/registrations/{registration.id}").get_json()
    assert body["all_verified"] is True
    [requirement] = body["requirements"]
    assert requirement["kind"] == "hukou_book" and requirement["state"] == "verified"
    assert requirement["upload_ids"] == []
    assert requirement["verification"] == {
        "fact": "household", "fact_name": "户籍信息", "source": "示例household数据源",
        "reference": f"REF-household-{registration.id}",
        "checked_at": "2026-08-05T10:30:00+08:00", "status": "confirmed", "reason": None}


def test_the_detail_says_why_the_family_uploaded_and_what_is_missing(
        client: FlaskClient, county: County) -> None:
    registration = add_registration(county, county.school_a, basis="residence")
    check(registration, Fact.HOUSEHOLD, CheckStatus.MISMATCH, reason="户主姓名与记录不一致")
    check(registration, Fact.PROPERTY, CheckStatus.NOT_FOUND)
    hukou = attach(registration, UploadKind.HUKOU_BOOK)

    body = get(client, county, "bureau", f"/staff/registrations/{registration.id}").get_json()
    assert body["all_verified"] is False
    first, home = body["requirements"]
    assert (first["kind"], first["state"], first["upload_ids"]) == (
        "hukou_book", "uploaded", [hukou])
    assert first["verification"]["status"] == "mismatch"
    assert first["verification"]["reason"] == "户主姓名与记录不一致"
    assert home["alternatives"] == ["property_certificate", "rental_record"]
    assert (home["state"], home["kind"]) == ("missing", "property_certificate")
    assert home["verification"]["status"] == "not_found"
    assert home["verification"]["reason"] == "未查到相关记录"


def test_a_document_no_source_can_confirm_is_never_verified(
        client: FlaskClient, county: County) -> None:
    # 残疾儿童: the disability certificate has no government data source here.
    registration = verified(county, county.school_a, categories=["disability"])
    body = get(client, county, "a", f"/staff/registrations/{registration.id}").get_json()
    states = {r["kind"]: r["state"] for r in body["requirements"]}
    assert states == {"hukou_book": "verified", "disability_certificate": "missing"}
    assert body["all_verified"] is False


def test_another_schools_staff_and_another_county_do_not_see_the_requirements(
        client: FlaskClient, county: County) -> None:
    registration = verified(county, county.school_a)
    for who in ("b", "other_bureau"):
        response = get(client, county, who, f"/staff/registrations/{registration.id}")
        assert response.status_code == 404
        assert "REF-" not in response.get_data(as_text=True)


# --- the filter ---------------------------------------------------------------------------


def test_the_all_verified_filter_is_scoped(client: FlaskClient, county: County) -> None:
    a_verified = verified(county, county.school_a)
    a_documents = add_registration(county, county.school_a)
    check(a_documents, Fact.HOUSEHOLD, CheckStatus.MISMATCH)
    b_verified = verified(county, county.school_b)

    def ids(who: str, query: str) -> list[int]:
        response = get(client, county, who, f"/staff/registrations?{query}")
        assert response.status_code == 200, response.get_json()
        return [r["id"] for r in response.get_json()["items"]]

    assert ids("a", "verified=all") == [a_verified.id]
    assert ids("bureau", "verified=all") == [a_verified.id, b_verified.id]
    assert ids("bureau", f"verified=all&school={county.school_b.code}") == [b_verified.id]
    assert ids("a", "verified=needs_documents") == [a_documents.id]
    assert ids("other_bureau", "verified=all") == []
    rows = get(client, county, "a", "/staff/registrations").get_json()["items"]
    assert {r["id"]: r["all_verified"] for r in rows} == {a_verified.id: True,
                                                          a_documents.id: False}
    assert get(client, county, "a", "/staff/registrations?verified=some").status_code == 422


# --- batch approval -----------------------------------------------------------------------


def test_the_bureau_approves_every_all_verified_registration_once(
        client: FlaskClient, county: County) -> None:
    first = verified(county, county.school_a)
    second = verified(county, county.school_a, status=RegistrationStatus.UNDER_REVIEW)
    documents = add_registration(county, county.school_a)
    check(documents, Fact.HOUSEHOLD, CheckStatus.MISMATCH)
    other_school = verified(county, county.school_b)
    returned = verified(county, county.school_a, status=RegistrationStatus.RETURNED)

    response = batch(client, county, "bureau", key="batch-key-0001",
                     school=county.school_a.code, season_id=county.season.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["approved_ids"] == [first.id, second.id] and body["approved"] == 2
    assert body["skipped"] == 0 and body["replayed"] is False

    db.session.expire_all()
    statuses = {r.id: r.status for r in db.session.scalars(select(Registration))}
    assert statuses[first.id] is statuses[second.id] is RegistrationStatus.APPROVED
    assert statuses[documents.id] is RegistrationStatus.SUBMITTED
    assert statuses[other_school.id] is RegistrationStatus.SUBMITTED
    assert statuses[returned.id] is RegistrationStatus.RETURNED
    timeline = get(client, county, "bureau", f"/staff/registrations/{first.id}").get_json()
    assert [(t["status"], t["actor_role"]) for t in timeline["timeline"]] == [
        ("submitted", "parent"), ("under_review", "bureau_admin"),
        ("approved", "bureau_admin")]
    # The family's notice, as one approval writes it (sent from the outbox after commit).
    [notice] = notices_of(first.submitted_by_user_id)
    assert notice.template_key == "review_result" and notice.data["result"] == "审核通过"
    # One audit row for the action: who, how many, which filter.
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "registration.batch_approve")).all()
    assert event.actor_role == "bureau_admin" and event.details["approved"] == 2
    assert event.details["filter"] == {"verified": "all", "school": county.school_a.code,
                                       "season_id": county.season.id}
    assert audits("registration.review") == 0

    # The same key: the first answer, nothing approved again, no second audit row.
    again = batch(client, county, "bureau", key="batch-key-0001",
                  school=county.school_a.code, season_id=county.season.id).get_json()
    assert again["replayed"] is True and again["approved_ids"] == [first.id, second.id]
    # A new key: nothing left to approve.
    fresh = batch(client, county, "bureau", key="batch-key-0002",
                  school=county.school_a.code).get_json()
    assert fresh["approved"] == 0 and fresh["replayed"] is False
    assert audits("registration.batch_approve") == 2
    assert len(notices_of(first.submitted_by_user_id)) == 1


def test_what_the_reviewer_saw_is_checked_again(client: FlaskClient, county: County) -> None:
    fine = verified(county, county.school_a)
    changed = verified(county, county.school_a)
    unverified = add_registration(county, county.school_a)
    other_county = build_county(county.login)
    elsewhere = verified(other_county, other_county.school_a)

    preview = batch(client, county, "a", dry_run=True).get_json()
    assert preview["dry_run"] is True
    assert preview["candidates"] == [{"id": fine.id, "version": 1},
                                     {"id": changed.id, "version": 1}]
    assert audits("registration.batch_approve") == 0
    # Someone else approved `changed` meanwhile (its version moved on).
    changed.version = 3
    db.session.flush()
    items = [{"id": r.id, "version": 1} for r in (fine, changed, unverified, elsewhere)]
    body = batch(client, county, "a", items=items).get_json()
    assert body["approved_ids"] == [fine.id]
    assert {s["id"]: s["reason"] for s in body["skipped_items"]} == {
        changed.id: "STALE_STATE", unverified.id: "NOT_ALL_VERIFIED",
        elsewhere.id: "NOT_FOUND"}
    assert body["skipped_by_reason"] == {"STALE_STATE": 1, "NOT_ALL_VERIFIED": 1,
                                         "NOT_FOUND": 1}


def test_school_staff_approve_only_their_school(client: FlaskClient, county: County) -> None:
    own = verified(county, county.school_a)
    theirs = verified(county, county.school_b)
    refused = batch(client, county, "a", school=county.school_b.code)
    assert refused.status_code == 404
    body = batch(client, county, "a").get_json()
    assert body["approved_ids"] == [own.id]
    assert batch(client, county, "other_bureau",
                 school=county.school_b.code).status_code == 404
    assert batch(client, county, "other_bureau").get_json()["approved"] == 0
    db.session.expire_all()
    assert db.session.get(Registration, theirs.id).status is RegistrationStatus.SUBMITTED


def test_a_school_cannot_finish_the_bureaus_review(client: FlaskClient, county: County) -> None:
    waiting = verified(county, county.school_a, status=RegistrationStatus.BUREAU_REVIEW)
    body = batch(client, county, "a", items=[{"id": waiting.id, "version": 1}]).get_json()
    assert body["skipped_items"][0]["reason"] == "NOT_REVIEWABLE"
    assert batch(client, county, "a").get_json()["approved"] == 0
    # The bureau's own step: its approval completes it.
    assert batch(client, county, "bureau").get_json()["approved_ids"] == [waiting.id]


def test_the_batch_needs_the_verified_filter_and_a_sane_key(
        client: FlaskClient, county: County) -> None:
    response = client.post(BATCH, json={}, headers=county.auth("bureau"))
    assert response.status_code == 422
    assert batch(client, county, "bureau", key="bad key!").status_code == 422
