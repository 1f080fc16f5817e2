"""Every state-changing admission action the console offers, called as the console calls it
(the staff web-session cookie + X-CSRF-Token): refused without the token, 404 for a bureau
admin of another county, and audited when it goes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.admission.models import LotteryEntry
from backend.audit.models import AuditEvent
from backend.core.db import db, utcnow
from tests.admission._support import (
    PUBLIC_VALUE,
    PUBLIC_VALUE_SOURCE,
    County,
    applicant,
    build_county,
    freeze,
    frozen_and_drawn,
    offers_of,
)
from tests.console._support import audited, web_console

Prepared = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """One console action: how to set it up, what it answers, which audit row it leaves."""

    name: str
    prepare: Callable[[FlaskClient, County], Prepared]
    status: int
    audit: str


def _freeze(client: FlaskClient, county: County) -> Prepared:
    return "/api/v1/admin/lotteries", {"season_id": county.season.id,
                                       "school_id": county.school_a.id,
                                       "public_value_source": PUBLIC_VALUE_SOURCE}


def _frozen_id(client: FlaskClient, county: County) -> int:
    frozen = freeze(client, county, county.school_a)
    assert frozen.status_code == 201, frozen.get_json()
    return int(frozen.get_json()["id"])


def _draw(client: FlaskClient, county: County) -> Prepared:
    return (f"/api/v1/admin/lotteries/{_frozen_id(client, county)}/draw",
            {"public_value": PUBLIC_VALUE})


def _cancel(client: FlaskClient, county: County) -> Prepared:
    return (f"/api/v1/admin/lotteries/{_frozen_id(client, county)}/cancel",
            {"reason": "名单有误，作废后重新冻结"})


def _settled_b(client: FlaskClient, county: County) -> None:
    assert freeze(client, county, county.school_b, source="").status_code == 201


def _withdraw(client: FlaskClient, county: County) -> Prepared:
    _settled_b(client, county)
    offer = offers_of(county.school_b)[0]
    return f"/api/v1/admin/offers/{offer.id}/withdraw", {"reason": "经核实户籍信息不实"}


def _expire(client: FlaskClient, county: County) -> Prepared:
    _settled_b(client, county)
    offer = offers_of(county.school_b)[0]
    offer.respond_by = utcnow() - dt.timedelta(hours=2)
    db.session.flush()
    return "/api/v1/admin/offers/expire-overdue", {"season_id": county.season.id}


def _place(client: FlaskClient, county: County) -> Prepared:
    drawn = frozen_and_drawn(client, county, county.school_a)
    waitlisted = next(r for r in drawn["result"] if r["outcome"] == "waitlisted")
    entry = db.session.scalar(select(LotteryEntry).where(
        LotteryEntry.lottery_id == drawn["id"], LotteryEntry.pseudonym == waitlisted["pseudonym"]))
    assert entry is not None
    return "/api/v1/admin/placements", {"registration_id": entry.registration_id,
                                        "school_id": county.school_b.id,
                                        "reason": "甲校学位已满，按就近原则统筹到乙校"}


def _publish(client: FlaskClient, county: County) -> Prepared:
    _settled_b(client, county)
    return "/api/v1/admin/admitted-lists", {"season_id": county.season.id,
                                            "school_id": county.school_b.id}


ACTIONS = [
    Action("freeze", _freeze, 201, "admission.lottery_freeze"),
    Action("draw", _draw, 200, "admission.lottery_draw"),
    Action("cancel", _cancel, 200, "admission.lottery_cancel"),
    Action("withdraw_offer", _withdraw, 200, "admission.offer_withdraw"),
    Action("expire_overdue", _expire, 200, "admission.expire_offers"),
    Action("placement", _place, 201, "admission.placement"),
    Action("publish_list", _publish, 200, "admission.list_publish"),
]


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A oversubscribed (8 applicants for 6 seats), school B with 2 for 4."""
    county = build_county(login_staff)
    for _ in range(8):
        applicant(county, county.school_a)
    for _ in range(2):
        applicant(county, county.school_b)
    return county


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_the_console_action_needs_the_csrf_token_is_scoped_andaudited(
        app: Flask, client: FlaskClient, county: County, action: Action) -> None:
    path, body = action.prepare(client, county)
    bureau, token = web_console(app, county.usernames["bureau"])
    before = audited(action.audit)

    no_token = bureau.post(path, json=body)
    assert no_token.status_code == 403
    assert no_token.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = bureau.post(path, json=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    assert audited(action.audit) == before

    other, other_token = web_console(app, county.usernames["other_bureau"])
    outside = other.post(path, json=body, headers={"X-CSRF-Token": other_token})
    assert outside.status_code == 404, outside.get_json()
    assert audited(action.audit) == before

    done = bureau.post(path, json=body, headers={"X-CSRF-Token": token})
    assert done.status_code == action.status, done.get_json()
    db.session.expire_all()
    assert audited(action.audit) == before + 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == action.audit)
                              .order_by(AuditEvent.id.desc()))
    assert event is not None and event.actor_role == "bureau_admin"
    me = bureau.get("/api/v1/me").get_json()
    assert event.actor_user_id == me["id"]


def test_the_registry_export_from_the_console_is_scoped_andaudited(
        app: Flask, client: FlaskClient, county: County) -> None:
    _settled_b(client, county)
    url = (f"/api/v1/admin/student-registry.xlsx?season_id={county.season.id}"
           f"&school_id={county.school_b.id}")
    other, _token = web_console(app, county.usernames["other_bureau"])
    assert other.get(url).status_code == 404
    assert audited("admission.registry_export") == 0

    bureau, _token = web_console(app, county.usernames["bureau"])
    download = bureau.get(url)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert audited("admission.registry_export") == 1
