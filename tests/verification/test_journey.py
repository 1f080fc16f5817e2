"""Data checks in the family's journey, end to end over HTTP and through the government
data simulator: consent first, answers from the worker, documents that need no upload."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select, update

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.core.jobs import enqueue
from backend.registrations.models import Registration
from backend.schools.models import RegionLevel
from backend.verification import jobs as verification_jobs
from backend.verification.consent import DATA_CHECK_CONSENT_VERSION
from backend.verification.models import CheckStatus, DataCheck
from backend.verification.services import checks_for_children
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.conftest import bearer
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
)

TOWN_CODE = "141124190000"
VILLAGE_CODE = "141124190001"
BIRTH = dt.date(utcnow().year - 6, 3, 1)


def _worker() -> Worker:
    return Worker(load_handlers(), name="verification-test",
                  batch_handlers=load_batch_handlers(),
                  settings=WorkerSettings(block_ms=10, linger_ms=0))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def county(app: Flask, session: Any, govdata_config: Callable[..., dict[str, str]],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An open season, a school zoned to one village, and the county's sources pointed at
    the simulator (GOVDATA_SOURCES)."""
    monkeypatch.setitem(app.config, "GOVDATA_SOURCES",
                        govdata_config()["GOVDATA_SOURCES"])
    authority = make_authority()
    town = make_region(authority, code=TOWN_CODE)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town, code=VILLAGE_CODE)
    now = utcnow()
    season = make_season(authority, year=now.year + 1, opens=now - dt.timedelta(hours=1),
                         closes=now + dt.timedelta(days=3))
    school = make_school(authority, zone=[village])
    make_seat_plan(season, school)
    yield {"authority": authority, "village": village, "season": season, "school": school}


def _records(gov_sim: Any, family: dict[str, Any], *, household_name: str | None = None) -> None:
    """The county's records of this family: household, birth, the guardian's home."""
    child_number, guardian_number = family["child_number"], family["guardian_number"]
    gov_sim.add_record("household", {
        "idNumber": child_number, "name": household_name or "张小示",
        "birthDate": BIRTH.isoformat(), "householdNo": "141124190001000901",
        "address": "山西省吕梁市临县示例镇示例村1号（样例）", "regionCode": VILLAGE_CODE,
        "guardians": [{"idNumber": guardian_number, "name": "张示例", "relation": "母亲"}]})
    gov_sim.add_record("birth", {
        "idNumber": child_number, "name": "张小示", "birthDate": BIRTH.isoformat(),
        "certificateNo": "X000000901", "birthPlace": "示例医院（样例）",
        "parents": [{"idNumber": guardian_number, "name": "张示例", "relation": "母亲"}]})
    gov_sim.add_record("property", {
        "idNumber": guardian_number, "name": "张示例",
        "properties": [{"certificateNo": "样例不动产权第0000901号",
                        "address": "山西省吕梁市临县示例镇示例村1号（样例）",
                        "regionCode": VILLAGE_CODE, "usage": "住宅",
                        "registeredOn": "2021-06-18"}]})


@pytest.fixture()
def family(client: FlaskClient, login_parent: Callable[..., dict[str, Any]],
           county: dict[str, Any]) -> dict[str, Any]:
    """A signed-in parent (resident ID) with a child whose household is in the zone."""
    # Face-verified (WeChat 人脸核身): the guardian's own records (property) may be asked.
    return _new_family(login_parent(), county, dt.date(1990, 5, 1), 931, 941,
                       face_verified=True)


def _new_family(login: dict[str, Any], county: dict[str, Any], guardian_born: dt.date,
                guardian_seq: int, child_seq: int, *,
                face_verified: bool = False) -> dict[str, Any]:
    """A signed-in parent's guardian and child (household in the zone), by ID sequence."""
    guardian_number = make_id_number(guardian_born, guardian_seq, male=False)
    child_number = make_id_number(BIRTH, child_seq)
    guardian = make_guardian(db.session.get(User, login["user"]["id"]),
                             id_number=guardian_number, face_verified=face_verified)
    child = make_child(guardian, county["village"], birth=BIRTH, id_number=child_number)
    return {"token": login["token"], "user_id": login["user"]["id"], "child": child,
            "child_number": child_number, "guardian_number": guardian_number}


def _consent(client: FlaskClient, family: dict[str, Any], **body: Any) -> Any:
    body = body or {"consent_version": DATA_CHECK_CONSENT_VERSION, "agreed": True}
    return client.post(f"/api/v1/me/children/{family['child'].id}/data-checks", json=body,
                       headers=bearer(family["token"]))


def _view(client: FlaskClient, family: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/v1/me/children/{family['child'].id}/data-checks",
                          headers=bearer(family["token"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _submit(client: FlaskClient, family: dict[str, Any], school: Any,
            upload_ids: list[str], key: str) -> Any:
    return client.post("/api/v1/registrations", json={
        "child_id": family["child"].id, "school_code": school.code, "basis": "hukou",
        "upload_ids": upload_ids}, headers={**bearer(family["token"]), "Idempotency-Key": key})


def _upload(client: FlaskClient, family: dict[str, Any], kind: str) -> str:
    response = client.post("/api/v1/uploads", headers=bearer(family["token"]), data={
        "kind": kind, "file": (io.BytesIO(_png()), f"{kind}.png")},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["upload_id"]  # type: ignore[no-any-return]


def _statuses(view: dict[str, Any]) -> dict[str, str]:
    return {c["fact"]: c["status"] for c in view["checks"]}


def test_the_consent_text_is_public_with_its_version(client: FlaskClient) -> None:
    response = client.get("/api/v1/privacy/data-check-consent-text")
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == DATA_CHECK_CONSENT_VERSION and "户籍" in body["text"]
    assert response.headers["Cache-Control"].startswith("public")


def test_nothing_is_asked_without_a_recorded_consent(
    client: FlaskClient, family: dict[str, Any], gov_sim: Any,
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    _records(gov_sim, family)
    missing = _consent(client, family, agreed=True)
    assert missing.status_code == 422
    assert missing.get_json()["error"]["code"] == "DATA_CHECK_CONSENT_REQUIRED"
    unticked = _consent(client, family, consent_version=DATA_CHECK_CONSENT_VERSION)
    assert unticked.get_json()["error"]["code"] == "DATA_CHECK_CONSENT_REQUIRED"
    stale = _consent(client, family, consent_version="2000-1", agreed=True)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "DATA_CHECK_CONSENT_OUTDATED"
    stranger = login_parent()
    make_guardian(db.session.get(User, stranger["user"]["id"]))
    other = client.post(f"/api/v1/me/children/{family['child'].id}/data-checks",
                        json={"consent_version": DATA_CHECK_CONSENT_VERSION, "agreed": True},
                        headers=bearer(stranger["token"]))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "CHILD_NOT_FOUND"
    # Even a check queued by hand, and the retry chore, ask nothing without the consent.
    enqueue("verification.check", {"child_id": family["child"].id,
                                   "facts": ["household", "birth", "property"],
                                   "actor_user_id": None, "actor_role": "system"})
    _worker().run_once()
    verification_jobs.retry_due_checks()
    _worker().run_once()
    assert gov_sim.queries() == []
    assert _view(client, family)["checks"] == []


def test_confirmed_facts_let_a_family_submit_without_uploads(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
) -> None:
    _records(gov_sim, family)
    response = _consent(client, family)
    assert response.status_code == 202, response.get_json()
    assert set(_statuses(response.get_json()).values()) == {"pending"}
    assert gov_sim.queries() == []  # nothing is asked inside the request

    _worker().run_once()
    assert {q["endpoint"] for q in gov_sim.queries()} == {"household", "birth", "property"}
    view = _view(client, family)
    assert _statuses(view) == {"household": "confirmed", "birth": "confirmed",
                               "property": "confirmed"}
    household = next(c for c in view["checks"] if c["fact"] == "household")
    assert household["message"] == "已由户籍信息核验，无需上传"
    assert household["verified"] is True and household["document_kind"] == "hukou_book"
    assert view["consent"]["version"] == DATA_CHECK_CONSENT_VERSION
    assert view["consent"]["channel"] == "mini_program"
    # 划片: the zoned school for the household address, as a proposal.
    zoned = {p["fact"]: [s["code"] for s in p["schools"]] for p in view["zoning"]}
    # The region and its schools, never the address the record holds.
    assert all("address" not in p for p in view["zoning"])
    assert zoned["household"] == [county["school"].code]

    # The requirements for this child say which documents need no upload.
    requirements = client.get(
        f"/api/v1/registrations/requirements?child_id={family['child'].id}",
        headers=bearer(family["token"]))
    assert requirements.status_code == 200
    assert requirements.headers["Cache-Control"] == "private, no-store"
    hukou = {b["basis"]: b["documents"] for b in requirements.get_json()["bases"]}["hukou"]
    assert hukou == [[{"kind": "hukou_book", "name": "户口簿（户主页及儿童页）",
                       "verified": True, "verification": "已由户籍信息核验，无需上传"}]]
    assert set(requirements.get_json()["verified_documents"]) == {
        "hukou_book", "birth_certificate", "property_certificate"}
    anonymous = client.get(f"/api/v1/registrations/requirements?child_id={family['child'].id}")
    assert anonymous.status_code == 401

    submitted = _submit(client, family, county["school"], [], "verify-0000001")
    assert submitted.status_code == 202, submitted.get_json()
    _worker().run_once()
    ticket = client.get(f"/api/v1/registrations/tickets/{submitted.get_json()['ticket']}",
                        headers=bearer(family["token"])).get_json()
    assert ticket["state"] == "accepted"
    registration = db.session.get(Registration, ticket["registration_id"])
    assert registration is not None and registration.uploads == []


def test_a_mismatch_asks_for_the_document_with_the_reason(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
) -> None:
    _records(gov_sim, family, household_name="张小另")
    _consent(client, family)
    _worker().run_once()
    household = next(c for c in _view(client, family)["checks"] if c["fact"] == "household")
    assert household["status"] == "mismatch"
    assert household["message"].startswith("户籍信息核验未通过：")
    assert "姓名" in household["message"] and household["message"].endswith("请上传户口簿")

    refused = _submit(client, family, county["school"], [], "verify-0000002")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "UPLOADS_MISSING"
    assert error["details"]["missing"] == ["hukou_book"]
    assert error["details"]["reasons"]["hukou_book"] == household["message"]

    upload = _upload(client, family, "hukou_book")
    accepted = _submit(client, family, county["school"], [upload], "verify-0000003")
    assert accepted.status_code == 202, accepted.get_json()


def test_a_source_that_is_down_blocks_nothing_and_is_asked_again(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
) -> None:
    _records(gov_sim, family)
    gov_sim.fault("household", "rate_limit", seconds=100)
    _consent(client, family)
    _worker().run_once()
    view = _view(client, family)
    assert _statuses(view)["household"] == "unavailable"
    household = next(c for c in view["checks"] if c["fact"] == "household")
    assert household["message"] == "核验服务暂不可用，可先上传材料"
    check = db.session.scalar(select(DataCheck).where(
        DataCheck.child_id == family["child"].id, DataCheck.fact == "household"))
    assert check is not None and check.next_attempt_at is not None
    # The source asked for 100 seconds (more than the first backoff): no retry before that.
    assert check.next_attempt_at >= utcnow() + dt.timedelta(seconds=95)

    # The family is not held up: with the document uploaded the submission goes through.
    upload = _upload(client, family, "hukou_book")
    submitted = _submit(client, family, county["school"], [upload], "verify-0000004")
    assert submitted.status_code == 202, submitted.get_json()
    _worker().run_once()

    # Not due yet: the chore queues nothing.
    assert verification_jobs.retry_due_checks() == 0
    # Time passes (the retry is due), the source is back: the chore asks again.
    gov_sim.control("DELETE", "faults")
    db.session.execute(update(DataCheck).where(DataCheck.id == check.id).values(
        next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    assert verification_jobs.retry_due_checks() == 1
    _worker().run_once()
    assert _statuses(_view(client, family))["household"] == "confirmed"
    retried = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "verification.query",
        AuditEvent.object_id == str(family["child"].id))).all()
    assert [(e.actor_role, e.details["fact"], e.details["outcome"]) for e in retried
            if e.details["fact"] == "household"] == [
        ("parent", "household", "unavailable"), ("system", "household", "confirmed")]


def test_every_query_is_audited_and_no_id_number_is_written(
    client: FlaskClient, family: dict[str, Any], gov_sim: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _records(gov_sim, family)
    caplog.set_level(logging.DEBUG)
    _consent(client, family)
    _worker().run_once()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "verification.query")).all()
    assert len(events) == len(gov_sim.queries()) == 3
    for event in events:
        assert event.actor_user_id == family["user_id"] and event.actor_role == "parent"
        assert (event.object_type, event.object_id) == ("child", str(family["child"].id))
        assert {"fact", "source", "outcome", "reference"} <= set(event.details)
    written = json.dumps([e.details for e in events], ensure_ascii=False) + caplog.text
    for number in (family["child_number"], family["guardian_number"]):
        assert number not in written
    checks = checks_for_children([family["child"].id])[family["child"].id]
    assert {c.status for c in checks} == {CheckStatus.CONFIRMED}


def test_a_source_that_times_out_is_waited_for_once_per_batch(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    second = _new_family(login_parent(), county, dt.date(1991, 5, 1), 933, 943)
    gov_sim.fault("household", "timeout", seconds=5)  # longer than the adapter waits (2 s)
    assert _consent(client, family).status_code == 202
    assert _consent(client, second).status_code == 202
    started = time.monotonic()
    _worker().run_once()
    # Both children's jobs are in one batch: the household source is waited for once.
    assert time.monotonic() - started < 4
    households = db.session.scalars(select(DataCheck).where(
        DataCheck.fact == "household",
        DataCheck.child_id.in_([family["child"].id, second["child"].id]))).all()
    assert [c.status for c in households] == [CheckStatus.UNAVAILABLE] * 2
    assert all(c.next_attempt_at is not None for c in households)


def _patch(client: FlaskClient, family: dict[str, Any], **changes: Any) -> None:
    response = client.patch(f"/api/v1/me/children/{family['child'].id}", json=changes,
                            headers=bearer(family["token"]))
    assert response.status_code == 200, response.get_json()


def _all_confirmed(client: FlaskClient, family: dict[str, Any], gov_sim: Any) -> int:
    """The family's records, its consent, the worker's answers; the queries made so far."""
    _records(gov_sim, family)
    _consent(client, family)
    _worker().run_once()
    assert set(_statuses(_view(client, family)).values()) == {"confirmed"}
    return len(gov_sim.queries())


def test_consenting_again_asks_nothing_again(
    client: FlaskClient, family: dict[str, Any], gov_sim: Any,
) -> None:
    # Answered checks are not asked again on a repeated consent: no family can spend the
    # county's query quota by ticking the box again.
    asked = _all_confirmed(client, family, gov_sim)
    assert _consent(client, family).status_code == 202
    _worker().run_once()
    verification_jobs.retry_due_checks()
    _worker().run_once()
    assert len(gov_sim.queries()) == asked


def test_a_self_declared_guardian_gets_no_query_about_the_guardians_own_records(
    client: FlaskClient, county: dict[str, Any], gov_sim: Any,
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    # Anyone can type another person's name and ID number: the guardian's own records
    # (property) are asked only after WeChat's 人脸核身 confirmed the binding.
    family = _new_family(login_parent(), county, dt.date(1990, 5, 1), 937, 947)
    assert _consent(client, family).status_code == 202
    _worker().run_once()
    assert {q["endpoint"] for q in gov_sim.queries()} == {"household", "birth"}
    assert "property" not in _statuses(_view(client, family))


def test_an_edited_name_is_checked_again_before_it_counts(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
) -> None:
    asked = _all_confirmed(client, family, gov_sim)

    # The name the records were checked with changes: household and birth no longer vouch.
    _patch(client, family, name="张小改")
    view = _view(client, family)
    assert _statuses(view) == {"household": "pending", "birth": "pending",
                               "property": "confirmed"}
    assert len(gov_sim.queries()) == asked  # asked in the worker, after the commit
    refused = _submit(client, family, county["school"], [], "verify-edit-001")
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"]["code"] == "UPLOADS_MISSING"

    _worker().run_once()
    assert {q["endpoint"] for q in gov_sim.queries()[asked:]} == {"household", "birth"}
    view = _view(client, family)
    assert _statuses(view)["household"] == "mismatch"
    household = next(c for c in view["checks"] if c["fact"] == "household")
    assert "姓名" in household["message"]

    # Back to the name on record: confirmed again, and it counts at the intake again.
    _patch(client, family, name="张小示")
    _worker().run_once()
    assert set(_statuses(_view(client, family)).values()) == {"confirmed"}
    accepted = _submit(client, family, county["school"], [], "verify-edit-002")
    assert accepted.status_code == 202, accepted.get_json()


def test_an_edit_without_a_consent_resets_but_asks_nothing(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
) -> None:
    asked = _all_confirmed(client, family, gov_sim)
    other = make_region(county["authority"], level=RegionLevel.VILLAGE,
                        parent=county["village"].parent, code="141124190002")
    # The consent is withdrawn (its text replaced): a change is not asked about.
    db.session.execute(update(verification_jobs.services.DataCheckConsent).values(
        version="2000-1"))
    _patch(client, family, hukou={"region_code": other.code, "address": "示例村2号"})
    checks = {c.fact.value: c for c in checks_for_children([family["child"].id])[
        family["child"].id]}
    assert {f: c.status for f, c in checks.items()} == {
        "household": CheckStatus.PENDING, "property": CheckStatus.PENDING,
        "birth": CheckStatus.CONFIRMED}
    assert checks["household"].next_attempt_at is None
    assert checks["household"].region_code is None and checks["household"].address is None
    _worker().run_once()
    verification_jobs.retry_due_checks()
    _worker().run_once()
    assert len(gov_sim.queries()) == asked


def test_a_binding_moved_to_another_account_waits_for_the_new_holders_consent(
    client: FlaskClient, family: dict[str, Any], county: dict[str, Any], gov_sim: Any,
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    from backend.core.db import commit
    from backend.identity.services import transfer_binding

    asked = _all_confirmed(client, family, gov_sim)
    claimant = login_parent()

    transfer_binding(family["child"].guardian, claimant["user"]["id"])
    commit()  # the request's commit: what follows it runs after
    child_id = family["child"].id
    # The confirmations were about the earlier account's declarations: they stand in for
    # nothing now, and the earlier account's consent does not let anyone ask again.
    assert {c.status for c in checks_for_children([child_id])[child_id]} == {
        CheckStatus.PENDING}
    _worker().run_once()
    verification_jobs.retry_due_checks()
    _worker().run_once()
    assert len(gov_sim.queries()) == asked
    # The new holder consents: its child's records are asked (its own binding is not
    # face-verified yet, so not its property).
    answer = _consent(client, {"child": family["child"], "token": claimant["token"]})
    assert answer.status_code == 202
    _worker().run_once()
    assert {q["endpoint"] for q in gov_sim.queries()[asked:]} == {"household", "birth"}
