"""Announcements: WeChat content check before publication, held ones released by an admin,
scheduling, withdrawal, school scope, public filters, attachments and the fan-out job."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from backend.announcements import services
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from backend.core.jobs import enqueue, stream_key
from backend.core.redis import redis_store
from backend.notices.models import Notice
from backend.registrations.models import RegistrationStatus
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.periodic import Ticker
from backend.worker.registry import load_batch_handlers, load_handlers
from tests.announcements._support import County, Login, add_family, make_county, token
from tests.conftest import Simulator, bearer

STAFF_URL = "/api/v1/staff/announcements"
PUBLIC_URL = "/api/v1/announcements"
CHECKER_OPENID = "o-bureau-content-checker"


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture()
def checker(app: Flask, wechat_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bureau's own WeChat account, seen by WeChat within the last two hours."""
    wechat_sim.login_code(CHECKER_OPENID)
    monkeypatch.setitem(app.config, "CONTENT_CHECK_OPENID", CHECKER_OPENID)
    return CHECKER_OPENID


@pytest.fixture(autouse=True)
def upload_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Attachments of each test go to its own temporary folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture()
def county(session: Any) -> County:
    """Two schools, their staff, a bureau admin and a neighbouring county's admin."""
    return make_county()


def draft(client: FlaskClient, auth: str, **fields: Any) -> dict[str, Any]:
    """Create a draft and return it."""
    body = {"category": "materials", "title": "报名材料清单", "body": "请携带户口簿原件。",
            **fields}
    response = client.post(STAFF_URL, json=body, headers=bearer(auth))
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def act(client: FlaskClient, auth: str, announcement_id: int, action: str,
        **body: Any) -> TestResponse:
    """POST …/{id}/{action}."""
    return client.post(f"{STAFF_URL}/{announcement_id}/{action}", json=body,
                       headers=bearer(auth))


def public_ids(client: FlaskClient, **params: Any) -> list[int]:
    """Ids in the public list for these filters."""
    response = client.get(PUBLIC_URL, query_string=params)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def audit_actions(announcement_id: int) -> list[str]:
    """Audit actions recorded on one announcement, in order."""
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "announcement",
        AuditEvent.object_id == str(announcement_id)).order_by(AuditEvent.id)))


def worker() -> Worker:
    """A worker with every registered handler, as `python -m backend.worker` runs it."""
    w = Worker(load_handlers(), name="test-worker", batch_handlers=load_batch_handlers(),
               settings=WorkerSettings(block_ms=10, linger_ms=0))
    w.ensure_group()
    return w


def fanout_jobs() -> list[tuple[str, dict[bytes, bytes]]]:
    """Fan-out messages waiting on the jobs stream."""
    return [(mid.decode(), fields) for mid, fields in redis_store.client.xrange(stream_key())
            if fields[b"type"] == services.FANOUT_JOB.encode()]


def announcement_notices(announcement_id: int) -> list[Notice]:
    """Notices written for one announcement."""
    return list(db.session.scalars(select(Notice).where(
        Notice.dedupe_key.like(f"announcement:{announcement_id}:%")).order_by(Notice.user_id)))


def pdf_bytes() -> bytes:
    """A one-page PDF."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attach(client: FlaskClient, auth: str, announcement_id: int, data: bytes) -> TestResponse:
    """Upload a file as an attachment (multipart `file`)."""
    boundary, body = encode_multipart({"file": FileStorage(
        io.BytesIO(data), filename="plan.pdf", content_type="application/pdf")})
    return client.post(f"{STAFF_URL}/{announcement_id}/attachments", data=body,
                       headers=bearer(auth),
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture()
def later(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Move the announcements' clock forward (scheduled publication)."""

    def advance(delta: dt.timedelta) -> None:
        moved = utcnow() + delta
        monkeypatch.setattr(services, "utcnow", lambda: moved)

    yield advance


# --- the content check ------------------------------------------------------------------


def test_a_clean_announcement_is_checked_then_published(
        client: FlaskClient, county: County, login_staff: Login, checker: str,
        wechat_sim: Simulator) -> None:
    staff = token(login_staff, county.first_staff)
    created = draft(client, staff)
    assert created["status"] == "draft" and created["level"] == "school"
    assert created["school"]["code"] == county.first.code
    assert created["id"] not in public_ids(client, school=county.first.code)

    published = act(client, staff, created["id"], "publish")
    assert published.status_code == 200
    body = published.get_json()
    assert body["status"] == "published" and body["content_check"]["result"] == "pass"
    calls = wechat_sim.get("/sim/calls", endpoint="msg_sec_check")["calls"]
    assert [c["errcode"] for c in calls] == [0]

    assert public_ids(client, school=county.first.code) == [created["id"]]
    detail = client.get(f"{PUBLIC_URL}/{created['id']}")
    assert detail.status_code == 200
    assert detail.get_json()["body"] == "请携带户口簿原件。"
    assert detail.get_json()["category_name"] == "报名材料"
    assert audit_actions(created["id"]) == ["announcement.create", "announcement.publish"]
    # Published is final for the text: no second publication, no edit.
    assert act(client, staff, created["id"], "publish").status_code == 409
    assert client.patch(f"{STAFF_URL}/{created['id']}", json={"title": "新标题"},
                        headers=bearer(staff)).status_code == 409


def test_risky_and_review_texts_are_held_until_an_admin_releases_them(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    staff = token(login_staff, county.first_staff)
    admin = token(login_staff, county.admin)
    risky = draft(client, staff, title="报名须知", body="本校提供代考服务。")
    review = draft(client, staff, title="报名须知", body="缴费可保证录取。")

    held = act(client, staff, risky["id"], "publish").get_json()
    assert held["status"] == "held"
    assert held["content_check"]["result"] == "risky" and held["content_check"]["label"] == 20006
    held_review = act(client, staff, review["id"], "publish").get_json()
    assert held_review["status"] == "held" and held_review["content_check"]["result"] == "review"
    # Held is not public.
    assert public_ids(client, school=county.first.code) == []
    assert client.get(f"{PUBLIC_URL}/{risky['id']}").status_code == 404

    # The bureau's review queue; only an admin of this authority may decide.
    queue = client.get(STAFF_URL, query_string={"status": "held"}, headers=bearer(admin))
    assert {a["id"] for a in queue.get_json()["items"]} == {risky["id"], review["id"]}
    assert act(client, staff, risky["id"], "release").status_code == 403
    other = token(login_staff, county.other_admin)
    assert act(client, other, risky["id"], "release").status_code == 404

    released = act(client, admin, review["id"], "release", note="已核实，表述无误")
    assert released.status_code == 200 and released.get_json()["status"] == "published"
    assert released.get_json()["reviewed_by_user_id"] == county.admin.id
    assert public_ids(client, school=county.first.code) == [review["id"]]
    assert audit_actions(review["id"])[-1] == "announcement.release"

    # The risky one is refused; its author fixes the text and it passes.
    rejected = act(client, admin, risky["id"], "reject", note="含违规内容")
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["review_note"] == "含违规内容"
    assert act(client, staff, risky["id"], "publish").status_code == 409
    edited = client.patch(f"{STAFF_URL}/{risky['id']}", json={"body": "请按时报名。"},
                          headers=bearer(staff))
    assert edited.get_json()["status"] == "draft"
    assert act(client, staff, risky["id"], "publish").get_json()["status"] == "published"
    assert audit_actions(risky["id"]) == [
        "announcement.create", "announcement.publish", "announcement.reject",
        "announcement.edit", "announcement.publish"]


def test_without_a_working_check_nothing_is_published_unreviewed(
        client: FlaskClient, county: County, login_staff: Login, wechat_sim: Simulator,
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = token(login_staff, county.admin)
    # No checking account configured: held for an admin.
    first = draft(client, admin)
    assert act(client, admin, first["id"], "publish").get_json()["content_check"]["result"] \
        == "unchecked"
    # WeChat busy: held, not published.
    wechat_sim.login_code(CHECKER_OPENID)
    monkeypatch.setitem(app.config, "CONTENT_CHECK_OPENID", CHECKER_OPENID)
    wechat_sim.fault("msg_sec_check", errcode=-1)
    second = act(client, admin, draft(client, admin)["id"], "publish").get_json()
    assert second["status"] == "held" and second["content_check"]["result"] == "unavailable"
    # The checking account has not opened the mini-program lately (40003): held.
    monkeypatch.setitem(app.config, "CONTENT_CHECK_OPENID", "o-never-seen")
    third = act(client, admin, draft(client, admin)["id"], "publish").get_json()
    assert third["status"] == "held"
    assert third["content_check"] == {"result": "error", "label": 40003,
                                      "message": services.CHECK_MESSAGES["error"]}
    assert public_ids(client, authority=county.authority_code) == []


def test_personal_data_never_reaches_an_announcement(
        client: FlaskClient, county: County, login_staff: Login) -> None:
    admin = token(login_staff, county.admin)
    response = client.post(STAFF_URL, json={
        "category": "admitted_list", "title": "新生名单", "body": "张三 13812345678"},
        headers=bearer(admin))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "PERSONAL_DATA_IN_TEXT"
    naive = client.post(STAFF_URL, json={
        "category": "policy", "title": "招生政策", "body": "正文",
        "publish_at": "2024-08-01T08:00:00"}, headers=bearer(admin))
    assert naive.status_code == 422


# --- scheduling and withdrawal --------------------------------------------------------------


def test_a_scheduled_announcement_is_public_only_from_its_time(
        client: FlaskClient, app: Flask, county: County, login_staff: Login, checker: str,
        later: Any) -> None:
    admin = token(login_staff, county.admin)
    add_family(county, "li", [county.first])
    when = (utcnow() + dt.timedelta(hours=2)).isoformat()
    created = draft(client, admin, category="policy", title="县招生实施方案", body="全文见附件。",
                    publish_at=when)
    scheduled = act(client, admin, created["id"], "publish").get_json()
    assert scheduled["status"] == "scheduled" and scheduled["content_check"]["result"] == "pass"
    assert public_ids(client, authority=county.authority_code) == []
    assert client.get(f"{PUBLIC_URL}/{created['id']}").status_code == 404
    assert fanout_jobs() == []  # nobody is told before it is public

    later(dt.timedelta(hours=3))
    assert public_ids(client, authority=county.authority_code) == [created["id"]]
    shown = client.get(f"{STAFF_URL}/{created['id']}", headers=bearer(admin)).get_json()
    assert shown["status"] == "published"
    # Due: no longer editable.
    assert client.patch(f"{STAFF_URL}/{created['id']}", json={"title": "改个标题"},
                        headers=bearer(admin)).status_code == 409

    # A worker's clock records the publication and queues the fan-out, once per round
    # whatever the number of workers; the command does the same by hand.
    assert "announcements.publish_due" in Ticker(app, "worker-1").run_due()
    assert len(fanout_jobs()) == 1
    assert "announcements.publish_due" not in Ticker(app, "worker-2").run_due()
    again = app.test_cli_runner().invoke(args=["announcements", "publish-due"])
    assert again.exit_code == 0 and "published 0" in again.output
    assert len(fanout_jobs()) == 1
    assert "announcement.publish_due" in audit_actions(created["id"])


def test_a_withdrawn_announcement_leaves_the_public_list_but_stays_on_record(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    staff = token(login_staff, county.first_staff)
    created = draft(client, staff)
    act(client, staff, created["id"], "publish")
    assert public_ids(client, school=county.first.code) == [created["id"]]

    withdrawn = act(client, staff, created["id"], "withdraw", note="信息有误")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert withdrawn.get_json()["withdrawn_at"]
    assert public_ids(client, school=county.first.code) == []
    assert client.get(f"{PUBLIC_URL}/{created['id']}").status_code == 404
    record = client.get(f"{STAFF_URL}/{created['id']}", headers=bearer(staff))
    assert record.status_code == 200 and record.get_json()["title"] == "报名材料清单"
    assert act(client, staff, created["id"], "withdraw").status_code == 409
    assert audit_actions(created["id"])[-1] == "announcement.withdraw"


# --- scope and the public list ------------------------------------------------------------


def test_school_staff_act_for_their_own_school_only(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    first = token(login_staff, county.first_staff)
    second = token(login_staff, county.second_staff)
    created = draft(client, first)

    theirs = client.post(STAFF_URL, json={
        "school_code": county.first.code, "category": "other", "title": "通知", "body": "正文"},
        headers=bearer(second))
    assert theirs.status_code == 404
    assert theirs.get_json()["error"]["code"] == "SCHOOL_NOT_FOUND"
    for action in ("publish", "withdraw"):
        assert act(client, second, created["id"], action).status_code == 404
    assert client.get(f"{STAFF_URL}/{created['id']}", headers=bearer(second)).status_code == 404
    assert client.patch(f"{STAFF_URL}/{created['id']}", json={"title": "改个标题"},
                        headers=bearer(second)).status_code == 404
    assert client.get(STAFF_URL, headers=bearer(second)).get_json()["items"] == []
    # School staff cannot speak for the county either.
    county_wide = client.post(STAFF_URL, json={
        "school_code": None, "category": "policy", "title": "县政策", "body": "正文"},
        headers=bearer(second))
    assert county_wide.get_json()["school"]["code"] == county.second.code
    # Parents and the public cannot reach the staff side.
    assert client.get(STAFF_URL).status_code == 401


def test_the_public_list_filters_by_school_category_and_level(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    admin = token(login_staff, county.admin)
    ids = {}
    for key, fields in {
        "county": {"category": "policy", "title": "县招生政策", "body": "政策全文"},
        "first": {"school_code": county.first.code, "category": "materials",
                  "title": "一校报名材料", "body": "材料清单"},
        "second": {"school_code": county.second.code, "category": "materials",
                   "title": "二校报名材料", "body": "材料清单"},
    }.items():
        ids[key] = draft(client, admin, **fields)["id"]
        assert act(client, admin, ids[key], "publish").get_json()["status"] == "published"
    unpublished = draft(client, admin, category="zones", title="划片草稿", body="草稿")

    everything = public_ids(client, authority=county.authority_code)
    assert sorted(everything) == sorted(ids.values()) and unpublished["id"] not in everything
    assert sorted(public_ids(client, school=county.first.code)) == sorted(
        [ids["county"], ids["first"]])
    assert public_ids(client, school=county.first.code, level="school") == [ids["first"]]
    assert public_ids(client, authority=county.authority_code, level="county") == [ids["county"]]
    assert public_ids(client, authority=county.authority_code, category="policy") == \
        [ids["county"]]
    page = client.get(PUBLIC_URL, query_string={"authority": county.authority_code,
                                                "page_size": 2, "page": 2}).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    item = client.get(f"{PUBLIC_URL}/{ids['county']}").get_json()
    assert item["level"] == "county" and item["school"] is None
    assert item["published_at"].endswith("+08:00")
    assert client.get(PUBLIC_URL, query_string={"school": "NOPE"}).status_code == 404
    assert client.get(PUBLIC_URL, query_string={"category": "gossip"}).status_code == 422


def test_attachments_are_public_with_a_published_announcement_only(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    staff = token(login_staff, county.first_staff)
    created = draft(client, staff, category="plan", title="学校实施办法", body="详见附件。")
    attached = attach(client, staff, created["id"], pdf_bytes())
    assert attached.status_code == 201, attached.get_json()
    attachment = attached.get_json()["attachments"][0]
    assert attachment["content_type"] == "application/pdf"
    public_url = f"{PUBLIC_URL}/{created['id']}/attachments/{attachment['upload_id']}"
    assert client.get(public_url).status_code == 404
    staff_copy = client.get(attachment["url"], headers=bearer(staff))
    assert staff_copy.status_code == 200

    act(client, staff, created["id"], "publish")
    download = client.get(public_url)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(download.data)).pages) == 1
    listed = client.get(f"{PUBLIC_URL}/{created['id']}").get_json()["attachments"]
    assert [a["url"] for a in listed] == [public_url]
    # Not a PDF or an image: refused like any upload.
    second = draft(client, staff)
    refused = attach(client, staff, second["id"], b"plain text, not a document")
    assert refused.status_code == 415


# --- fan-out ---------------------------------------------------------------------------------


def test_publication_tells_each_family_of_the_school_once(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    wang = add_family(county, "wang", [county.first])
    zhao = add_family(county, "zhao", [county.first, county.second])  # two children
    sun = add_family(county, "sun", [county.second])
    add_family(county, "gone", [county.first], status=RegistrationStatus.WITHDRAWN)
    staff = token(login_staff, county.first_staff)
    created = draft(client, staff, title="开放日安排")
    run = worker()
    run.run_once()  # the logins' audit jobs
    act(client, staff, created["id"], "publish")

    jobs = fanout_jobs()
    assert len(jobs) == 1
    assert json.loads(jobs[0][1][b"payload"]) == {"announcement_id": created["id"],
                                                 "season_id": county.season.id}
    assert run.run_once() >= 1
    notices = announcement_notices(created["id"])
    assert [n.user_id for n in notices] == sorted([wang.id, zhao.id])
    assert {n.template_key for n in notices} == {"announcement"}
    assert notices[0].data["school"] == county.first.name
    assert notices[0].data["title"] == "开放日安排"
    assert notices[0].data["published_at"].endswith("+08:00")

    # Redelivered (a worker died before acknowledging): still one notice per family.
    message_id, fields = jobs[0]
    run.handle_batch([(message_id, fields)])
    enqueue(services.FANOUT_JOB, json.loads(fields[b"payload"]))
    run.run_once()
    assert len(announcement_notices(created["id"])) == 2

    # A county announcement reaches every family registered anywhere in the county.
    admin = token(login_staff, county.admin)
    county_wide = draft(client, admin, category="policy", title="县招生政策")
    act(client, admin, county_wide["id"], "publish")
    run.run_once()
    assert [n.user_id for n in announcement_notices(county_wide["id"])] == sorted(
        [wang.id, zhao.id, sun.id])
    assert announcement_notices(county_wide["id"])[0].data["school"].startswith("测试县教育局")


def test_an_announcement_withdrawn_before_the_job_runs_tells_nobody(
        client: FlaskClient, county: County, login_staff: Login, checker: str) -> None:
    add_family(county, "wang", [county.first])
    staff = token(login_staff, county.first_staff)
    created = draft(client, staff)
    act(client, staff, created["id"], "publish")
    act(client, staff, created["id"], "withdraw")
    worker().run_once()
    assert announcement_notices(created["id"]) == []
