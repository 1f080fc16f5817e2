"""Every state-changing action of the console's 代报名 page, called as the page calls it
(the staff web-session cookie): without X-CSRF-Token it is 403 CSRF_FAILED and changes
nothing; staff of another school (or another county's bureau) get 404 as if the object did
not exist; the action itself writes an audit row naming the actor."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.identity.models import Guardian
from backend.proxy.models import ClaimCode
from backend.uploads.models import Upload
from tests.console._support import web_login
from tests.proxy._support import BASE, County, build_county, drain, enter, png, scanned

PAGE = "/console/proxy"  # the console page whose actions these are


@dataclass
class Action:
    """One console action: what it sends, what it audits, what must stay as it was."""

    path: str
    audit: str
    body: dict[str, Any] | None = None
    upload: bool = False
    actor: str = "a"
    outsider: str | None = "b"
    unchanged: Callable[[], bool] = lambda: True


def _guardians() -> int:
    return db.session.scalar(select(func.count()).select_from(Guardian)) or 0


def enter_action(client: FlaskClient, county: County) -> Action:
    return Action(BASE, "proxy.family_entered", body=scanned(client, county),
                  unchanged=lambda: _guardians() == 0)


def scan_action(_client: FlaskClient, _county: County) -> Action:
    def none() -> bool:
        return db.session.scalar(select(func.count()).select_from(Upload)) == 0

    # A scan names no school: there is nobody it could be out of scope for.
    return Action(f"{BASE}/uploads", "proxy.document_scanned", upload=True, outsider=None,
                  unchanged=none)


def reissue_action(client: FlaskClient, county: County) -> Action:
    answer = enter(client, county.auth("a"), scanned(client, county)).get_json()
    drain()
    registration_id = client.get(f"{BASE}/tickets/{answer['ticket']}",
                                 headers=county.auth("a")).get_json()["registration_id"]
    code = db.session.scalar(select(ClaimCode.code_index))

    def same() -> bool:
        return db.session.scalar(select(ClaimCode.code_index).execution_options(
            populate_existing=True)) == code

    return Action(f"{BASE}/{registration_id}/claim-code", "proxy.claim_code_issued",
                  outsider="other_bureau", unchanged=same)


ACTIONS: dict[str, Callable[[FlaskClient, County], Action]] = {
    "enter a family at the counter": enter_action,
    "scan a document": scan_action,
    "issue a new claim code": reissue_action,
}


def _call(client: FlaskClient, action: Action, csrf: str | None) -> Any:
    headers = {"Idempotency-Key": f"console-{uuid.uuid4().hex[:12]}"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    if action.upload:
        return client.post(action.path, headers=headers, content_type="multipart/form-data",
                           data={"kind": "hukou_book", "file": (io.BytesIO(png()), "scan.png")})
    return client.post(action.path, json=action.body, headers=headers)


@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_console_action_needs_the_token_is_scoped_and_is_audited(
        name: str, client: FlaskClient, session: Any,
        login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    county = build_county(login_staff)
    action = ACTIONS[name](client, county)
    db.session.commit()
    audit_rows = select(AuditEvent).where(AuditEvent.action == action.audit)
    before = len(list(db.session.scalars(audit_rows)))

    if action.outsider:
        outsider_csrf = web_login(client, county.usernames[action.outsider], PAGE)
        outside = _call(client, action, outsider_csrf)
        assert outside.status_code == 404, outside.get_json()
        assert action.unchanged(), "an outsider changed something"

    csrf = web_login(client, county.usernames[action.actor], PAGE)
    for token in (None, "forged-token"):
        refused = _call(client, action, token)
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["error"]["code"] == "CSRF_FAILED"
    assert action.unchanged(), "a request without the page's token changed something"
    assert len(list(db.session.scalars(audit_rows))) == before

    done = _call(client, action, csrf)
    assert done.status_code in (200, 201, 202), done.get_json()
    assert not action.unchanged(), "the action changed nothing"
    rows = list(db.session.scalars(audit_rows.execution_options(populate_existing=True)))
    assert len(rows) == before + 1
    assert rows[-1].actor_user_id == county.user_ids[action.actor]
    assert rows[-1].actor_role == "school_staff"
