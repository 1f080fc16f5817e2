"""Request and response models of the notices API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    results: dict[str, SubscribeResult] = Field(min_length=1, max_length=len(TEMPLATE_KEYS))

    @field_validator("results")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        if not set(value) <= set(TEMPLATE_KEYS):
            raise ValueError("unknown template key")
        return value


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
