"""Notices over HTTP: templates, subscription credits, the in-app inbox and the bulk writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, get_args

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.db import db
from backend.notices.models import Notice, NoticeStatus
from backend.notices.schemas import TemplateKey
from backend.notices.services import add_notice, add_notices_bulk
from backend.notices.templates import TEMPLATE_KEYS
from tests.conftest import Simulator, bearer
from tests.factories import STAFF_PASSWORD, make_authority, make_parent, make_staff
from tests.notices._support import CORRECTION, RECEIVED, log_in, notify

Login = Callable[..., dict[str, Any]]


def test_the_template_keys_of_the_api_are_the_configured_ones() -> None:
    assert set(get_args(TemplateKey)) == set(TEMPLATE_KEYS)


def test_anyone_can_list_the_templates_to_subscribe_to(client: FlaskClient) -> None:
    response = client.get("/api/v1/notices/templates")

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["key"] for item in items] == list(TEMPLATE_KEYS)
    assert items[0] == {"key": "registration_received", "template_id": "TPL_REG_RECEIVED",
                        "title": "报名已受理"}


def test_a_deployment_configures_its_own_template_ids_and_fields(
        app: Flask, client: FlaskClient) -> None:
    saved = app.config["NOTICE_TEMPLATES"]
    app.config["NOTICE_TEMPLATES"] = ('{"announcement": {"template_id": "aB3-xyz_1", '
                                      '"fields": {"thing7": "title", "time2": "published_at"}}}')
    try:
        items = client.get("/api/v1/notices/templates").get_json()["items"]
    finally:
        app.config["NOTICE_TEMPLATES"] = saved
    by_key = {item["key"]: item["template_id"] for item in items}
    assert by_key["announcement"] == "aB3-xyz_1"
    assert by_key["review_result"] == "TPL_REVIEW_RESULT"  # the others keep the defaults


def test_each_accept_is_one_credit_and_reject_or_ban_grants_none(
        client: FlaskClient, login_parent: Login) -> None:
    parent = log_in(login_parent)
    headers = bearer(parent.token)
    before = client.get("/api/v1/me/subscriptions", headers=headers).get_json()["items"]
    assert {item["key"]: item["credits"] for item in before} == dict.fromkeys(TEMPLATE_KEYS, 0)

    for _ in range(2):
        response = client.post("/api/v1/me/subscriptions", headers=headers, json={"results": {
            "review_result": "accept", "appointment": "reject", "announcement": "ban"}})
        assert response.status_code == 200
    client.post("/api/v1/me/subscriptions", headers=headers,
                json={"results": {"appointment": "accept", "review_result": "filter"}})

    items = client.get("/api/v1/me/subscriptions", headers=headers).get_json()["items"]
    credits = {item["key"]: item["credits"] for item in items}
    assert credits["review_result"] == 2 and credits["appointment"] == 1
    assert credits["announcement"] == 0
    assert {"key": "appointment", "template_id": "TPL_APPOINTMENT", "title": "现场确认预约",
            "credits": 1} in items


@pytest.mark.parametrize("body", [
    {"results": {"no_such_notice": "accept"}},
    {"results": {"TPL_REVIEW_RESULT": "accept"}},  # template ids are not keys
    {"results": {"review_result": "maybe"}},
    {"results": {}},
    {"results": {"review_result": "accept"}, "errMsg": "requestSubscribeMessage:ok"},
])
def test_unknown_keys_or_answers_are_refused(
        client: FlaskClient, login_parent: Login, body: dict[str, Any]) -> None:
    parent = log_in(login_parent)
    response = client.post("/api/v1/me/subscriptions", headers=bearer(parent.token), json=body)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "VALIDATION_FAILED"
    items = client.get("/api/v1/me/subscriptions", headers=bearer(parent.token)).get_json()
    assert all(item["credits"] == 0 for item in items["items"])


def test_subscriptions_and_inbox_are_for_parents(client: FlaskClient, session: Session) -> None:
    authority = make_authority()
    make_staff(authority, username="notice-staff")
    token = client.post("/api/v1/auth/staff-login", json={
        "username": "notice-staff", "password": STAFF_PASSWORD}).get_json()["token"]
    for method, path in (("get", "/api/v1/me/subscriptions"), ("get", "/api/v1/me/notices"),
                         ("post", "/api/v1/me/notices/1/read")):
        assert getattr(client, method)(path).status_code == 401
        assert getattr(client, method)(path, headers=bearer(token)).status_code == 403
    response = client.post("/api/v1/me/subscriptions", headers=bearer(token),
                           json={"results": {"review_result": "accept"}})
    assert response.status_code == 403


def test_the_inbox_lists_every_notice_newest_first_in_pages(
        client: FlaskClient, session: Session, login_parent: Login) -> None:
    parent = log_in(login_parent)
    ids = [notify(parent.user_id, "registration_received", {**RECEIVED, "ticket": f"T{n:03d}"})
           for n in range(23)]
    # Whatever WeChat did with them, the family sees them all.
    statuses = [NoticeStatus.SENT, NoticeStatus.NOT_SUBSCRIBED, NoticeStatus.FAILED,
                NoticeStatus.UNCERTAIN, NoticeStatus.SENDING]
    for notice_id, status in zip(ids, statuses, strict=False):
        db.session.get_one(Notice, notice_id).status = status
    db.session.commit()
    headers = bearer(parent.token)

    first = client.get("/api/v1/me/notices", headers=headers).get_json()
    second = client.get("/api/v1/me/notices?page=2", headers=headers).get_json()
    small = client.get("/api/v1/me/notices?page=3&page_size=10", headers=headers).get_json()

    assert first["total"] == 23 and first["unread"] == 23 and first["page_size"] == 20
    assert [item["id"] for item in first["items"]] == ids[::-1][:20]
    assert [item["id"] for item in second["items"]] == ids[::-1][20:]
    assert [item["id"] for item in small["items"]] == ids[::-1][20:]
    oldest = second["items"][-1]
    assert oldest["wechat_sent"] is True and second["items"][-2]["wechat_sent"] is False
    assert oldest["title"] == "报名已受理" and oldest["read"] is False
    assert oldest["lines"] == [
        {"label": "学校", "value": "临县第一小学（示例）"}, {"label": "回执号", "value": "T000"},
        {"label": "提交时间", "value": "2024-08-05 08:00"}, {"label": "状态", "value": "已受理"},
    ]
    assert oldest["body"].splitlines()[2] == "提交时间：2024-08-05 08:00"
    created = dt.datetime.fromisoformat(oldest["created_at"])
    assert created.utcoffset() == dt.timedelta(hours=8)
    assert client.get("/api/v1/me/notices?page=0", headers=headers).status_code == 422


def test_a_notice_is_marked_read_only_by_its_owner(
        client: FlaskClient, session: Session, login_parent: Login) -> None:
    parent = log_in(login_parent)
    other = log_in(login_parent)
    mine = notify(parent.user_id, "correction_requested", CORRECTION,
                  page="pages/registrations/detail?id=3")
    theirs = notify(other.user_id, "correction_requested", CORRECTION)

    response = client.post(f"/api/v1/me/notices/{mine}/read", headers=bearer(parent.token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["read"] is True and body["title"] == "报名材料需要修改"
    assert body["page"] == "pages/registrations/detail?id=3"
    assert {"label": "修改截止", "value": "2024-08-10"} in body["lines"]
    again = client.post(f"/api/v1/me/notices/{mine}/read", headers=bearer(parent.token))
    assert again.status_code == 200

    for notice_id in (theirs, 999_999):
        response = client.post(f"/api/v1/me/notices/{notice_id}/read",
                               headers=bearer(parent.token))
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "NOTICE_NOT_FOUND"
    inbox = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()
    assert inbox["unread"] == 0 and [item["id"] for item in inbox["items"]] == [mine]
    others = client.get("/api/v1/me/notices", headers=bearer(other.token)).get_json()
    assert others["unread"] == 1 and [item["id"] for item in others["items"]] == [theirs]


def test_bulk_notices_skip_the_ones_already_queued(session: Session) -> None:
    users = [make_parent() for _ in range(3)]
    rows = [{"user_id": user.id, "template_key": "announcement",
             "data": {"school": "临县第一小学（示例）", "title": "新生入学须知",
                      "published_at": "2024-08-02T01:00:00+00:00"},
             "dedupe_key": f"announcement:9:{user.id}", "page": "pages/announcements/detail?id=9"}
            for user in users]

    assert add_notices_bulk(db.session, rows[:2]) == 2
    # The fan-out job runs again (a redelivery): only the missing one is added.
    assert add_notices_bulk(db.session, rows) == 1
    assert add_notices_bulk(db.session, []) == 0
    count = db.session.scalar(select(func.count(Notice.id)).where(
        Notice.template_key == "announcement"))
    assert count == 3
    notice = db.session.scalar(select(Notice).where(Notice.user_id == users[0].id))
    assert notice is not None and notice.status is NoticeStatus.PENDING
    assert notice.data["title"] == "新生入学须知" and notice.attempts == 0


def test_writers_cannot_queue_a_template_key_that_does_not_exist(session: Session) -> None:
    user = make_parent()
    with pytest.raises(ValueError, match="unknown notice template key"):
        add_notice(db.session, user_id=user.id, template_key="lottery", data={},
                   dedupe_key="x:1")
    with pytest.raises(ValueError, match="unknown notice template key"):
        add_notices_bulk(db.session, [{"user_id": user.id, "template_key": "lottery",
                                       "data": {}, "dedupe_key": "x:2"}])


def test_the_intake_notice_renders_in_the_inbox(
        client: FlaskClient, session: Session, login_parent: Login,
        wechat_sim: Simulator) -> None:
    parent = log_in(login_parent)
    # The row exactly as the intake's worker writes it.
    notify(parent.user_id, "registration_received", {
        "school": "临县第二小学（示例）", "ticket": "Tabc", "status": "已受理",
        "submitted_at": "2024-08-05T10:30:00.123456+00:00"},
        page="pages/registrations/detail?id=1")
    item = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()["items"][0]
    assert item["body"] == ("学校：临县第二小学（示例）\n回执号：Tabc\n"
                            "提交时间：2024-08-05 18:30\n状态：已受理")
