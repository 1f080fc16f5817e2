"""Request and response models of the audit log, and what each action is called."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

AUDIT_PAGE_SIZE_MAX = 100

# Every action the platform records, in the words the console shows.
ACTION_NAMES = {
    "staff.login": "登录", "staff.login_failed": "登录失败", "staff.logout": "退出登录",
    "pc_login.requested": "电脑端请求扫码登录", "pc_login.scanned": "手机扫码（电脑端登录）",
    "pc_login.confirmed": "手机确认电脑端登录", "pc_login.refused": "手机拒绝电脑端登录",
    "pc_login.signed_in": "电脑端登录", "parent.web_logout": "电脑端退出登录",
    "account.create": "新建账号", "account.update": "修改账号",
    "account.password_reset": "重置密码",
    "child.reveal": "查看完整信息", "upload.view": "查看材料",
    "registration.review": "审核报名",
    "registration.batch_approve": "批量通过（全部已核验）", "registrations.export": "导出名单",
    "identity.dispute_opened": "提交绑定申诉", "identity.dispute_transferred": "申诉：转移绑定",
    "identity.dispute_rejected": "申诉：驳回",
    "announcement.create": "新建公告", "announcement.edit": "修改公告",
    "announcement.publish": "发布公告", "announcement.release": "审核通过公告",
    "announcement.reject": "驳回公告", "announcement.withdraw": "撤回公告",
    "announcement.publish_due": "定时发布公告",
    "complaint.file": "提交投诉", "complaint.assign": "指派投诉",
    "complaint.answer": "答复投诉", "complaint.close": "办结投诉",
    "admission.seat_plan": "设置招生计划", "admission.tiers": "设置录取顺位",
    "admission.lottery_freeze": "冻结派位名单", "admission.lottery_draw": "派位抽签",
    "admission.lottery_cancel": "作废派位", "admission.offer_withdraw": "撤销录取",
    "admission.expire_offers": "处理逾期未确认", "admission.placement": "统筹安置",
    "admission.list_publish": "公布录取名单", "admission.registry_export": "导出学籍名单",
    "onsite.slot_create": "新增报到时段", "onsite.slot_change": "修改报到时段",
    "onsite.slot_delete": "删除报到时段", "onsite.assign": "代家长预约",
    "onsite.check_in": "现场报到",
    "classes.together_request": "登记同班申请", "classes.together_request_delete": "删除同班申请",
    "classes.commit": "冻结分班名单", "classes.publish": "分班抽签并公布",
    "classes.cancel": "作废分班", "classes.correct": "更正分班",
    "import.regions": "导入乡镇村", "import.schools": "导入学校", "import.zones": "导入片区",
    "queue.replay": "重放失败任务", "season.personal_data_purged": "清除个人信息",
}


class AuditQuery(BaseModel):
    """Filters of the audit log: who, what, when (Beijing dates, both ends included), about
    which object or child; which page."""

    model_config = ConfigDict(extra="forbid")
    actor_user_id: int | None = Field(default=None, ge=1, description="a staff account's id")
    actor: str | None = Field(default=None, max_length=64, description="a staff username")
    action: str | None = Field(default=None, max_length=64)
    object_type: str | None = Field(default=None, max_length=64)
    child_id: int | None = Field(
        default=None, ge=1, description="events about the child and its registrations, "
                                        "documents and offers")
    date_from: dt.date | None = None
    date_to: dt.date | None = Field(default=None, description="on or after date_from")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=50, ge=1, le=AUDIT_PAGE_SIZE_MAX)

    @model_validator(mode="after")
    def _dates_in_order(self) -> AuditQuery:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to before date_from")
        return self


class AuditEventOut(BaseModel):
    """One audit event (the actor by account, never a family's name)."""

    id: int
    occurred_at: str
    action: str
    action_name: str
    actor_user_id: int | None
    actor_role: str | None
    actor_username: str | None = None
    actor_display_name: str | None = None
    object_type: str | None
    object_id: str | None
    client_fingerprint: str | None
    details: dict[str, Any]


class AuditChildOut(BaseModel):
    """The child the log is filtered by, masked."""

    id: int
    name: str = Field(description="masked, e.g. 张*明")


class AuditEventList(BaseModel):
    """A page of audit events, newest first."""

    items: list[AuditEventOut]
    total: int
    page: int
    page_size: int
    child: AuditChildOut | None = None
