"""Request and response models of the notices API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.notices.templates import TEMPLATE_KEYS

TemplateKey = Literal["registration_received", "correction_requested", "review_result",
                      "admission_result", "appointment", "announcement"]
# What wx.requestSubscribeMessage answers per template ("filter": WeChat filtered it out).
SubscribeResult = Literal["accept", "reject", "ban", "filter"]


class TemplateOut(BaseModel):
    """One notice template: pass template_id to wx.requestSubscribeMessage."""

    key: TemplateKey
    template_id: str
    title: str


class TemplateList(BaseModel):
    """Every notice template of this deployment."""

    items: list[TemplateOut]


class SubscriptionsIn(BaseModel):
    """What wx.requestSubscribeMessage returned, by template key (not template id)."""

    model_config = ConfigDict(extra="forbid")
    # Keyed by TemplateKey, so the document lists the keys a client may send.
    results: dict[TemplateKey, SubscribeResult] = Field(min_length=1,
                                                       max_length=len(TEMPLATE_KEYS))


class SubscriptionOut(BaseModel):
    """The one-time credits left for a template: one notice each."""

    key: TemplateKey
    template_id: str
    title: str
    credits: int


class SubscriptionList(BaseModel):
    """Credits per template key (0 where the parent has not accepted)."""

    items: list[SubscriptionOut]


class NoticeQuery(BaseModel):
    """Which page of the inbox."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)


class NoticeLine(BaseModel):
    """One line of a notice's body, e.g. 学校：临县第一小学."""

    label: str
    value: str


class NoticeOut(BaseModel):
    """A notice in the in-app inbox, whether or not WeChat delivered it."""

    id: int
    template_key: str
    title: str
    body: str = Field(description="the lines joined as 标签：值, one per line")
    lines: list[NoticeLine]
    page: str | None = Field(description="mini-program page the notice opens")
    created_at: str
    read: bool
    wechat_sent: bool = Field(description="true once WeChat accepted the subscribe message")


class NoticeList(BaseModel):
    """A page of the inbox, newest first."""

    items: list[NoticeOut]
    total: int
    unread: int
    page: int
    page_size: int


NoticeStatusName = Literal["pending", "sending", "sent", "not_subscribed", "failed",
                           "uncertain"]
# The delivery states as the console names them.
STATUS_NAMES = {
    "pending": "待发送", "sending": "发送中", "sent": "已送达微信", "not_subscribed": "未订阅",
    "failed": "发送失败", "uncertain": "结果不明",
}


class StaffNoticeQuery(BaseModel):
    """Filters of the bureau's delivery view: status, template, school, one family (by a
    registration's number or ticket), Beijing dates (both ends included); which page."""

    model_config = ConfigDict(extra="forbid")
    status: NoticeStatusName | None = None
    template: TemplateKey | None = None
    school: str | None = Field(default=None, max_length=32, description="school code")
    q: str | None = Field(default=None, min_length=1, max_length=40,
                          description="registration number or ticket: that family's notices")
    date_from: dt.date | None = None
    date_to: dt.date | None = Field(default=None, description="on or after date_from")
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)

    @model_validator(mode="after")
    def _dates_in_order(self) -> StaffNoticeQuery:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to before date_from")
        return self


class FamilyOut(BaseModel):
    """The family a notice went to, masked: never the full name or phone."""

    user_id: int
    guardian_name: str | None = Field(description="masked, e.g. 张*明")
    guardian_phone: str | None = Field(description="masked, e.g. 138****5678")


class StaffNoticeOut(BaseModel):
    """One notice and how its delivery went."""

    id: int
    template_key: str
    title: str
    status: NoticeStatusName
    status_name: str
    attempts: int
    last_error: str | None = Field(description="why it was not delivered (no personal data)")
    school: str | None = Field(description="the school the notice names")
    child: str | None = Field(description="the child the notice names, masked")
    created_at: str
    sent_at: str | None
    read: bool = Field(description="opened in the mini-program's inbox")
    family: FamilyOut


class StaffNoticeList(BaseModel):
    """A page of notices, newest first, and how many of the filtered ones are in each
    status (the status filter aside)."""

    items: list[StaffNoticeOut]
    total: int
    page: int
    page_size: int
    counts: dict[str, int]
