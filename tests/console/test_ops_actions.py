"""Every state-changing action of the operations pages (绑定争议, 失败任务, 账号管理), called
as the console calls it (the staff web-session cookie + X-CSRF-Token): refused without the
token and changing nothing, 404 for a bureau admin of another county, audited when it goes
through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.core.jobs import INTAKE, dead_letter_key
from backend.core.redis import redis_store
from backend.identity.models import IdentityDispute
from tests.console._ops_support import Ops, build_ops, submission_dead_letter
from tests.console._support import audited, web_console


@dataclass(frozen=True)
class Action:
    """One console action: its request, the state it must leave alone when refused."""

    name: str
    prepare: Callable[[Ops], tuple[str, str, dict[str, Any]]]
    status: int
    audit: str
    state: Callable[[Ops], Any]


def _resolve(ops: Ops) -> tuple[str, str, dict[str, Any]]:
    return ("POST", f"/api/v1/admin/identity-disputes/{ops.dispute.id}/resolve",
            {"decision": "transfer", "note": "核对户口簿和身份证原件后转移"})


def _dispute_state(ops: Ops) -> Any:
    dispute = db.session.get(IdentityDispute, ops.dispute.id)
    assert dispute is not None
    return dispute.status.value, dispute.guardian.user_id


def _replay(ops: Ops) -> tuple[str, str, dict[str, Any]]:
    message_id = submission_dead_letter(ops)
    return "POST", f"/api/v1/admin/dead-letters/%7Bintake%7D/{message_id}/replay", {}


def _dead_letters(ops: Ops) -> Any:
    return redis_store.client.xlen(dead_letter_key(INTAKE))


def _patch(ops: Ops) -> tuple[str, str, dict[str, Any]]:
    return ("PATCH", f"/api/v1/admin/staff-accounts/{ops.teacher.id}",
            {"is_active": False, "display_name": "王老师（调离）"})


def _teacher(ops: Ops) -> Any:
    db.session.refresh(ops.teacher)
    return ops.teacher.is_active, ops.teacher.display_name, ops.teacher.password_hash


def _reset(ops: Ops) -> tuple[str, str, dict[str, Any]]:
    return "POST", f"/api/v1/admin/staff-accounts/{ops.teacher.id}/reset-password", {}


ACTIONS = [
    Action("resolve_dispute", _resolve, 200, "identity.dispute_transferred", _dispute_state),
    Action("replay_dead_letter", _replay, 200, "queue.replay", _dead_letters),
    Action("update_account", _patch, 200, "account.update", _teacher),
    Action("reset_password", _reset, 200, "account.password_reset", _teacher),
]


@pytest.fixture()
def ops(session: Any) -> Ops:
    """County A (school, staff, a family, a dispute) and county B's bureau."""
    return build_ops()


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_the_ops_action_needs_the_csrf_token_is_scoped_andaudited(
        app: Flask, ops: Ops, action: Action) -> None:
    method, path, body = action.prepare(ops)
    bureau, token = web_console(app, ops.names["admin"])
    before, state = audited(action.audit), action.state(ops)

    no_token = bureau.open(path, method=method, json=body)
    assert no_token.status_code == 403
    assert no_token.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = bureau.open(path, method=method, json=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    assert audited(action.audit) == before and action.state(ops) == state

    other, other_token = web_console(app, ops.names["other_admin"])
    outside = other.open(path, method=method, json=body, headers={"X-CSRF-Token": other_token})
    assert outside.status_code == 404, outside.get_json()
    assert audited(action.audit) == before and action.state(ops) == state

    done = bureau.open(path, method=method, json=body, headers={"X-CSRF-Token": token})
    assert done.status_code == action.status, done.get_json()
    db.session.expire_all()
    assert action.state(ops) != state
    assert audited(action.audit) == before + 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == action.audit)
                              .order_by(AuditEvent.id.desc()))
    assert event is not None and event.actor_role == "bureau_admin"
    assert event.actor_user_id == ops.admin.id
