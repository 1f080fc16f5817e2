"""The API contract holds under fuzzing: schemathesis over the OpenAPI document, in-process.

Four callers (anonymous, a parent with a bound identity and a child, school staff and a
bureau admin) fuzz the `/api/v1/` operations their role may call; anonymous fuzzes the public
ones and sends one request to each protected one (its 401 is contract too). Per operation:
the documented examples, the coverage phase (boundary values, missing and null fields, wrong
types) and fuzzed valid and invalid requests. Any answer must have a documented status,
content type and body and never be a 5xx; invalid input must be refused, input the document
calls valid must pass `@api`'s own validation, and no response may carry a full ID or phone
number the request did not send.

FUZZ_MAX_EXAMPLES (default 4) sets the fuzzed examples per operation and generation mode; the
seed is fixed (FUZZ_SEED to try another), so a CI run is repeatable. A deeper local run
(docs/ARCHITECTURE.md, Tests):
`FUZZ_MAX_EXAMPLES=100 pytest tests/api/test_contract_fuzz.py -p no:randomly`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection
from werkzeug.test import Client

from backend import API_TITLE, API_VERSION
from backend.core.api import parse_json_body, parse_query
from backend.core.db import db
from backend.core.errors import ApiError
from backend.core.openapi import build_openapi
from backend.core.redis import redis_store
from backend.core.sessions import create_session
from backend.schools.models import RegionLevel
from tests.conftest import FULL_ID_NUMBER, FULL_PHONE, REVEAL_PATH, bearer
from tests.factories import (
    make_authority,
    make_child,
    make_guardian,
    make_parent,
    make_region,
    make_school,
    make_season,
    make_seat_plan,
    make_staff,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "4"))
SEED = int(os.environ.get("FUZZ_SEED", "20240805"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
# Which operations each caller fuzzes: its role must be among the operation's roles.
CALLERS = {"anonymous": None, "parent": "parent", "school_staff": "school_staff",
           "bureau_admin": "bureau_admin"}


@dataclass(frozen=True)
class World:
    """The ids a fuzzing caller acts on: one county, one zoned school, one family."""

    parent_id: int
    staff_id: int
    admin_id: int


def _build_world() -> World:
    authority = make_authority()
    town = make_region(authority)
    village = make_region(authority, level=RegionLevel.VILLAGE, parent=town)
    school = make_school(authority, zone=[village])
    season = make_season(authority, year=dt.date.today().year)
    make_seat_plan(season, school)
    staff = make_staff(authority, school=school)
    admin = make_staff(authority)
    parent = make_parent()
    make_child(make_guardian(parent), village)
    world = World(parent_id=parent.id, staff_id=staff.id, admin_id=admin.id)
    # Committed into the test's outer transaction, which the connection fixture rolls back.
    db.session.commit()
    return world


def _token(world: World, caller: str) -> str | None:
    user_id = {"parent": world.parent_id, "school_staff": world.staff_id,
               "bureau_admin": world.admin_id}.get(caller)
    return create_session(user_id, caller, 3600) if user_id is not None else None


def _clear_redis() -> None:
    keys = list(redis_store.client.scan_iter(match=redis_store.prefix + "*", count=1000))
    if keys:
        redis_store.client.delete(*keys)


def _personal_data(value: Any) -> set[str]:
    """Full ID and mobile numbers anywhere in a JSON value."""
    text = json.dumps(value, ensure_ascii=False)
    return {m.group(0) for pattern in (FULL_ID_NUMBER, FULL_PHONE)
            for m in pattern.finditer(text)}


def _assert_no_leak(case: Case, response: Any) -> None:
    # The same rule as the client fixture's, except for what the request itself carried:
    # a generated string may look like an ID number and come back in an echo of it.
    if REVEAL_PATH.match(case.formatted_path) or not response.headers.get(
            "Content-Type", "").startswith("application/json"):
        return
    sent = json.dumps([case.formatted_path, case.query, case.body, case.path_parameters],
                      ensure_ascii=False, default=str)
    leaked = {number for number in _personal_data(json.loads(response.content or b"null"))
              if number not in sent}
    assert not leaked, f"{case.operation.label}: unmasked personal data in the response"


def _assert_model_accepts(app: Flask, case: Case, response: Any) -> None:
    """A request the document calls valid passes the view's own input validation.

    Asked of the models directly (the same parsing `@api` does), not of the response: a
    business rule may still refuse valid input with a 422 of its own.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    endpoint = case.operation.definition.raw["operationId"].rsplit(".", 1)[0]
    meta = getattr(app.view_functions[endpoint], "_api_meta", None)
    if meta is None or (meta.body is None and meta.query is None):
        return
    sent = response.request
    with app.test_request_context(sent.path_url, method=sent.method, data=sent.body,
                                  headers={"Content-Type": "application/json"}):
        try:
            if meta.query is not None:
                parse_query(meta.query)
            if meta.body is not None:
                parse_json_body(meta.body)
        except ApiError as exc:
            # A rule across fields (date_to on or after date_from) is the model's own, at its
            # root: JSON Schema cannot say it, the field descriptions do.
            fields = [f for f in (exc.details or {}).get("fields", []) if f["field"]]
            assert exc.code != "VALIDATION_FAILED" or not fields, (
                f"{case.operation.label}: documented-valid input refused: {fields}")


def _allowed(role: str | None) -> Callable[[Any], bool]:
    """Operation filter: `/api/v1/` operations open to `role` (all of them for anonymous)."""

    def allowed(operation: Any) -> bool:
        if not operation.path.startswith("/api/v1/"):
            return False
        roles = operation.definition.raw.get("description", "").replace(",", " ").split()
        return role is None or role in roles

    return allowed


def _config() -> Any:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                       "no-shrink": True, "database": "none"},
        # Coverage: the boundary values of every documented constraint, and each required
        # field missing or null. Other methods on the path (405) are Flask's business.
        "phases": {"examples": {"enabled": True},
                   "coverage": {"enabled": True, "unexpected-methods": []},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
    })


@pytest.fixture()
def fuzz_world(app: Flask, connection: Connection) -> World:
    """The county, school and family the callers act on, in the test's transaction."""
    with app.app_context():
        return _build_world()


def _fuzz_operation(operation: Any, call: Callable[[Case], None]) -> None:
    """Run one operation's examples, coverage cases and fuzzed cases through `call`."""

    def test(case: Case) -> None:
        call(case)

    # The builder schemathesis' own pytest integration uses (the lazy-fixture form of which
    # does not run under pytest 9): examples, then the coverage phase's boundary cases,
    # then MAX_EXAMPLES fuzzed cases per generation mode.
    build_operation_test(config=operation.schema.config, operation=operation, test_func=test,
                         given_kwargs={}, feedback=FeedbackSources())()


def _call_once(operation: Any, call: Callable[[Case], None]) -> None:
    @settings(max_examples=1, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def test(case: Case) -> None:
        call(case)

    test()


@pytest.mark.parametrize("caller", list(CALLERS))
def test_the_contract_holds_under_fuzzing(
    caller: str, app: Flask, connection: Connection, fuzz_world: World,
) -> None:
    schema = schemathesis.openapi.from_dict(
        build_openapi(app, title=API_TITLE, version=API_VERSION), config=_config())
    schema.app = app
    client = Client(app)
    allowed = _allowed(CALLERS[caller])

    def call(case: Case) -> None:
        # Each case in its own savepoint, with a fresh session token and an empty Redis.
        savepoint = connection.begin_nested()
        try:
            with app.app_context():
                token = _token(fuzz_world, caller)
            headers = bearer(token) if token else {}
            response = case.call(session=client, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
            _assert_no_leak(case, response)
            _assert_model_accepts(app, case, response)
        finally:
            db.session.remove()
            savepoint.rollback()
            with app.app_context():
                _clear_redis()

    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not allowed(operation):
            continue
        try:
            if caller == "anonymous" and "security" in operation.definition.raw:
                # Refused before its input is read: one request shows the documented 401.
                _call_once(operation, call)
            else:
                _fuzz_operation(operation, call)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's findings
            failures.append(f"{operation.label}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
