"""Balanced class assignment through HTTP: commit → draw → publish, evidence, correction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.audit.models import AuditEvent
from backend.classes import assign
from backend.classes.models import ClassPlacement
from backend.core.db import db, utcnow
from backend.onsite.models import OnsiteSlot
from tests.classes._support import (
    Cohort,
    admit_cohort,
    class_counts,
    commit,
    draw,
    evidence,
    published,
    run_verify,
    spread,
)
from tests.onsite._support import County, admitted_family, build_county, create_slot


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county whose school A plans 3 classes of 30."""
    return build_county(login_staff, classes=3, class_size=30)


@pytest.fixture()
def cohort(county: County) -> Cohort:
    """80 children admitted to school A, two pairs of twins among them, some with needs."""
    return admit_cohort(county, county.school_a, 80, twins=2, special_every=16)


def _together(client: FlaskClient, county: County, registration_ids: list[int],
              who: str = "a") -> Any:
    return client.post("/api/v1/staff/classes/together-requests", headers=county.auth(who),
                       json={"season_id": county.season.id, "registration_ids": registration_ids,
                             "note": "家长申请双胞胎同班"})


def test_commit_then_draw_publishes_a_balanced_verifiable_assignment(
        client: FlaskClient, county: County, cohort: Cohort, tmp_path: Path) -> None:
    for first, second in cohort.twins:
        assert _together(client, county, [first.id, second.id]).status_code == 201

    committed = commit(client, county)
    assert committed.status_code == 201, committed.get_json()
    body = committed.get_json()
    assert body["status"] == "committed" and body["pupil_count"] == 80
    assert body["seed"] is None and body["summary"] is None and len(body["commitment"]) == 64
    before = evidence(client, body["id"])
    # The committed list is public before the draw, and hashes to the commitment.
    assert assign.commitment_of(before["input"]) == body["commitment"]
    assert before["result"] is None and before["final"] is None
    assert run_verify(tmp_path, before).returncode == 0

    drawn = draw(client, county, body["id"])
    assert drawn.status_code == 200, drawn.get_json()
    result = drawn.get_json()
    assert result["status"] == "published" and result["public_value"] == "5 1 9"
    assert result["seed"] == assign.seed_of(body["commitment"], "5 1 9")

    document = evidence(client, body["id"])
    rows = class_counts(document)
    assert [r["size"] for r in rows] == [row["size"] for row in result["summary"]]
    assert spread(rows, "size") <= 1 and spread(rows, "male") <= 1
    assert spread(rows, "female") <= 1 and spread(rows, "special") <= 1
    groups: dict[str, set[int]] = {}
    for pupil in document["input"]["pupils"]:
        if pupil["group"]:
            groups.setdefault(pupil["group"], set()).add(document["result"][pupil["id"]])
    assert len(groups) == 2 and all(len(c) == 1 for c in groups.values())
    assert document["corrected"] is False and document["final"] == document["result"]

    verified = run_verify(tmp_path, document, "--commitment", body["commitment"])
    assert verified.returncode == 0, verified.stderr
    assert "OK" in verified.stdout
    audit = {e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "class_assignment"))}
    assert audit == {"classes.commit", "classes.publish"}


def test_the_same_inputs_commit_to_the_same_list_and_give_the_same_classes(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    first = commit(client, county).get_json()
    cancelled = client.post(f"/api/v1/staff/classes/assignments/{first['id']}/cancel",
                            json={"reason": "演练后取消"}, headers=county.auth("a"))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    second = commit(client, county).get_json()
    # Pseudonymous ids are stable for the season: the same children, the same commitment.
    assert second["commitment"] == first["commitment"]
    drawn = draw(client, county, second["id"]).get_json()
    document = evidence(client, second["id"])
    pupils = assign.pupils_of(document["input"])
    assert assign.assign(pupils, 3, 30, drawn["seed"]) == document["result"]


def test_nothing_changes_after_publication_but_through_the_correction(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    body = published(client, county)
    again = draw(client, county, body["id"], "other value")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "ASSIGNMENT_PUBLISHED"
    assert commit(client, county).get_json()["error"]["code"] == "ASSIGNMENT_EXISTS"
    cancel = client.post(f"/api/v1/staff/classes/assignments/{body['id']}/cancel",
                         json={"reason": "想重新分"}, headers=county.auth("a"))
    assert cancel.status_code == 409
    # School staff cannot correct; the bureau can, with a published reason code.
    registration_id = cohort.registrations[0].id
    by_school = client.post(f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                            json={"registration_id": registration_id, "to_class": 1,
                                  "reason_code": "data_error"}, headers=county.auth("a"))
    assert by_school.status_code == 403


def test_a_correction_is_audited_marked_in_the_evidence_and_still_verifies(
        client: FlaskClient, county: County, cohort: Cohort, tmp_path: Path,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    family = admitted_family(login_parent, county)
    body = published(client, county, who="bureau", school=county.school_a.code)
    mine = client.get(f"/api/v1/registrations/{family.registration_id}/class",
                      headers=family.auth())
    assert mine.status_code == 200, mine.get_json()
    before = mine.get_json()
    target = before["class_no"] % 3 + 1
    url = f"/api/v1/staff/classes/assignments/{body['id']}/corrections"

    for bad, code in [({"to_class": target, "reason_code": "nope"}, "UNKNOWN_REASON"),
                      ({"to_class": None, "reason_code": "data_error"}, "TARGET_CLASS_MISMATCH"),
                      ({"to_class": 4, "reason_code": "data_error"}, "CLASS_NOT_IN_PLAN"),
                      ({"to_class": target, "reason_code": "other"}, "NOTE_REQUIRED")]:
        refused = client.post(url, json={"registration_id": family.registration_id, **bad},
                              headers=county.auth("bureau"))
        assert refused.get_json()["error"]["code"] == code, bad

    corrected = client.post(url, headers=county.auth("bureau"), json={
        "registration_id": family.registration_id, "to_class": target,
        "reason_code": "placement_change", "note": "随班就读评估后调整"})
    assert corrected.status_code == 201, corrected.get_json()
    [log] = corrected.get_json()["correction_log"]
    assert (log["from_class"], log["to_class"]) == (before["class_no"], target)
    assert log["corrected_by_user_id"] == county.user_ids["bureau"]
    assert log["note"] == "随班就读评估后调整"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "classes.correct"))
    assert audit is not None and audit.actor_user_id == county.user_ids["bureau"]
    assert audit.details["reason_code"] == "placement_change"
    assert audit.details["from_class"] == before["class_no"]

    after = client.get(f"/api/v1/registrations/{family.registration_id}/class",
                       headers=family.auth()).get_json()
    assert after["class_no"] == target and after["corrected"] is True
    document = evidence(client, body["id"])
    assert document["corrected"] is True
    [published_correction] = document["corrections"]
    assert published_correction["id"] == before["pseudonym"]
    assert published_correction["reason_code"] == "placement_change"
    assert "note" not in published_correction  # staff notes are not published
    assert document["final"][before["pseudonym"]] == target
    assert document["result"][before["pseudonym"]] == before["class_no"]
    verified = run_verify(tmp_path, document)
    assert verified.returncode == 0, verified.stderr
    assert "1 audited correction" in verified.stdout

    # A child who leaves is taken out; the evidence says so, and it still verifies.
    left = client.post(url, headers=county.auth("bureau"), json={
        "registration_id": cohort.registrations[1].id, "to_class": None,
        "reason_code": "left_school"})
    assert left.status_code == 201
    document = evidence(client, body["id"])
    assert list(document["final"].values()).count(None) == 1
    assert run_verify(tmp_path, document).returncode == 0


def test_a_correction_cannot_pass_the_class_size(
        client: FlaskClient, login_staff: Callable[[str, str], dict[str, Any]],
        session: Any) -> None:
    county = build_county(login_staff, classes=2, class_size=3)
    cohort = admit_cohort(county, county.school_a, 6)
    body = published(client, county)
    document = evidence(client, body["id"])
    by_pid = {p.pseudonym: p.registration_id
              for p in db.session.scalars(select(ClassPlacement))}
    pid, class_no = next(iter(document["result"].items()))
    full = client.post(f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                       headers=county.auth("bureau"), json={
                           "registration_id": by_pid[pid], "to_class": 3 - class_no,
                           "reason_code": "data_error"})
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "CLASS_FULL"
    assert len(cohort.registrations) == 6


def test_checked_in_scope_waits_for_check_in_to_close(
        client: FlaskClient, county: County, cohort: Cohort,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    assert commit(client, county, scope="checked_in").get_json()["error"]["code"] == \
        "NO_ONSITE_SLOTS"
    slot_id = create_slot(client, county, capacity=5).get_json()["id"]
    families = [admitted_family(login_parent, county) for _ in range(3)]
    codes = []
    for family in families:
        booking = client.post("/api/v1/onsite/bookings", headers=family.auth(), json={
            "registration_id": family.registration_id, "slot_id": slot_id}).get_json()
        codes.append(client.get(f"/api/v1/onsite/bookings/{booking['id']}/ticket",
                                headers=family.auth()).get_json()["code"])
    for code in codes[:2]:
        assert client.post("/api/v1/staff/checkins", json={"code": code},
                           headers=county.auth("a")).status_code == 201
    assert commit(client, county, scope="checked_in").get_json()["error"]["code"] == \
        "CHECKIN_OPEN"

    ended = utcnow() - dt.timedelta(hours=2)
    db.session.execute(update(OnsiteSlot).where(OnsiteSlot.id == slot_id).values(
        starts_at=ended, ends_at=ended + dt.timedelta(hours=1)))
    committed = commit(client, county, scope="checked_in")
    assert committed.status_code == 201, committed.get_json()
    assert committed.get_json()["pupil_count"] == 2 and committed.get_json()["scope"] == \
        "checked_in"
    draw(client, county, committed.get_json()["id"])
    assert client.get(f"/api/v1/registrations/{families[0].registration_id}/class",
                      headers=families[0].auth()).status_code == 200
    missing = client.get(f"/api/v1/registrations/{families[2].registration_id}/class",
                         headers=families[2].auth())
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "CLASS_NOT_ASSIGNED"


def test_together_requests_are_for_siblings_of_one_guardian_before_the_freeze(
        client: FlaskClient, county: County, cohort: Cohort) -> None:
    first, second = cohort.twins[0]
    strangers = [cohort.registrations[10].id, cohort.registrations[11].id]
    refused = _together(client, county, strangers)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "NOT_SIBLINGS"
    assert _together(client, county, [first.id, first.id]).status_code == 422
    assert _together(client, county, [first.id, second.id], who="b").status_code == 404
    created = _together(client, county, [first.id, second.id])
    assert created.status_code == 201
    assert [m["child_name"][1] for m in created.get_json()["members"]] == ["*", "*"]
    assert _together(client, county, [first.id, second.id]).get_json()["error"]["code"] == \
        "ALREADY_REQUESTED"
    listed = client.get(f"/api/v1/staff/classes/together-requests?season_id={county.season.id}",
                        headers=county.auth("a")).get_json()["items"]
    assert [r["id"] for r in listed] == [created.get_json()["id"]]

    commit(client, county)
    other_first, other_second = cohort.twins[1]
    frozen = _together(client, county, [other_first.id, other_second.id])
    assert frozen.status_code == 409 and frozen.get_json()["error"]["code"] == \
        "ASSIGNMENT_FROZEN"
    assert client.delete(f"/api/v1/staff/classes/together-requests/{created.get_json()['id']}",
                         headers=county.auth("a")).status_code == 409


def test_families_see_their_childs_class_and_id_and_others_nothing(
        client: FlaskClient, county: County, cohort: Cohort,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    family = admitted_family(login_parent, county)
    other = admitted_family(login_parent, county)
    assert client.get(f"/api/v1/registrations/{family.registration_id}/class",
                      headers=family.auth()).status_code == 404
    body = published(client, county)
    mine = client.get(f"/api/v1/registrations/{family.registration_id}/class",
                      headers=family.auth()).get_json()
    assert mine["class_name"] == f"一年级{mine['class_no']}班"
    assert mine["evidence_path"] == f"/api/v1/classes/assignments/{body['id']}/evidence"
    document = evidence(client, body["id"])
    assert document["result"][mine["pseudonym"]] == mine["class_no"]
    assert client.get(f"/api/v1/registrations/{family.registration_id}/class",
                      headers=other.auth()).status_code == 404
    # The public list and the staff views of another school.
    listed = client.get(f"/api/v1/classes/assignments?school={county.school_a.code}").get_json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
    assert client.get(f"/api/v1/staff/classes/assignments/{body['id']}",
                      headers=county.auth("b")).status_code == 404
    detail = client.get(f"/api/v1/staff/classes/assignments/{body['id']}",
                        headers=county.auth("a")).get_json()
    assert len(detail["pupils"]) == 82
    assert all(row["child_name"][1] == "*" for row in detail["pupils"])


def test_too_many_children_for_the_plan_are_refused(
        client: FlaskClient, login_staff: Callable[[str, str], dict[str, Any]],
        session: Any) -> None:
    county = build_county(login_staff, classes=1, class_size=4)
    admit_cohort(county, county.school_a, 5)
    refused = commit(client, county)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "OVER_PLAN"
    assert commit(client, county, who="b").get_json()["error"]["code"] == "NO_PUPILS"
