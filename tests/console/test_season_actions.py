"""Every state-changing action of the 招生日程 and 招生计划 pages, called as the console calls
it (the staff web-session cookie + X-CSRF-Token): refused without the token, 404 for a bureau
admin of another county, nothing changed by a refused call, and audited when it goes through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from backend.admission.models import PriorityTier
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.schools.models import SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus
from tests.admission._support import County, build_county
from tests.console._support import audited, web_console
from tests.factories import make_season

Prepared = tuple[str, str, Any]


@dataclass(frozen=True)
class Action:
    """One console action: how to set it up, what it answers, which audit row it leaves."""

    name: str
    prepare: Callable[[County], Prepared]
    status: int
    audit: str


def _create(county: County) -> Prepared:
    return "POST", "/api/v1/admin/seasons", {
        "year": county.season.year + 1, "name": "下一年度小学招生",
        "copy_from_season_id": county.season.id}


def _update(county: County) -> Prepared:
    return "PATCH", f"/api/v1/admin/seasons/{county.season.id}", {
        "name": "改名后的招生季", "must_read_notice": "新的须知"}


def _phases(county: County) -> Prepared:
    return "PUT", f"/api/v1/admin/seasons/{county.season.id}/phases", {"phases": [
        {"key": "publicity", "name": "招生方案公示", "starts_at": "2030-08-01T00:00",
         "ends_at": "2030-08-04T18:00"}]}


def _publish(county: County) -> Prepared:
    draft = make_season(county.authority, year=county.season.year + 1,
                        status=SeasonStatus.DRAFT)
    return "POST", f"/api/v1/admin/seasons/{draft.id}/publish", None


def _archive(county: County) -> Prepared:
    return "POST", f"/api/v1/admin/seasons/{county.season.id}/archive", None


def _seat_plan(county: County) -> Prepared:
    return ("PUT", f"/api/v1/admin/seat-plans/{county.season.id}/{county.school_a.id}",
            {"classes": 2, "class_size": 40})


def _tiers(county: County) -> Prepared:
    return ("PUT", f"/api/v1/admin/priority-tiers/{county.season.id}/{county.school_a.id}",
            {"tiers": [{"key": "hukou", "label": "户籍在片区内", "rule": {"hukou_in_zone": True}},
                       {"key": "others", "label": "其他", "rule": {}}]})


ACTIONS = [
    Action("create_from_previous", _create, 201, "season.create"),
    Action("update", _update, 200, "season.update"),
    Action("phases", _phases, 200, "season.phases"),
    Action("publish", _publish, 200, "season.publish"),
    Action("archive", _archive, 200, "season.archive"),
    Action("seat_plan", _seat_plan, 200, "admission.seat_plan"),
    Action("priority_tiers", _tiers, 200, "admission.tiers"),
]


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """Authority A (a season whose window closed yesterday, two schools) and authority B."""
    return build_county(login_staff)


def _state() -> list[Any]:
    """The seasons, their phases, seat plans and tiers as the database has them."""
    db.session.expire_all()
    return [sorted(repr((s.id, s.year, s.name, s.status, s.registration_opens_at,
                         s.registration_closes_at, s.must_read_notice))
                   for s in db.session.scalars(select(Season))),
            sorted(repr((p.season_id, p.key, p.starts_at)) for p in
                   db.session.scalars(select(SeasonPhase))),
            sorted(repr((p.season_id, p.school_id, p.classes, p.class_size)) for p in
                   db.session.scalars(select(SeatPlan))),
            sorted(repr((t.season_id, t.school_id, t.rank, t.key)) for t in
                   db.session.scalars(select(PriorityTier)))]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_the_console_action_needs_the_csrf_token_is_scoped_andaudited(
        app: Flask, county: County, action: Action) -> None:
    method, path, body = action.prepare(county)
    bureau, token = web_console(app, county.usernames["bureau"])
    before, rows = _state(), audited(action.audit)

    no_token = bureau.open(path, method=method, json=body)
    assert no_token.status_code == 403
    assert no_token.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = bureau.open(path, method=method, json=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    assert _state() == before and audited(action.audit) == rows

    other, other_token = web_console(app, county.usernames["other_bureau"])
    outside = other.open(path, method=method, json=body, headers={"X-CSRF-Token": other_token})
    assert outside.status_code == 404, outside.get_json()
    assert _state() == before and audited(action.audit) == rows

    done = bureau.open(path, method=method, json=body, headers={"X-CSRF-Token": token})
    assert done.status_code == action.status, done.get_json()
    assert _state() != before
    assert audited(action.audit) == rows + 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == action.audit)
                              .order_by(AuditEvent.id.desc()))
    assert event is not None and event.actor_role == "bureau_admin"
    assert event.actor_user_id == bureau.get("/api/v1/me").get_json()["id"]


def test_the_pages_are_the_bureaus_only(app: Flask, county: County) -> None:
    staff, _token = web_console(app, county.usernames["a"])
    for path in ("/console/settings/season", "/console/admission/seat-plans"):
        assert staff.get(path).status_code == 404
    bureau, _token = web_console(app, county.usernames["bureau"])
    for path in ("/console/settings/season", "/console/admission/seat-plans"):
        assert bureau.get(path).status_code == 200
