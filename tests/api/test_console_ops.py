"""The bureau's operations APIs over HTTP: staff accounts (edit, disable, reset a password),
binding disputes paged, dead letters (scoped, with attempts, ids and the reason; replayed and
followed), the audit log's filters (actor, action, dates, child) and notice delivery per
family — each refusing bad input (422), other counties (404) and leaking nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.core.jobs import DEAD_LETTER_STREAM, JOBS, stream_key
from backend.core.redis import redis_store
from backend.core.timeutil import zone
from backend.notices.models import NoticeStatus
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_handlers
from tests.conftest import bearer
from tests.console._ops_support import (
    Ops,
    add_notice,
    build_ops,
    dead_letter,
    submission_dead_letter,
)
from tests.factories import STAFF_PASSWORD

Login = Callable[[str, str], dict[str, Any]]


@pytest.fixture()
def ops(session: Any) -> Ops:
    """County A (school, staff, a family, a dispute) and county B's bureau."""
    return build_ops()


@pytest.fixture()
def auth(ops: Ops, login_staff: Login) -> dict[str, dict[str, str]]:
    """Bearer headers for A's admin, A's colleague, A's teacher and B's admin."""
    return {who: bearer(login_staff(name, STAFF_PASSWORD)["token"])
            for who, name in ops.names.items()}


def _code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- staff accounts ------------------------------------------------------------------------


def test_the_account_list_filters_by_role_school_status_and_text(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    ops.colleague.is_active = False
    db.session.flush()

    def names(query: str) -> set[str]:
        response = client.get(f"/api/v1/admin/staff-accounts{query}", headers=auth["admin"])
        assert response.status_code == 200, response.get_json()
        return {u["username"] for u in response.get_json()["items"]}

    assert names("") == set(ops.names.values()) - {ops.names["other_admin"]}
    assert names("?role=school_staff") == {ops.names["teacher"]}
    assert names(f"?school={ops.school.code}") == {ops.names["teacher"]}
    assert names("?active=false") == {ops.names["colleague"]}
    assert names("?q=colleague") == {ops.names["colleague"]}
    paged = client.get("/api/v1/admin/staff-accounts?page_size=1&page=2",
                       headers=auth["admin"]).get_json()
    assert paged["total"] == 3 and len(paged["items"]) == 1 and paged["page"] == 2
    assert client.get("/api/v1/admin/staff-accounts?role=parent",
                      headers=auth["admin"]).status_code == 422
    other_school = client.get(f"/api/v1/admin/staff-accounts?school={ops.other_school.code}",
                              headers=auth["admin"])
    assert other_school.status_code == 404


def test_an_admin_edits_an_account_and_disabling_it_ends_its_sessions_at_once(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    teacher = auth["teacher"]
    assert client.get("/api/v1/me", headers=teacher).status_code == 200
    url = f"/api/v1/admin/staff-accounts/{ops.teacher.id}"

    moved = client.patch(url, headers=auth["admin"],
                         json={"display_name": "王老师（教务）", "role": "bureau_admin"})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["role"] == "bureau_admin" and body["school"] is None
    assert body["display_name"] == "王老师（教务）"
    # A change of role signs the account out: it must sign in again with its new rights.
    assert client.get("/api/v1/me", headers=teacher).status_code == 401
    [event] = _audits("account.update")
    assert event.actor_user_id == ops.admin.id and event.object_id == str(ops.teacher.id)
    assert set(event.details["changed"]) == {"display_name", "role", "school"}
    assert "王老师" not in str(event.details)  # ids and flags only, never a name

    back = client.patch(url, headers=auth["admin"],
                        json={"role": "school_staff", "school_code": ops.school.code})
    assert back.status_code == 200 and back.get_json()["school"] == ops.school.code

    colleague = auth["colleague"]
    assert client.get("/api/v1/me", headers=colleague).status_code == 200
    disabled = client.patch(f"/api/v1/admin/staff-accounts/{ops.colleague.id}",
                            headers=auth["admin"], json={"is_active": False})
    assert disabled.status_code == 200 and disabled.get_json()["is_active"] is False
    assert client.get("/api/v1/me", headers=colleague).status_code == 401
    assert client.post("/api/v1/auth/staff-login", json={
        "username": ops.names["colleague"], "password": STAFF_PASSWORD}).status_code == 403


def test_account_changes_are_validated_scoped_and_never_against_oneself(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    admin = auth["admin"]
    mine = f"/api/v1/admin/staff-accounts/{ops.admin.id}"
    teacher = f"/api/v1/admin/staff-accounts/{ops.teacher.id}"
    cases = [
        (mine, {"is_active": False}, 409, "CANNOT_DISABLE_SELF"),
        (mine, {"role": "school_staff", "school_code": ops.school.code}, 409,
         "CANNOT_DEMOTE_SELF"),
        (teacher, {"role": "parent"}, 422, "VALIDATION_FAILED"),
        (teacher, {"password": "Another-pass-9"}, 422, "VALIDATION_FAILED"),
        (teacher, {"is_active": "sometimes"}, 422, "VALIDATION_FAILED"),
        (teacher, {"school_code": ops.other_school.code}, 404, "SCHOOL_NOT_FOUND"),
        (f"/api/v1/admin/staff-accounts/{ops.colleague.id}",
         {"role": "school_staff"}, 422, "SCHOOL_REQUIRED"),
        (teacher, {"role": "bureau_admin", "school_code": ops.school.code}, 422,
         "SCHOOL_NOT_ALLOWED"),
        (f"/api/v1/admin/staff-accounts/{ops.other_admin.id}", {"is_active": False}, 404,
         "ACCOUNT_NOT_FOUND"),
        (f"/api/v1/admin/staff-accounts/{ops.guardian.user_id}", {"is_active": False}, 404,
         "ACCOUNT_NOT_FOUND"),
    ]
    for url, body, status, code in cases:
        response = client.patch(url, headers=admin, json=body)
        assert (response.status_code, _code(response)) == (status, code), body
    db.session.expire_all()
    assert ops.admin.is_active and ops.admin.role is Role.BUREAU_ADMIN
    assert ops.other_admin.is_active and ops.teacher.school_id == ops.school.id
    assert _audits("account.update") == []
    # Another county's bureau: the same 404 as a missing account, and nothing changes.
    outside = client.patch(teacher, headers=auth["other_admin"], json={"is_active": False})
    assert outside.status_code == 404 and _code(outside) == "ACCOUNT_NOT_FOUND"
    assert client.patch(teacher, headers=auth["teacher"], json={}).status_code == 403


def test_a_reset_password_works_and_the_old_one_no_longer_does(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    url = f"/api/v1/admin/staff-accounts/{ops.teacher.id}/reset-password"
    weak = client.post(url, headers=auth["admin"], json={"password": "1234567890"})
    assert weak.status_code == 422 and _code(weak) == "WEAK_PASSWORD"
    assert client.post(url, headers=auth["admin"], json={"password": ""}).status_code == 422

    generated = client.post(url, headers=auth["admin"], json={})
    assert generated.status_code == 200, generated.get_json()
    body = generated.get_json()
    assert body["generated"] is True and body["account"]["username"] == ops.names["teacher"]
    password = body["password"]
    assert len(password) >= 10 and any(c.isdigit() for c in password)
    # Every session of the account ended; the old password fails, the new one works.
    assert client.get("/api/v1/me", headers=auth["teacher"]).status_code == 401

    def login(secret: str) -> int:
        return int(client.post("/api/v1/auth/staff-login", json={
            "username": ops.names["teacher"], "password": secret,
            "web_session": False}).status_code)

    assert login(STAFF_PASSWORD) == 401
    assert login(password) == 200
    [event] = _audits("account.password_reset")
    assert event.details == {"generated": True} and password not in str(event.details)

    chosen = client.post(url, headers=auth["admin"], json={"password": "Chosen-by-admin-7"})
    assert chosen.status_code == 200 and chosen.get_json()["password"] is None
    assert login("Chosen-by-admin-7") == 200 and login(password) == 401

    own = client.post(f"/api/v1/admin/staff-accounts/{ops.admin.id}/reset-password",
                      headers=auth["admin"], json={})
    assert own.status_code == 409 and _code(own) == "CANNOT_RESET_SELF"
    outside = client.post(url, headers=auth["other_admin"], json={})
    assert outside.status_code == 404 and login("Chosen-by-admin-7") == 200


# --- binding disputes ----------------------------------------------------------------------


def test_disputes_are_paged_with_both_sides_masked(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    listed = client.get("/api/v1/admin/identity-disputes?status=open&page_size=1",
                        headers=auth["admin"])
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1 and body["page_size"] == 1
    [item] = body["items"]
    assert item["bound_name"] == "张*例" and item["bound_phone"] == "139****0042"
    assert item["children"] == 1 and item["requester_bound"] is False
    assert "张示例" not in str(body) and "张小明" not in str(body)
    assert client.get("/api/v1/admin/identity-disputes?status=closed",
                      headers=auth["admin"]).status_code == 422
    assert client.get("/api/v1/admin/identity-disputes",
                      headers=auth["other_admin"]).get_json()["total"] == 0
    short = client.post(f"/api/v1/admin/identity-disputes/{ops.dispute.id}/resolve",
                        headers=auth["admin"], json={"decision": "transfer", "note": ""})
    assert short.status_code == 422
    assert short.get_json()["error"]["details"]["fields"][0]["field"] == "note"
    outside = client.post(f"/api/v1/admin/identity-disputes/{ops.dispute.id}/resolve",
                          headers=auth["other_admin"],
                          json={"decision": "reject", "note": "外县核实"})
    assert outside.status_code == 404
    db.session.expire_all()
    assert ops.dispute.status.value == "open"


# --- dead letters --------------------------------------------------------------------------


def _worker() -> Worker:
    worker = Worker(load_handlers(), name="ops-test-worker",
                    settings=WorkerSettings(block_ms=10, linger_ms=0, max_deliveries=1))
    worker.ensure_group()
    return worker


def test_dead_letters_show_why_when_how_often_and_which_ids_to_their_county(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    submission = submission_dead_letter(ops)
    unreadable = dead_letter("audit.record", "{not json", reason="payload is not JSON",
                             attempts=1)
    body = client.get("/api/v1/admin/dead-letters", headers=auth["admin"]).get_json()
    assert body["total"] == 2
    letters = {(item["stream"], item["id"]): item for item in body["items"]}
    mine = letters[("{intake}", submission)]
    assert mine["type_name"] == "网上报名写入" and mine["attempts"] == 5
    assert mine["reason"] == "RuntimeError" and "RuntimeError" in mine["reason_text"]
    assert mine["ids"]["ticket"] == "Tdeadletter000001"
    assert mine["ids"]["season_id"] == str(ops.season.id) and mine["scope"] == "authority"
    assert mine["failed_at"].endswith("+08:00")
    assert letters[("jobs", unreadable)]["scope"] == "deployment"
    assert "JSON" in letters[("jobs", unreadable)]["reason_text"]

    # County B sees only what names no county; filters and paging are server-side.
    other = client.get("/api/v1/admin/dead-letters", headers=auth["other_admin"]).get_json()
    assert [(item["stream"], item["id"]) for item in other["items"]] == [("jobs", unreadable)]
    filtered = client.get("/api/v1/admin/dead-letters?stream=%7Bintake%7D",
                          headers=auth["admin"]).get_json()
    assert [(item["stream"], item["id"]) for item in filtered["items"]] == [
        ("{intake}", submission)]
    assert client.get("/api/v1/admin/dead-letters?type=audit.record&page_size=1",
                      headers=auth["admin"]).get_json()["total"] == 1
    assert client.get("/api/v1/admin/dead-letters?stream=other",
                      headers=auth["admin"]).status_code == 422
    replay = f"/api/v1/admin/dead-letters/%7Bintake%7D/{submission}/replay"
    assert client.post(replay, headers=auth["other_admin"]).status_code == 404
    assert client.post("/api/v1/admin/dead-letters/%7Bintake%7D/not-an-id/replay",
                       headers=auth["admin"]).status_code == 404
    assert _audits("queue.replay") == []


def test_a_replayed_message_is_followed_until_it_is_processed_or_fails_again(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    worker = _worker()
    good = dead_letter("audit.record", {"action": "test.replayed",
                                        "actor_user_id": ops.admin.id})
    bad = dead_letter("audit.record", {"actor_user_id": ops.admin.id})  # no action: KeyError

    def replay(message_id: str) -> str:
        response = client.post(f"/api/v1/admin/dead-letters/jobs/{message_id}/replay",
                               headers=auth["admin"])
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["state"] == "queued"
        return str(response.get_json()["message_id"])

    def state(message_id: str, who: str = "admin") -> Any:
        return client.get(f"/api/v1/admin/queue-messages/jobs/{message_id}", headers=auth[who])

    new_good, new_bad = replay(good), replay(bad)
    assert state(new_good).get_json()["state"] == "queued"
    assert state(new_good, "other_admin").status_code == 404  # county A's message
    assert worker.run_once() >= 2  # with the sign-ins' audit events
    assert state(new_good).get_json()["state"] == "processed"
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "test.replayed")) is not None
    failed = state(new_bad).get_json()
    assert failed["state"] == "failed" and failed["reason"] == "KeyError"
    assert failed["dead_letter_id"]
    again = client.get("/api/v1/admin/dead-letters", headers=auth["admin"]).get_json()
    assert [item["attempts"] for item in again["items"]] == [1]
    replays = _audits("queue.replay")
    assert len(replays) == 2 and {e.actor_user_id for e in replays} == {ops.admin.id}
    assert redis_store.client.xlen(stream_key(JOBS)) == 0
    assert redis_store.client.xlen(stream_key(DEAD_LETTER_STREAM)) == 1
    assert state("12-0").get_json()["state"] == "processed"
    assert client.get("/api/v1/admin/queue-messages/other/1-0",
                      headers=auth["admin"]).status_code == 404


# --- the audit log -------------------------------------------------------------------------


def test_the_audit_log_filters_by_actor_action_dates_and_child(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    reveal = client.post(f"/api/v1/staff/children/{ops.child.id}/reveal",
                         headers=auth["teacher"], json={"reason": "核对户籍信息"})
    assert reveal.status_code == 200, reveal.get_json()
    review = client.post(f"/api/v1/staff/registrations/{ops.registration.id}/review",
                         headers=auth["teacher"],
                         json={"decision": "approve", "expected_status": "submitted"})
    assert review.status_code == 200, review.get_json()
    client.patch(f"/api/v1/admin/staff-accounts/{ops.colleague.id}", headers=auth["admin"],
                 json={"display_name": "陈科长（招生）"})
    old = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.update"))
    assert old is not None
    old.occurred_at = utcnow() - dt.timedelta(days=3)
    db.session.flush()

    def actions(query: str, who: str = "admin") -> list[str]:
        response = client.get(f"/api/v1/admin/audit-events{query}", headers=auth[who])
        assert response.status_code == 200, response.get_json()
        return [e["action"] for e in response.get_json()["items"]]

    assert set(actions(f"?actor_user_id={ops.teacher.id}")) == {
        "child.reveal", "registration.review"}
    assert set(actions(f"?actor={ops.names['admin']}")) == {"account.update"}
    assert actions("?action=child.reveal") == ["child.reveal"]
    today = utcnow().astimezone(zone()).date()
    assert "account.update" not in actions(f"?date_from={today}")
    assert actions(f"?date_to={today - dt.timedelta(days=1)}") == ["account.update"]

    by_child = client.get(f"/api/v1/admin/audit-events?child_id={ops.child.id}",
                          headers=auth["admin"]).get_json()
    assert by_child["child"] == {"id": ops.child.id, "name": "张*明"}
    assert {e["action"] for e in by_child["items"]} == {"child.reveal", "registration.review"}
    assert by_child["total"] == 2 and "张小明" not in str(by_child)
    first = by_child["items"][0]
    assert first["actor_username"] == ops.names["teacher"] and first["action_name"]

    for query, status in (
            (f"?child_id={ops.child.id}", 404), (f"?actor_user_id={ops.admin.id}", 404)):
        response = client.get(f"/api/v1/admin/audit-events{query}",
                              headers=auth["other_admin"])
        assert response.status_code == status, query
    for query in ("?date_from=2024-08-09&date_to=2024-08-01", "?child_id=abc",
                  "?date_from=yesterday", "?page=0", "?page_size=1000"):
        response = client.get(f"/api/v1/admin/audit-events{query}", headers=auth["admin"])
        assert response.status_code == 422, query
    assert client.get("/api/v1/admin/audit-events?actor=nobody-here",
                      headers=auth["admin"]).status_code == 404
    assert client.get(f"/api/v1/admin/audit-events?child_id={ops.child.id}",
                      headers=auth["teacher"]).status_code == 403


# --- notice delivery -----------------------------------------------------------------------


def test_notice_delivery_per_family_with_counts_masked_and_scoped(
        client: FlaskClient, ops: Ops, auth: dict[str, dict[str, str]]) -> None:
    sent = add_notice(ops, NoticeStatus.SENT)
    add_notice(ops, NoticeStatus.NOT_SUBSCRIBED)
    add_notice(ops, NoticeStatus.FAILED, error="微信返回 40037：模板不存在")
    add_notice(ops, NoticeStatus.SENT, template="appointment", days_ago=5)

    def listed(query: str = "", who: str = "admin") -> Any:
        response = client.get(f"/api/v1/admin/notices{query}", headers=auth[who])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    body = listed()
    assert body["total"] == 4
    assert body["counts"] == {"pending": 0, "sending": 0, "sent": 2, "not_subscribed": 1,
                              "failed": 1, "uncertain": 0}
    item = next(i for i in body["items"] if i["id"] == sent.id)
    assert item["family"] == {"user_id": ops.guardian.user_id, "guardian_name": "张*例",
                              "guardian_phone": "139****0042"}
    assert item["child"] == "张*明" and item["school"] == ops.school.name
    assert item["status_name"] == "已送达微信" and item["title"] == "报名审核结果"
    assert "张示例" not in str(body)

    failed = listed("?status=failed")
    assert failed["total"] == 1 and failed["items"][0]["last_error"].startswith("微信返回")
    assert failed["counts"]["sent"] == 2  # the counts ignore the status filter
    assert listed("?template=appointment")["total"] == 1
    assert listed(f"?school={ops.school.code}")["total"] == 4
    assert listed(f"?q={ops.registration.id}")["total"] == 4
    assert listed(f"?q={ops.registration.ticket}&status=sent")["total"] == 2
    today = utcnow().astimezone(zone()).date()
    assert listed(f"?date_from={today}")["total"] == 3
    assert listed(f"?date_to={today - dt.timedelta(days=1)}")["total"] == 1

    # County B: nothing of county A's families; naming them is 404.
    assert listed(who="other_admin")["total"] == 0
    for query in (f"?q={ops.registration.ticket}", f"?school={ops.school.code}"):
        response = client.get(f"/api/v1/admin/notices{query}", headers=auth["other_admin"])
        assert response.status_code == 404, query
    for query in ("?status=lost", "?template=unknown", "?date_from=2024-13-01", "?q=",
                  "?date_from=2024-08-09&date_to=2024-08-01"):
        response = client.get(f"/api/v1/admin/notices{query}", headers=auth["admin"])
        assert response.status_code == 422, query
    assert client.get("/api/v1/admin/notices", headers=auth["teacher"]).status_code == 403
