"""Review through HTTP: return → the family fixes through the intake → approve, and its rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.registrations import transitions
from backend.registrations.models import Registration, RegistrationStatus
from backend.registrations.transitions import Action, Actor, StaleState
from tests.conftest import Simulator
from tests.notices._support import TEMPLATE_IDS, make_sender, messages, register_sim_templates
from tests.reviews._support import (
    County,
    Family,
    add_registration,
    build_county,
    detail,
    make_family,
    notices_of,
    review,
    submit,
    upload,
    worker,
)


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county with an open window, schools A and B and their reviewers."""
    return build_county(login_staff)


@pytest.fixture()
def family(client: FlaskClient, login_parent: Callable[..., dict[str, Any]],
           county: County) -> Family:
    """A signed-in parent whose child lives in both schools' zone."""
    return make_family(client, login_parent, county)


def _fix(client: FlaskClient, family: Family, registration_id: int, upload_id: str,
         key: str = "fix-00000001") -> Any:
    return client.patch(f"/api/v1/registrations/{registration_id}", json={
        "basis": "hukou", "upload_ids": [upload_id]},
        headers={**family.auth(), "Idempotency-Key": key})


def test_return_fix_and_approve_with_notices_in_order(
    app: Flask, client: FlaskClient, county: County, family: Family, wechat_sim: Simulator
) -> None:
    blurry = upload(client, family)
    registration_id = submit(client, family, county.school_a, [blurry])

    seen = detail(client, county, "a", registration_id).get_json()
    assert seen["status"] == "submitted" and seen["decisions"] == ["approve", "return",
                                                                   "reject"]
    assert seen["child"]["name"] == "李*明" and seen["guardian"]["phone"] == "138****0042"
    assert seen["child"]["id_number"].count("*") == 8
    assert [u["upload_id"] for u in seen["uploads"]] == [blurry]

    deadline = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    returned = review(client, county, "a", registration_id, decision="return",
                      reason_code="PHOTO_BLURRY", note="请重新拍摄户口簿首页",
                      fix_deadline=deadline.isoformat(), expected_status="submitted",
                      expected_version=seen["version"])
    assert returned.status_code == 200, returned.get_json()
    body = returned.get_json()
    assert body["status"] == "returned" and body["version"] == seen["version"] + 2
    assert [e["status"] for e in body["timeline"]] == ["submitted", "under_review", "returned"]
    assert body["fix_deadline"] == deadline.astimezone(
        dt.timezone(dt.timedelta(hours=8))).isoformat()

    # The family sees each step with the role (never a staff name or id) and what to fix.
    mine = client.get(f"/api/v1/registrations/{registration_id}",
                      headers=family.auth()).get_json()
    assert [(e["status"], e["actor_role"]) for e in mine["timeline"]] == [
        ("submitted", "parent"), ("under_review", "school_staff"), ("returned", "school_staff")]
    assert all("actor_user_id" not in e for e in mine["timeline"])
    assert mine["correction"] == {"reason_code": "PHOTO_BLURRY", "reason": "照片模糊，无法辨认",
                                  "note": "请重新拍摄户口簿首页",
                                  "fix_deadline": body["fix_deadline"]}
    assert mine["timeline"][-1]["reason"] == "照片模糊，无法辨认"

    clear = upload(client, family, color=(10, 120, 40))
    queued = _fix(client, family, registration_id, clear)
    assert queued.status_code == 202, queued.get_json()
    worker().run_once()
    resubmitted = detail(client, county, "a", registration_id).get_json()
    assert resubmitted["status"] == "submitted" and resubmitted["fix_deadline"] is None
    assert [u["upload_id"] for u in resubmitted["uploads"]] == [clear]
    assert resubmitted["timeline"][-1]["reason_code"] == "EDITED"
    assert resubmitted["timeline"][-1]["actor_role"] == "parent"

    approved = review(client, county, "a", registration_id, decision="approve",
                      note="材料齐全", expected_status="submitted",
                      expected_version=resubmitted["version"])
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    assert approved.get_json()["decisions"] == []

    notices = notices_of(family.user_id)
    assert [n.template_key for n in notices] == [
        "registration_received", "correction_requested", "review_result"]
    correction, result = notices[1], notices[2]
    assert correction.data == {"school": "示例甲小学", "child": "李*明",
                               "reason": "照片模糊，无法辨认：请重新拍摄户口簿首页",
                               "deadline": body["fix_deadline"]}
    assert result.data == {"school": "示例甲小学", "child": "李*明", "result": "审核通过",
                           "note": "材料齐全"}
    assert correction.dedupe_key.startswith(f"registration.review:{registration_id}:")
    assert correction.page == f"pages/registrations/detail?id={registration_id}"

    audits = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "registration.review",
        AuditEvent.object_id == str(registration_id)).order_by(AuditEvent.id)).all()
    assert [(a.details["decision"], a.details["from"], a.details["to"]) for a in audits] == [
        ("return", "submitted", "returned"), ("approve", "submitted", "approved")]

    # The family allowed the three messages; the worker's sender delivers them through WeChat
    # (the simulator) in the order they happened, shortened to WeChat's field rules.
    register_sim_templates(wechat_sim)
    user = db.session.get(User, family.user_id)
    assert user is not None and user.openid
    keys = ("registration_received", "correction_requested", "review_result")
    assert client.post("/api/v1/me/subscriptions", headers=family.auth(), json={
        "results": dict.fromkeys(keys, "accept")}).status_code == 200
    for key in keys:
        wechat_sim.post("/sim/subscribe", openid=user.openid, template_id=TEMPLATE_IDS[key])
    sender, _clock = make_sender(app)
    assert sender.run_once().outcomes == {"sent": 3}
    delivered = messages(wechat_sim, user.openid)
    assert [m["template_id"] for m in delivered] == [TEMPLATE_IDS[k] for k in keys]
    assert all(m["page"] == f"pages/registrations/detail?id={registration_id}"
               for m in delivered)


def test_a_fix_after_the_deadline_is_409(
    client: FlaskClient, county: County, family: Family
) -> None:
    registration_id = submit(client, family, county.school_a, [upload(client, family)])
    returned = review(client, county, "a", registration_id, decision="return",
                      reason_code="HUKOU_FIRST_PAGE_MISSING", expected_status="submitted")
    assert returned.status_code == 200, returned.get_json()
    # The default window: the end of the day three days from now, local time.
    deadline = dt.datetime.fromisoformat(returned.get_json()["fix_deadline"])
    assert deadline.utcoffset() == dt.timedelta(hours=8)
    assert (deadline.hour, deadline.minute) == (23, 59)
    assert 2 <= (deadline - utcnow()).days <= 3

    # Time passes: the deadline is now behind us.
    db.session.execute(update(Registration).where(Registration.id == registration_id)
                       .values(fix_deadline=utcnow() - dt.timedelta(minutes=1)))
    late = _fix(client, family, registration_id, upload(client, family))
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "FIX_DEADLINE_PASSED"
    assert "截止" in late.get_json()["error"]["message"]

    # The school may then close it with the matching reason.
    closed = review(client, county, "a", registration_id, decision="reject",
                    reason_code="FIX_DEADLINE_MISSED", expected_status="returned")
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "rejected"
    assert notices_of(family.user_id)[-1].data["result"] == "未通过"


def test_a_reviewer_acting_on_a_stale_state_gets_409(
    client: FlaskClient, county: County, family: Family
) -> None:
    registration_id = submit(client, family, county.school_a, [upload(client, family)])
    seen = detail(client, county, "a", registration_id).get_json()
    first = review(client, county, "bureau", registration_id, decision="return",
                   reason_code="WRONG_DOCUMENT", expected_status="submitted",
                   expected_version=seen["version"])
    assert first.status_code == 200, first.get_json()
    second = review(client, county, "a", registration_id, decision="approve",
                    expected_status="submitted", expected_version=seen["version"])
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "STALE_STATE"

    # The family fixes it: the status is "submitted" again, but not the one the reviewer
    # saw; the version tells them apart.
    assert _fix(client, family, registration_id, upload(client, family)).status_code == 202
    worker().run_once()
    again = review(client, county, "a", registration_id, decision="approve",
                   expected_status="submitted", expected_version=seen["version"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "STALE_STATE"
    assert detail(client, county, "a", registration_id).get_json()["status"] == "submitted"


def test_the_update_itself_compares_and_sets(session: Any, county: County) -> None:
    registration = add_registration(county, county.school_a)
    assert registration.version == 1
    # Another reviewer's decision commits between our read and our write.
    db.session.execute(update(Registration).where(Registration.id == registration.id)
                       .values(status=RegistrationStatus.UNDER_REVIEW, version=2)
                       .execution_options(synchronize_session=False))
    with pytest.raises(StaleState):
        transitions.apply(db.session(), registration, Action.START_REVIEW, Actor.SCHOOL,
                          actor_user_id=None)
    db.session.expire_all()
    fresh = db.session.get(Registration, registration.id)
    assert fresh is not None and fresh.version == 2 and len(fresh.events) == 1


def test_reason_rules(client: FlaskClient, county: County) -> None:
    registration_id = add_registration(county, county.school_a).id

    def attempt(**body: Any) -> Any:
        return review(client, county, "a", registration_id, expected_status="submitted",
                      **body)

    cases = [
        ({"decision": "return"}, 422, "REASON_REQUIRED"),
        ({"decision": "reject"}, 422, "REASON_REQUIRED"),
        ({"decision": "return", "reason_code": "NOPE"}, 422, "UNKNOWN_REASON"),
        ({"decision": "return", "reason_code": "OUT_OF_ZONE"}, 422, "REASON_NOT_APPLICABLE"),
        ({"decision": "reject", "reason_code": "OTHER"}, 422, "NOTE_REQUIRED"),
        ({"decision": "approve", "reason_code": "PHOTO_BLURRY"}, 422, "REASON_NOT_APPLICABLE"),
        ({"decision": "approve", "fix_deadline": "2030-01-01T00:00:00+08:00"}, 422,
         "FIX_DEADLINE_NOT_APPLICABLE"),
        ({"decision": "return", "reason_code": "PHOTO_BLURRY",
          "fix_deadline": (utcnow() - dt.timedelta(hours=1)).isoformat()}, 422,
         "FIX_DEADLINE_IN_PAST"),
        ({"decision": "return", "reason_code": "PHOTO_BLURRY",
          "fix_deadline": (utcnow() + dt.timedelta(days=90)).isoformat()}, 422,
         "FIX_DEADLINE_TOO_FAR"),
        ({"decision": "maybe"}, 422, "VALIDATION_FAILED"),
    ]
    for body, status, code in cases:
        response = attempt(**body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), body
    # Nothing moved while the requests were refused.
    assert detail(client, county, "a", registration_id).get_json()["version"] == 1

    # A deadline without an offset is local time.
    ok = attempt(decision="return", reason_code="OTHER", note="请补充说明",
                 fix_deadline=(utcnow() + dt.timedelta(days=1)).astimezone(
                     dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None).isoformat())
    assert ok.status_code == 200, ok.get_json()
    wrong_state = review(client, county, "a", registration_id, decision="approve",
                         expected_status="returned")
    assert wrong_state.status_code == 409
    assert wrong_state.get_json()["error"]["code"] == "TRANSITION_NOT_ALLOWED"


def test_review_reasons_are_listed_with_chinese_labels(client: FlaskClient,
                                                       county: County) -> None:
    response = client.get("/api/v1/staff/review-reasons", headers=county.auth("a"))
    assert response.status_code == 200
    body = response.get_json()
    labels = {r["code"]: r["label"] for r in body["items"]}
    assert labels["PHOTO_BLURRY"] == "照片模糊，无法辨认"
    assert labels["WRONG_DOCUMENT"] == "材料类型错误"
    assert labels["HUKOU_FIRST_PAGE_MISSING"] == "户口簿首页缺失"
    assert labels["DOCUMENT_MISMATCH"] == "材料与儿童信息不符"
    assert "RESIDENCE_PROOF_MISSING" in labels
    assert body["default_fix_days"] == 3


def test_special_groups_need_the_bureau_after_the_school(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county, name="赵小军", categories=["disability"])
    documents = [upload(client, family), upload(client, family, kind="disability_certificate")]
    registration_id = submit(client, family, county.school_a, documents)
    assert detail(client, county, "a", registration_id).get_json()["needs_bureau_review"]

    forwarded = review(client, county, "a", registration_id, decision="approve",
                       expected_status="submitted")
    assert forwarded.status_code == 200, forwarded.get_json()
    assert forwarded.get_json()["status"] == "bureau_review"
    assert forwarded.get_json()["status_name"] == "待教育局复核"
    assert forwarded.get_json()["decisions"] == []
    # The hand-over is not worth one of the family's scarce subscribe credits.
    assert [n.template_key for n in notices_of(family.user_id)] == ["registration_received"]

    again = review(client, county, "a", registration_id, decision="approve",
                   expected_status="bureau_review")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "TRANSITION_NOT_ALLOWED"
    elsewhere = review(client, county, "other_bureau", registration_id, decision="approve",
                       expected_status="bureau_review")
    assert elsewhere.status_code == 404

    bureau_view = detail(client, county, "bureau", registration_id).get_json()
    assert bureau_view["decisions"] == ["approve", "return", "reject"]
    done = review(client, county, "bureau", registration_id, decision="approve",
                  expected_status="bureau_review", expected_version=bureau_view["version"])
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "approved"
    assert [(e["status"], e["actor_role"]) for e in done.get_json()["timeline"]][1:] == [
        ("under_review", "school_staff"), ("bureau_review", "school_staff"),
        ("approved", "bureau_admin")]
    assert [n.template_key for n in notices_of(family.user_id)] == [
        "registration_received", "review_result"]
    mine = client.get(f"/api/v1/registrations/{registration_id}",
                      headers=family.auth()).get_json()
    assert mine["status_name"] == "审核通过" and mine["correction"] is None


def test_a_bureau_approval_of_an_ordinary_registration_completes_it(
    client: FlaskClient, county: County
) -> None:
    registration = add_registration(county, county.school_b)
    response = review(client, county, "bureau", registration.id, decision="approve",
                      expected_status="submitted")
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"


def test_once_review_started_the_family_can_neither_withdraw_nor_edit(
    client: FlaskClient, county: County, family: Family
) -> None:
    registration_id = submit(client, family, county.school_a, [upload(client, family)])
    mine = client.get(f"/api/v1/registrations/{registration_id}", headers=family.auth())
    assert mine.get_json()["can_withdraw"] is True
    review(client, county, "a", registration_id, decision="return",
           reason_code="PHOTO_BLURRY", expected_status="submitted")
    withdraw = client.post(f"/api/v1/registrations/{registration_id}/withdraw",
                           headers=family.auth())
    assert withdraw.status_code == 409
    assert withdraw.get_json()["error"]["code"] == "CANNOT_WITHDRAW"
    review(client, county, "a", registration_id, decision="reject",
           reason_code="FIX_DEADLINE_MISSED", expected_status="returned")
    edit = _fix(client, family, registration_id, upload(client, family))
    assert edit.status_code == 409
    assert edit.get_json()["error"]["code"] == "REGISTRATION_NOT_EDITABLE"


def test_an_edit_queued_before_a_rejection_is_not_applied(
    client: FlaskClient, county: County, family: Family
) -> None:
    registration_id = submit(client, family, county.school_a, [upload(client, family)])
    review(client, county, "a", registration_id, decision="return",
           reason_code="PHOTO_BLURRY", expected_status="submitted")
    queued = _fix(client, family, registration_id, upload(client, family))
    assert queued.status_code == 202
    review(client, county, "a", registration_id, decision="reject",
           reason_code="FALSE_INFORMATION", expected_status="returned")
    worker().run_once()
    ticket = client.get(f"/api/v1/registrations/tickets/{queued.get_json()['ticket']}",
                        headers=family.auth()).get_json()
    assert ticket["state"] == "rejected"
    assert ticket["error"]["code"] == "REGISTRATION_NOT_EDITABLE"
    assert detail(client, county, "a", registration_id).get_json()["status"] == "rejected"
