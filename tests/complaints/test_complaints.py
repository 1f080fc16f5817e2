"""Complaints and appeals (监督举报): filed by a family, assigned, answered, closed, audited;
anonymous to the school when asked; nobody else's to read."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.registrations.models import Registration
from backend.schools.models import RegionLevel, School
from backend.seasons.models import Season
from tests.conftest import bearer
from tests.factories import (
    STAFF_PASSWORD,
    make_authority,
    make_child,
    make_guardian,
    make_id_number,
    make_region,
    make_registration,
    make_school,
    make_season,
    make_staff,
)

URL = "/api/v1/complaints"
ADMIN_URL = "/api/v1/admin/complaints"
STAFF_URL = "/api/v1/staff/complaints"
COMPLAINT_TEXT = "学校要求缴纳赞助费才肯受理报名，请教育局核查。"

Login = Callable[..., dict[str, Any]]


@dataclass
class Family:
    """A logged-in parent with a real-name binding and one registration."""

    user_id: int
    token: str
    registration: Registration


@dataclass
class County:
    """One authority, two schools, their staff, the bureau and a neighbour's admin."""

    season: Season
    school: School
    other_school: School
    village: Any
    admin: str
    admin_id: int
    handler: str
    handler_id: int
    other_handler: str
    other_handler_id: int
    foreign_admin: str
    foreign_admin_id: int


@pytest.fixture(autouse=True)
def upload_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Documents of each test go to its own temporary folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


def _token(login_staff: Callable[[str, str], dict[str, Any]], user: User) -> str:
    assert user.username is not None
    return str(login_staff(user.username, STAFF_PASSWORD)["token"])


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county whose staff are logged in."""
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    school, other_school = make_school(authority, zone=[village]), make_school(authority)
    admin, handler = make_staff(authority), make_staff(authority, school=school)
    other_handler = make_staff(authority, school=other_school)
    foreign_admin = make_staff(make_authority())
    return County(
        season=make_season(authority), school=school, other_school=other_school,
        village=village, admin=_token(login_staff, admin), admin_id=admin.id,
        handler=_token(login_staff, handler), handler_id=handler.id,
        other_handler=_token(login_staff, other_handler), other_handler_id=other_handler.id,
        foreign_admin=_token(login_staff, foreign_admin), foreign_admin_id=foreign_admin.id)


@pytest.fixture()
def family(county: County, login_parent: Login) -> Callable[[int], Family]:
    """A parent bound to a real name, with a child registered at the county's school."""

    def make(number: int) -> Family:
        login = login_parent()
        user = db.session.get(User, login["user"]["id"])
        assert user is not None
        guardian = make_guardian(user, name="王示例", phone="13800000001", id_number=make_id_number(
            dt.date(1986, 1, 1) + dt.timedelta(days=number), 901))
        child = make_child(guardian, county.village, name="王小示", id_number=make_id_number(
            dt.date(2017, 6, 1) + dt.timedelta(days=number), 905))
        registration = make_registration(county.season, child, county.school)
        return Family(user_id=user.id, token=login["token"], registration=registration)

    return make


def photo(client: FlaskClient, token: str) -> str:
    """Upload a photo as a parent; returns its id."""
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(out, "JPEG")
    boundary, body = encode_multipart({"kind": "other", "file": FileStorage(
        io.BytesIO(out.getvalue()), filename="evidence.jpg", content_type="image/jpeg")})
    response = client.post("/api/v1/uploads", data=body, headers=bearer(token),
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["upload_id"])


def file(client: FlaskClient, family: Family, **fields: Any) -> dict[str, Any]:
    """File a complaint and return it."""
    body = {"type": "complaint", "registration_id": family.registration.id,
            "text": COMPLAINT_TEXT, **fields}
    response = client.post(URL, json=body, headers=bearer(family.token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def audit_trail(complaint_id: int) -> list[tuple[str, str | None]]:
    """(action, role) of each audit event of one complaint."""
    rows = db.session.execute(select(AuditEvent.action, AuditEvent.actor_role).where(
        AuditEvent.object_type == "complaint",
        AuditEvent.object_id == str(complaint_id)).order_by(AuditEvent.id))
    return [(action, role) for action, role in rows]


# --- the whole way ---------------------------------------------------------------------


def test_a_complaint_goes_from_filing_to_answer_to_close(
        client: FlaskClient, county: County, family: Callable[[int], Family],
        caplog: pytest.LogCaptureFixture) -> None:
    parent = family(1)
    evidence = photo(client, parent.token)
    filed = file(client, parent, type="appeal", upload_ids=[evidence])
    assert filed["status"] == "submitted" and filed["type_name"] == "申诉"
    assert filed["school"]["code"] == county.school.code
    assert filed["registration_id"] == parent.registration.id
    assert filed["answer"] is None and filed["attachments"][0]["upload_id"] == evidence
    filed_at = dt.datetime.fromisoformat(filed["filed_at"])
    due_at = dt.datetime.fromisoformat(filed["due_at"])
    assert dt.timedelta(days=14, hours=23) < due_at - filed_at <= dt.timedelta(days=15)

    # The bureau sees it, with the family masked.
    listed = client.get(ADMIN_URL, headers=bearer(county.admin)).get_json()
    assert [c["id"] for c in listed["items"]] == [filed["id"]]
    seen = listed["items"][0]
    assert seen["complainant"] == {"user_id": parent.user_id, "name": "王*例",
                                   "phone": "138****0001"}
    assert seen["registration"]["child_name"] == "王*示" and seen["overdue"] is False

    assigned = client.post(f"{ADMIN_URL}/{filed['id']}/assign",
                           json={"assignee_user_id": county.handler_id},
                           headers=bearer(county.admin))
    assert assigned.status_code == 200 and assigned.get_json()["status"] == "assigned"

    # The school's handler sees its assignment (not anonymous: the family too) and answers.
    mine = client.get(STAFF_URL, headers=bearer(county.handler)).get_json()["items"]
    assert [c["id"] for c in mine] == [filed["id"]]
    assert mine[0]["complainant"]["name"] == "王*例"
    document = client.get(mine[0]["attachments"][0]["url"], headers=bearer(county.handler))
    assert document.status_code == 200 and document.mimetype == "image/jpeg"
    answer = "经核查，学校未收取任何费用，已要求学校重新受理。"
    answered = client.post(f"{STAFF_URL}/{filed['id']}/answer", json={"answer": answer},
                           headers=bearer(county.handler))
    assert answered.status_code == 200 and answered.get_json()["status"] == "answered"
    # A second answer on the now stale state is refused.
    stale = client.post(f"{ADMIN_URL}/{filed['id']}/answer", json={"answer": "另一答复"},
                        headers=bearer(county.admin))
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "COMPLAINT_STATE_CONFLICT"

    # The family reads the answer and every step, by role.
    mine_now = client.get(f"{URL}/{filed['id']}", headers=bearer(parent.token)).get_json()
    assert mine_now["status"] == "answered" and mine_now["answer"] == answer
    assert [(h["status"], h["actor_role"]) for h in mine_now["history"]] == [
        ("submitted", "parent"), ("assigned", "bureau_admin"), ("answered", "school_staff")]

    closed = client.post(f"{ADMIN_URL}/{filed['id']}/close", json={"note": "已办结"},
                         headers=bearer(county.admin))
    assert closed.status_code == 200 and closed.get_json()["closed_at"]
    final = client.get(URL, headers=bearer(parent.token)).get_json()["items"][0]
    assert final["status"] == "closed" and final["history"][-1]["note"] == "已办结"

    assert audit_trail(filed["id"]) == [
        ("complaint.file", "parent"), ("complaint.assign", "bureau_admin"),
        ("complaint.answer", "school_staff"), ("complaint.close", "bureau_admin")]
    viewed = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "upload.view", AuditEvent.object_id == evidence))
    assert viewed is not None and viewed.actor_user_id == county.handler_id
    # What the family wrote never reaches a log line.
    assert COMPLAINT_TEXT not in caplog.text and answer not in caplog.text


def test_an_anonymous_complaint_hides_the_family_from_the_school(
        client: FlaskClient, county: County, family: Callable[[int], Family]) -> None:
    parent = family(1)
    evidence = photo(client, parent.token)
    filed = file(client, parent, anonymous=True, upload_ids=[evidence])
    client.post(f"{ADMIN_URL}/{filed['id']}/assign",
                json={"assignee_user_id": county.handler_id}, headers=bearer(county.admin))

    at_school = client.get(f"{STAFF_URL}/{filed['id']}", headers=bearer(county.handler))
    assert at_school.status_code == 200
    shown = at_school.get_json()
    assert shown["anonymous"] is True and shown["complainant"] is None
    assert shown["registration"] is None and shown["attachments"] == []
    assert shown["text"] == COMPLAINT_TEXT
    assert client.get(f"{STAFF_URL}/{filed['id']}/attachments/{evidence}",
                      headers=bearer(county.handler)).status_code == 404
    # The bureau still knows who filed it (to follow up), masked.
    at_bureau = client.get(f"{ADMIN_URL}/{filed['id']}", headers=bearer(county.admin))
    assert at_bureau.get_json()["complainant"]["name"] == "王*例"
    assert client.get(f"{ADMIN_URL}/{filed['id']}/attachments/{evidence}",
                      headers=bearer(county.admin)).status_code == 200


def test_nobody_else_reads_or_handles_a_complaint(
        client: FlaskClient, county: County, family: Callable[[int], Family]) -> None:
    parent, neighbour = family(1), family(2)
    filed = file(client, parent)

    assert client.get(f"{URL}/{filed['id']}", headers=bearer(neighbour.token)).status_code == 404
    assert client.get(URL, headers=bearer(neighbour.token)).get_json()["items"] == []
    # Not assigned: the school's staff cannot read or answer it; another county's admin
    # cannot see it at all.
    for token in (county.handler, county.other_handler):
        assert client.get(f"{STAFF_URL}/{filed['id']}", headers=bearer(token)).status_code == 404
        assert client.post(f"{STAFF_URL}/{filed['id']}/answer", json={"answer": "答复内容"},
                           headers=bearer(token)).status_code == 404
    assert client.get(f"{ADMIN_URL}/{filed['id']}",
                      headers=bearer(county.foreign_admin)).status_code == 404
    assert client.get(ADMIN_URL, headers=bearer(county.foreign_admin)).get_json()["items"] == []
    # Staff never use the family side, families never the bureau side.
    assert client.get(URL, headers=bearer(county.admin)).status_code == 403
    assert client.get(ADMIN_URL, headers=bearer(parent.token)).status_code == 403
    assert client.get(ADMIN_URL, headers=bearer(county.handler)).status_code == 403

    # Reassigned away, the first handler loses it.
    for assignee in (county.handler_id, county.admin_id):
        response = client.post(f"{ADMIN_URL}/{filed['id']}/assign",
                               json={"assignee_user_id": assignee}, headers=bearer(county.admin))
        assert response.status_code == 200
    assert client.get(f"{STAFF_URL}/{filed['id']}", headers=bearer(county.handler)).status_code \
        == 404


def test_only_staff_of_the_authority_or_the_school_concerned_can_be_assigned(
        client: FlaskClient, county: County, family: Callable[[int], Family]) -> None:
    filed = file(client, family(1))
    for wrong in (county.other_handler_id, county.foreign_admin_id, family(2).user_id, 10**6):
        response = client.post(f"{ADMIN_URL}/{filed['id']}/assign",
                               json={"assignee_user_id": wrong}, headers=bearer(county.admin))
        assert response.status_code == 422, wrong
        assert response.get_json()["error"]["code"] == "ASSIGNEE_NOT_ALLOWED"
    # Not answered yet: it cannot be closed.
    closing = client.post(f"{ADMIN_URL}/{filed['id']}/close", json={},
                          headers=bearer(county.admin))
    assert closing.status_code == 409


def test_overdue_complaints_are_flagged_and_filtered(
        client: FlaskClient, app: Flask, county: County, family: Callable[[int], Family],
        monkeypatch: pytest.MonkeyPatch) -> None:
    parent = family(1)
    on_time = file(client, parent)
    monkeypatch.setitem(app.config, "COMPLAINT_ANSWER_DAYS", 0)
    late = file(client, parent, type="report", school_code=county.school.code,
                registration_id=None)

    overdue = client.get(ADMIN_URL, query_string={"overdue": "true"},
                         headers=bearer(county.admin)).get_json()
    assert [c["id"] for c in overdue["items"]] == [late["id"]]
    assert overdue["items"][0]["overdue"] is True
    not_overdue = client.get(ADMIN_URL, query_string={"overdue": "false"},
                             headers=bearer(county.admin)).get_json()
    assert [c["id"] for c in not_overdue["items"]] == [on_time["id"]]
    by_type = client.get(ADMIN_URL, query_string={"type": "report", "school": county.school.code},
                         headers=bearer(county.admin)).get_json()
    assert [c["id"] for c in by_type["items"]] == [late["id"]]
    # Answered, it is no longer overdue.
    client.post(f"{ADMIN_URL}/{late['id']}/answer", json={"answer": "已处理，谢谢监督。"},
                headers=bearer(county.admin))
    assert client.get(ADMIN_URL, query_string={"overdue": "true"},
                      headers=bearer(county.admin)).get_json()["items"] == []


def test_filing_needs_a_subject_of_ones_own_and_ones_own_documents(
        client: FlaskClient, county: County, family: Callable[[int], Family],
        login_parent: Login) -> None:
    parent, neighbour = family(1), family(2)

    def post(token: str, **fields: Any) -> Any:
        body = {"type": "complaint", "text": COMPLAINT_TEXT, **fields}
        return client.post(URL, json=body, headers=bearer(token))

    no_subject = post(parent.token)
    assert no_subject.status_code == 422
    assert no_subject.get_json()["error"]["code"] == "COMPLAINT_SUBJECT_REQUIRED"
    theirs = post(parent.token, registration_id=neighbour.registration.id)
    assert theirs.status_code == 404
    mismatch = post(parent.token, registration_id=parent.registration.id,
                    school_code=county.other_school.code)
    assert mismatch.get_json()["error"]["code"] == "COMPLAINT_SCHOOL_MISMATCH"
    their_document = photo(client, neighbour.token)
    stolen = post(parent.token, school_code=county.school.code, upload_ids=[their_document])
    assert stolen.status_code == 404
    unbound = login_parent()
    assert post(unbound["token"], school_code=county.school.code).status_code == 409
    assert post(parent.token, school_code=county.school.code, text="短").status_code == 422
    # Numbers typed into the text are shown masked, to the family as to the bureau.
    with_phone = post(parent.token, school_code=county.school.code,
                      text="请回电 13912345678 核实情况。")
    assert with_phone.status_code == 201
    assert "139****5678" in with_phone.get_json()["text"]
