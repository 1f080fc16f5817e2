"""The bureau's operations pages in a real browser at 1366 × 768: resolve a binding dispute,
replay a dead-lettered message and watch it processed, filter the audit log by actor and
child, disable an account and reset a password, filter notices by status — the database
checked after each step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.core.jobs import DEAD_LETTER_STREAM, enqueue, stream_key
from backend.core.redis import redis_store
from backend.identity.models import IdentityDispute
from backend.notices.models import Notice, NoticeStatus
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_handlers
from tests.conftest import bearer
from tests.console._ops_support import Ops, add_notice, build_ops, submission_dead_letter
from tests.console._support import (
    Console,
    ask_to_transfer_binding,
    audited,
    confirm_transfer,
    faulty_worker_gives_up,
    picture,
    replay,
)
from tests.console.test_browser_overview import sign_in
from tests.factories import (
    STAFF_PASSWORD,
    make_child,
    make_guardian,
    make_id_number,
    make_parent,
    make_registration,
)

# Headless Chromium: left out of the quick loop (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

def _shot(page: Page, shots: Any, name: str) -> None:
    """The test's screenshot, also the docs' picture of the page (when refreshed)."""
    picture(page, shots, name, f"console-ops-{name}")


def _families(ops: Ops) -> None:
    """More families of the school, their notices in every state (sample data)."""
    names = [("李示例", "李小雨"), ("王示例", "王子涵"), ("赵示例", "赵一诺"), ("陈示例", "陈浩然")]
    statuses = [NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.NOT_SUBSCRIBED,
                NoticeStatus.UNCERTAIN]
    village = ops.child.hukou_region
    first: Ops | None = None
    for n, ((guardian_name, child_name), status) in enumerate(zip(names, statuses,
                                                                  strict=True)):
        guardian = make_guardian(make_parent(), name=guardian_name, phone=f"1390000{n:04d}",
                                 id_number=make_id_number(dt.date(1985, 1, n + 1), 941))
        child = make_child(guardian, village, name=child_name,
                           id_number=make_id_number(dt.date(2018, 2, n + 1), 951))
        make_registration(ops.season, child, ops.school)
        family = Ops(**{**ops.__dict__, "guardian": guardian})
        first = first or family
        errors = {NoticeStatus.FAILED: "微信返回 40037：模板编号无效",
                  NoticeStatus.UNCERTAIN: "答复丢失，可能已送达，不再重发"}
        add_notice(family, status, child=child_name[0] + "*" + child_name[-1],
                   error=errors.get(status))
    assert first is not None
    add_notice(first, NoticeStatus.SENT, template="registration_received", days_ago=2,
               child="李*雨")
    add_notice(first, NoticeStatus.FAILED, error="微信返回 40003：openid 无效", child="李*雨")


def _broken_audit_letter(ops: Ops) -> str:
    """A sign-out's audit event that failed (a handler bug, since fixed), as the worker
    dead-letters it; the dead letter's id."""
    enqueue("audit.record", {"action": "staff.logout", "actor_user_id": ops.teacher.id,
                             "actor_role": "school_staff", "object_type": "user",
                             "object_id": ops.teacher.id})
    return faulty_worker_gives_up("audit.record")


def test_a_bureau_admin_runs_the_operations_pages(
        client: FlaskClient, console: Console, office_page: Page, shots: Any, session: Any,
        login_staff: Callable[[str, str], dict[str, Any]]) -> None:
    page = office_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with console.exclusive():
        ops = build_ops()
        _families(ops)
        submission_dead_letter(ops)
        letter = _broken_audit_letter(ops)
        teacher = bearer(login_staff(ops.names["teacher"], STAFF_PASSWORD)["token"])
        assert client.post(f"/api/v1/staff/children/{ops.child.id}/reveal", headers=teacher,
                           json={"reason": "核对户籍信息"}).status_code == 200
        assert client.post(f"/api/v1/staff/registrations/{ops.registration.id}/review",
                           headers=teacher, json={"decision": "approve",
                                                  "expected_status": "submitted"}
                           ).status_code == 200
        colleague = bearer(login_staff(ops.names["colleague"], STAFF_PASSWORD)["token"])
        dispute_id, requester_id = ops.dispute.id, ops.requester.id
        old_owner = ops.guardian.user_id
    sign_in(page, console, ops.names["admin"], "/console/ops/disputes")

    # --- 1. 绑定争议: transfer after a confirmation that says what it does ----------------
    ask_to_transfer_binding(page, dispute_id,
                            "已核对申诉人户口簿和身份证原件，原微信号已不再使用")
    _shot(page, shots, "disputes")
    confirm_transfer(page)
    with console.exclusive():
        db.session.expire_all()
        dispute = db.session.get(IdentityDispute, dispute_id)
        assert dispute is not None and dispute.status.value == "transferred"
        assert dispute.guardian.user_id == requester_id != old_owner
        assert audited("identity.dispute_transferred", actor_user_id=ops.admin.id) == 1

    # --- 2. 失败任务: the reason shown; replay, then the worker processes it --------------
    page.goto(console.url + "/console/ops/dead-letters")
    key = f"jobs-{letter}"
    expect(page.get_by_test_id(f"reason-{key}")).to_contain_text("RuntimeError")
    expect(page.locator("tbody tr")).to_have_count(2)
    replay(page, key, "任务队列")
    with console.exclusive():
        assert redis_store.client.xlen(stream_key(DEAD_LETTER_STREAM)) == 0
        assert audited("queue.replay", actor_user_id=ops.admin.id) == 1
        fixed = Worker(load_handlers(), name="ops-fixed",
                       settings=WorkerSettings(block_ms=10, linger_ms=0))
        fixed.ensure_group()
        assert fixed.run_once() >= 1
        assert audited("staff.logout", actor_user_id=ops.teacher.id) == 1
    expect(page.get_by_test_id(f"replay-result-{key}")).to_contain_text("已处理成功",
                                                                       timeout=10_000)
    _shot(page, shots, "dead-letters")

    # --- 3. 操作日志: by actor, then by child (shown masked) ----------------------------
    page.goto(console.url + "/console/settings/audit")
    page.select_option("[data-testid=audit-actor]", str(ops.teacher.id))
    page.click("#filters button[type=submit]")
    with console.exclusive():
        by_teacher = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor_user_id == ops.teacher.id)) or 0
    expect(page.locator("#table-foot")).to_contain_text(f"共 {by_teacher} 条")
    page.fill("[data-testid=audit-child]", str(ops.child.id))
    page.click("#filters button[type=submit]")
    expect(page.get_by_test_id("audit-child-note")).to_contain_text("张*明")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody")).to_contain_text("查看完整信息")
    expect(page.locator("tbody")).to_contain_text("审核报名")
    assert "张小明" not in page.content()
    _shot(page, shots, "audit")

    # --- 4. 账号管理: disable the teacher (signed out at once), reset a password ---------
    page.goto(console.url + "/console/settings/accounts")
    page.get_by_test_id(f"edit-{ops.names['teacher']}").click()
    page.select_option(".modal select[name=is_active]", "false")
    page.get_by_test_id("modal-submit").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("立即在所有设备上退出登录")
    page.get_by_test_id("modal-submit").click()
    expect(page.get_by_test_id(f"account-state-{ops.names['teacher']}")).to_have_text("已停用")
    with console.exclusive():
        db.session.expire_all()
        account = db.session.get(User, ops.teacher.id)
        assert account is not None
        assert account.is_active is False
        assert client.get("/api/v1/me", headers=teacher).status_code == 401
    page.get_by_test_id(f"reset-{ops.names['colleague']}").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("旧密码立即失效")
    page.get_by_test_id("modal-submit").click()
    password = page.get_by_test_id("new-password").inner_text().strip()
    assert len(password) >= 10
    _shot(page, shots, "accounts")
    page.get_by_test_id("modal-submit").click()
    with console.exclusive():
        assert client.get("/api/v1/me", headers=colleague).status_code == 401
        assert client.post("/api/v1/auth/staff-login", json={
            "username": ops.names["colleague"], "password": STAFF_PASSWORD,
            "web_session": False}).status_code == 401
        assert client.post("/api/v1/auth/staff-login", json={
            "username": ops.names["colleague"], "password": password,
            "web_session": False}).status_code == 200
        assert audited("account.password_reset", actor_user_id=ops.admin.id) == 1

    # --- 5. 通知送达: the counts, then the failed ones only ------------------------------
    page.goto(console.url + "/console/ops/notices")
    with console.exclusive():
        failed = db.session.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == NoticeStatus.FAILED)) or 0
    assert failed == 2
    expect(page.get_by_test_id("count-failed")).to_contain_text(str(failed))
    page.select_option("[data-testid=notice-status-filter]", "failed")
    page.click("#filters button[type=submit]")
    expect(page.locator("tbody tr")).to_have_count(failed)
    expect(page.locator("tbody")).to_contain_text("发送失败")
    expect(page.locator("tbody")).not_to_contain_text("已送达微信")
    assert "13900000042" not in page.content() and "张示例" not in page.content()
    _shot(page, shots, "notices")
    assert errors == []
