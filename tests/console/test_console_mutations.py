"""Every state-changing staff endpoint, called as the console calls it (the staff web-session
cookie and the page's X-CSRF-Token), on the scope table's world (tests/test_staff_scope.py):

* without the token, or with a forged one, it is 403 CSRF_FAILED and nothing changes, not
  even the audit log;
* signed in as someone outside the object's scope (staff of another school, another county's
  bureau), it answers what the scope table says (404, as if the object did not exist) and
  nothing changes;
* signed in as someone inside the scope, with the token, it is not refused, and when it goes
  through it leaves an audit row naming that staff member and their role.

The rows are the scope table's own, so an endpoint added there is covered here too; the last
test fails when a state-changing staff endpoint is in neither.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select

import tests.test_staff_scope as scope_table
from backend.audit.models import AuditEvent
from tests.console._support import web_console
from tests.scope_world import ADMIN_A, ADMIN_B, STAFF_A1, STAFF_A2, World, png
from tests.test_staff_scope import (
    API,
    CASES,
    NOT_COVERED,
    NOT_REFUSED,
    Case,
    changed,
    database,
    fill,
)

# The scope table's world and its per-test savepoint, under their fixture names.
_world = scope_table._world
connection = scope_table.connection
world = scope_table.world
_clean_redis_and_simulator = scope_table._clean_redis_and_simulator

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# The caller's own session: nothing to scope, and logging out needs the token like the rest
# (tests/console/test_web_session.py).
OWN_SESSION = {"accounts.logout"}
ROOT = Path(__file__).resolve().parents[2]
# Rows the scope world answers with a refusal of state (400/409/422) for the insider too: the test
# that shows the action going through with its audit row, and the audit action it checks.
AUDITED_ELSEWHERE = {
    "reviews.review_registration": ("tests/reviews/test_review_flow.py", "AuditEvent"),
    "admission.put_tiers": ("tests/console/test_season_actions.py", "admission.tiers"),
    "seasons.publish_season": ("tests/console/test_season_actions.py", "season.publish"),
    "proxy.enter_registration": ("tests/proxy/test_console_actions.py", "proxy.family_entered"),
    "proxy.reissue_claim_code": ("tests/proxy/test_console_actions.py",
                                 "proxy.claim_code_issued"),
    "admission.draw_lottery": ("tests/console/test_admission_actions.py",
                               "admission.lottery_draw"),
    "admission.cancel_lottery": ("tests/console/test_admission_actions.py",
                                 "admission.lottery_cancel"),
    "classes.create_together_request": ("tests/console/test_onsite_actions.py",
                                        "classes.together_request"),
    "classes.delete_together_request": ("tests/console/test_onsite_actions.py",
                                        "classes.together_request_delete"),
    "classes.commit_assignment": ("tests/console/test_onsite_actions.py", "classes.commit"),
    "classes.draw_assignment": ("tests/console/test_onsite_actions.py", "classes.publish"),
    "classes.cancel_assignment": ("tests/console/test_onsite_actions.py", "classes.cancel"),
    "classes.correct_placement": ("tests/console/test_onsite_actions.py", "classes.correct"),
    "announcements.release_announcement": ("tests/announcements/test_announcements.py",
                                           "announcement.release"),
    "announcements.reject_announcement": ("tests/announcements/test_announcements.py",
                                          "announcement.reject"),
    "complaints.assign_complaint": ("tests/complaints/test_complaints.py", "complaint.assign"),
    "complaints.close_complaint": ("tests/complaints/test_complaints.py", "complaint.close"),
}


def _insider(case: Case) -> str | None:
    """Who may do it: the school's own staff where they may, else the county's bureau."""
    for caller in (STAFF_A1, ADMIN_A):
        if case.expect[caller] not in (401, 403, 404):
            return caller
    return None


def _endpoint(app: Flask, path: str, method: str) -> str:
    return str(app.url_map.bind("localhost").match(urlsplit(path).path, method=method)[0])


def _rows() -> list[Any]:
    rows = []
    for case in CASES:
        if case.method in MUTATING and not case.console and _insider(case):
            rows.append(pytest.param(case, id=f"{case.method} {case.label}"))
    return rows


def _send(browser: FlaskClient, world: World, case: Case, token: str | None) -> Any:
    """The row's request with the cookie alone, and the token when given."""
    headers = {"X-CSRF-Token": token} if token is not None else {}
    kwargs: dict[str, Any] = {}
    if case.upload:
        kwargs.update(data={"file": (io.BytesIO(png((60, 60, 60))), "console.png")},
                      content_type="multipart/form-data")
    elif case.body is not None:
        kwargs["json"] = fill(case.body, world.ids)
    return browser.open(fill(case.path, world.ids), method=case.method, headers=headers,
                        **kwargs)


def _audit_rows(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


@pytest.mark.parametrize("case", _rows())
def test_the_console_action_needs_the_token_is_scoped_and_audited(
        app: Flask, connection: Connection, world: World, case: Case) -> None:
    insider = _insider(case)
    assert insider is not None
    browser, token = web_console(app, world.usernames[insider])
    # Signing in writes the account's last login: everyone signs in before the snapshot.
    outsiders = {caller: web_console(app, world.usernames[caller]) for caller in (STAFF_A2, ADMIN_B)
                 if caller in case.outsiders and case.expect[caller] != 403}
    before = database(connection)
    audits = _audit_rows(connection)

    for sent in (None, "forged-token"):
        refused = _send(browser, world, case, sent)
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["error"]["code"] == "CSRF_FAILED"
    assert not changed(before, database(connection)), "a request without the token changed data"
    assert _audit_rows(connection) == audits, "a refused request was audited as done"

    # Refused by role (403) is the scope table's business; here: out of scope.
    for caller, (other, other_token) in outsiders.items():
        outside = _send(other, world, case, other_token)
        assert outside.status_code == case.expect[caller], outside.get_json()
        assert not changed(before, database(connection)), f"{caller} changed A1's data"

    me = browser.get(f"{API}/me").get_json()
    done = _send(browser, world, case, token)
    expected = case.expect[insider]
    if expected == NOT_REFUSED:
        assert done.status_code not in (401, 403, 404) and done.status_code < 500, \
            (done.status_code, done.get_json(silent=True))
    else:
        assert done.status_code == expected, done.get_json(silent=True)
    endpoint = _endpoint(app, fill(case.path, world.ids), case.method)
    if done.status_code >= 300:
        # The world's state refuses this one (e.g. 409: already decided): its audited success
        # is another test's, named here so the claim can be checked.
        assert endpoint in AUDITED_ELSEWHERE, (endpoint, done.status_code)
        path, action = AUDITED_ELSEWHERE[endpoint]
        assert action in (ROOT / path).read_text(encoding="utf-8"), (path, action)
    if done.status_code < 300:
        assert _audit_rows(connection) > audits, f"{case.method} {case.label} left no audit row"
        event = connection.execute(
            select(AuditEvent.actor_user_id, AuditEvent.actor_role)
            .order_by(AuditEvent.id.desc()).limit(1)).one()
        assert (event.actor_user_id, event.actor_role) == (me["id"], me["role"])


def test_every_state_changing_staff_endpoint_is_a_row(app: Flask, world: World) -> None:
    """A new state-changing staff endpoint must join the scope table (and so this test)."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(urlsplit(fill(case.path, world.ids)).path, method=case.method)[0]
               for case in CASES if case.method in MUTATING and _insider(case)}
    staff = {"school_staff", "bureau_admin"}
    mutating = {rule.endpoint for rule in app.url_map.iter_rules()
                if set(rule.methods or ()) & set(MUTATING)
                and staff & set(getattr(app.view_functions[rule.endpoint], "_api_roles", ())
                                or ())}
    missing = sorted(mutating - covered - OWN_SESSION - set(NOT_COVERED))
    assert not missing, f"state-changing staff endpoints with no console-action row: {missing}"
