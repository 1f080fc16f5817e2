"""Per school in the bureau's counts: active registrations all verified by government data
sources and those needing documents, equal to the rule the reviewers see."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from backend.core.db import db
from backend.govdata.sources import Fact
from backend.registrations.models import INACTIVE_STATUSES, Registration
from backend.registrations.requirements import requirements_of
from backend.verification.models import CheckStatus, DataCheck
from backend.verification.services import checks_for_children
from tests.stats._support import World


def _confirm_everything(world: World) -> None:
    """Every source confirmed every fact of every child of the season."""
    children = set(db.session.scalars(select(Registration.child_id).where(
        Registration.season_id == world.season.id)))
    for child_id in sorted(children):
        for fact in (Fact.HOUSEHOLD, Fact.PROPERTY, Fact.RESIDENCE_PERMIT):
            db.session.add(DataCheck(child_id=child_id, fact=fact,
                                     status=CheckStatus.CONFIRMED, source="示例数据源",
                                     reference="REF", attempts=1))
    db.session.flush()


def _expected(world: World) -> dict[str, tuple[int, int]]:
    """school code → (all verified, needs documents), active registrations, from Python."""
    found: dict[str, list[int]] = {s.code: [0, 0] for s in world.schools.values()}
    registrations = list(db.session.scalars(select(Registration).where(
        Registration.season_id == world.season.id,
        Registration.status.not_in(INACTIVE_STATUSES))))
    checks = checks_for_children([r.child_id for r in registrations])
    for registration in registrations:
        states = {r.state for r in requirements_of(registration,
                                                   checks.get(registration.child_id, []))}
        found[registration.school.code][0 if states == {"verified"} else 1] += 1
    return {code: (a, b) for code, (a, b) in found.items()}


def _answered(client: FlaskClient, headers: dict[str, str]) -> dict[str, tuple[int, int]]:
    response = client.get("/api/v1/admin/stats?by=school", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {i["key"]: (i["all_verified"], i["needs_documents"])
            for i in response.get_json()["items"]}


def test_the_bureau_sees_all_verified_and_needing_documents_per_school(
        client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    _confirm_everything(world)
    answered = _answered(client, admin)
    assert answered == _expected(world)
    # Household, migrant (the permit) and none: verified; disability needs its certificate.
    assert answered[world.schools["a"].code] == (3, 1)
    assert answered[world.schools["c"].code] == (0, 0)


def test_without_checks_every_active_registration_needs_documents(
        client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/admin/stats?by=school", headers=admin).get_json()
    assert {i["key"]: (i["all_verified"], i["needs_documents"]) for i in body["items"]} == {
        i["key"]: (0, i["active"]) for i in body["items"]}


def test_school_staff_see_their_own_school_only(
        client: FlaskClient, world: World, staff: dict[str, str]) -> None:
    _confirm_everything(world)
    assert _answered(client, staff) == {world.schools["a"].code: (3, 1)}


def test_other_groupings_leave_the_verification_counts_out(
        client: FlaskClient, world: World, admin: dict[str, Any]) -> None:
    body = client.get("/api/v1/admin/stats?by=status", headers=admin).get_json()
    assert all(i["all_verified"] is None for i in body["items"])
