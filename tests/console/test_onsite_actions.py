"""Every state-changing action of the console's 现场报到 and 均衡分班 pages, called as the
pages call it (the staff web-session cookie): without X-CSRF-Token it is 403 CSRF_FAILED and
changes nothing; staff of another school (or another county's bureau) get 404 as if the
object did not exist; the action itself writes an audit row naming the actor.

One exception is the API's own design (docs/ONSITE_AND_CLASSES.md): a valid ticket scanned
at another school's desk is 409 TICKET_OTHER_SCHOOL ("请家长前往预约的学校"), since the
family holding it already knows its school; the ticket stays unused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.classes.models import AssignmentStatus, ClassAssignment, TogetherRequest
from backend.core.db import db, utcnow
from backend.onsite.models import OnsiteBooking, OnsiteSlot
from tests.classes._support import admit_cohort, commit, published
from tests.console._support import web_login
from tests.onsite._support import (
    County,
    add_child,
    add_guardian,
    add_slot,
    admit,
    admitted_family,
    build_county,
    create_slot,
)

PAGE = "/console/admission/onsite"  # the console page whose actions these are


@dataclass
class Action:
    """One console action: who does it, what it sends, who must not reach it."""

    method: str
    path: str
    body: dict[str, Any] | None
    audit: str
    actor: str = "a"
    outsider: str = "b"
    outsider_body: dict[str, Any] | None = None
    outsider_status: int = 404
    outsider_code: str | None = None
    unchanged: Callable[[], bool] = field(default=lambda: True)


Setup = Callable[[FlaskClient, County, Callable[..., dict[str, Any]]], Action]


def _slot_id(client: FlaskClient, county: County) -> int:
    return int(create_slot(client, county).get_json()["id"])


def create_slot_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    tomorrow = (utcnow() + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    body = {"season_id": county.season.id, "place": "学校一楼报到处", "capacity": 5,
            "starts_at": tomorrow.strftime("%Y-%m-%dT09:00:00+08:00"),
            "ends_at": tomorrow.strftime("%Y-%m-%dT10:00:00+08:00")}
    return Action("POST", "/api/v1/staff/onsite/slots", body, "onsite.slot_create",
                  outsider_body={**body, "school": county.school_a.code},
                  unchanged=lambda: db.session.scalar(select(OnsiteSlot.id)) is None)


def change_slot_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    slot_id = _slot_id(client, county)
    return Action("PATCH", f"/api/v1/staff/onsite/slots/{slot_id}",
                  {"capacity": 8, "place": "学校图书室"}, "onsite.slot_change",
                  unchanged=lambda: _slot(slot_id).capacity == 10)


def delete_slot_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    slot_id = _slot_id(client, county)
    return Action("DELETE", f"/api/v1/staff/onsite/slots/{slot_id}", None,
                  "onsite.slot_delete", unchanged=lambda: _slot(slot_id) is not None)


def assign_slot_action(client: FlaskClient, county: County, parent: Any) -> Action:
    family = admitted_family(parent, county)
    slot_id = _slot_id(client, county)
    return Action("POST", "/api/v1/staff/onsite/bookings",
                  {"registration_id": family.registration_id, "slot_id": slot_id},
                  "onsite.assign", unchanged=lambda: _booking(family.registration_id) is None)


def check_in_action(client: FlaskClient, county: County, parent: Any) -> Action:
    family = admitted_family(parent, county)
    slot = add_slot(county, county.school_a, starts_in=-dt.timedelta(minutes=5))
    booking = client.post("/api/v1/staff/onsite/bookings", headers=county.auth("a"), json={
        "registration_id": family.registration_id, "slot_id": slot.id}).get_json()
    code = client.get(f"/api/v1/onsite/bookings/{booking['id']}/ticket",
                      headers=family.auth()).get_json()["code"]

    def unused() -> bool:
        found = _booking(family.registration_id)
        return found is not None and found.checked_in_at is None

    return Action("POST", "/api/v1/staff/checkins", {"code": code}, "onsite.check_in",
                  outsider_status=409, outsider_code="TICKET_OTHER_SCHOOL", unchanged=unused)


def _siblings(county: County) -> list[int]:
    guardian = add_guardian()
    return [admit(county, add_child(guardian, county.village), county.school_a).id
            for _ in range(2)]


def together_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    ids = _siblings(county)
    body = {"season_id": county.season.id, "registration_ids": ids, "note": "双胞胎"}
    return Action("POST", "/api/v1/staff/classes/together-requests", body,
                  "classes.together_request",
                  outsider_body={**body, "school": county.school_a.code},
                  unchanged=lambda: db.session.scalar(select(TogetherRequest.id)) is None)


def together_delete_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    created = client.post("/api/v1/staff/classes/together-requests", headers=county.auth("a"),
                          json={"season_id": county.season.id,
                                "registration_ids": _siblings(county)}).get_json()
    return Action("DELETE", f"/api/v1/staff/classes/together-requests/{created['id']}", None,
                  "classes.together_request_delete",
                  unchanged=lambda: db.session.get(TogetherRequest, created["id"],
                                                   populate_existing=True) is not None)


def commit_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    admit_cohort(county, county.school_a, 10)
    body = {"season_id": county.season.id, "scope": "confirmed",
            "public_value_source": "次日福利彩票“3D”开奖号码（示例）"}
    return Action("POST", "/api/v1/staff/classes/assignments", body, "classes.commit",
                  outsider_body={**body, "school": county.school_a.code},
                  unchanged=lambda: db.session.scalar(select(ClassAssignment.id)) is None)


def _committed(client: FlaskClient, county: County) -> int:
    admit_cohort(county, county.school_a, 10)
    return int(commit(client, county).get_json()["id"])


def draw_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    assignment_id = _committed(client, county)
    return Action("POST", f"/api/v1/staff/classes/assignments/{assignment_id}/draw",
                  {"public_value": "3 8 1"}, "classes.publish",
                  unchanged=lambda: _assignment(assignment_id) is AssignmentStatus.COMMITTED)


def cancel_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    assignment_id = _committed(client, county)
    return Action("POST", f"/api/v1/staff/classes/assignments/{assignment_id}/cancel",
                  {"reason": "名单不完整，重新冻结"}, "classes.cancel",
                  unchanged=lambda: _assignment(assignment_id) is AssignmentStatus.COMMITTED)


def correct_action(client: FlaskClient, county: County, _parent: Any) -> Action:
    cohort = admit_cohort(county, county.school_a, 10)
    body = published(client, county)
    pupil = next(p for p in client.get(f"/api/v1/staff/classes/assignments/{body['id']}",
                                       headers=county.auth("a")).get_json()["pupils"]
                 if p["registration_id"] == cohort.registrations[0].id)
    target = 3 - pupil["class_no"]
    return Action("POST", f"/api/v1/staff/classes/assignments/{body['id']}/corrections",
                  {"registration_id": pupil["registration_id"], "to_class": target,
                   "reason_code": "data_error", "note": "出生日期有误"}, "classes.correct",
                  actor="bureau", outsider="other_bureau",
                  unchanged=lambda: _assignment_row(body["id"]).corrections == 0)


ACTIONS: dict[str, Setup] = {
    "create slot": create_slot_action,
    "edit slot": change_slot_action,
    "delete slot": delete_slot_action,
    "book on a family's behalf": assign_slot_action,
    "check in": check_in_action,
    "register a together request": together_action,
    "withdraw a together request": together_delete_action,
    "commit the class list": commit_action,
    "draw the classes": draw_action,
    "cancel before the draw": cancel_action,
    "correct a placement": correct_action,
}


def _slot(slot_id: int) -> Any:
    return db.session.get(OnsiteSlot, slot_id, populate_existing=True)


def _booking(registration_id: int) -> OnsiteBooking | None:
    return db.session.scalar(select(OnsiteBooking).where(
        OnsiteBooking.registration_id == registration_id).execution_options(
        populate_existing=True))


def _assignment_row(assignment_id: int) -> ClassAssignment:
    found = db.session.get(ClassAssignment, assignment_id, populate_existing=True)
    assert found is not None
    return found


def _assignment(assignment_id: int) -> AssignmentStatus:
    return _assignment_row(assignment_id).status


def _call(client: FlaskClient, action: Action, body: dict[str, Any] | None,
          csrf: str | None) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.open(action.path, method=action.method, json=body, headers=headers)


@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_console_action_needs_the_token_is_scoped_and_is_audited(
        name: str, client: FlaskClient, session: Any,
        login_staff: Callable[[str, str], dict[str, Any]],
        login_parent: Callable[..., dict[str, Any]]) -> None:
    county = build_county(login_staff)
    action = ACTIONS[name](client, county, login_parent)
    db.session.commit()
    audit_rows = select(AuditEvent).where(AuditEvent.action == action.audit)
    before = len(list(db.session.scalars(audit_rows)))

    # Another school's staff (or another county's bureau), with a valid page token.
    outsider_csrf = web_login(client, county.usernames[action.outsider], PAGE)
    outside = _call(client, action, action.outsider_body or action.body, outsider_csrf)
    assert outside.status_code == action.outsider_status, outside.get_json()
    if action.outsider_code:
        assert outside.get_json()["error"]["code"] == action.outsider_code
    assert action.unchanged(), "an outsider changed something"

    csrf = web_login(client, county.usernames[action.actor], PAGE)
    for token in (None, "forged-token"):
        refused = _call(client, action, action.body, token)
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["error"]["code"] == "CSRF_FAILED"
    assert action.unchanged(), "a request without the page's token changed something"
    assert len(list(db.session.scalars(audit_rows))) == before

    done = _call(client, action, action.body, csrf)
    assert done.status_code in (200, 201, 204), done.get_json()
    assert not action.unchanged(), "the action changed nothing"
    rows = list(db.session.scalars(audit_rows.execution_options(populate_existing=True)))
    assert len(rows) == before + 1
    assert rows[-1].actor_user_id == county.user_ids[action.actor]
    assert rows[-1].actor_role == ("bureau_admin" if action.actor == "bureau" else "school_staff")
