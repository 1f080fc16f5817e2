"""Helpers for the notice tests: parents the simulator knows, notices, a sender, a private DB."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.core.db import db, utcnow
from backend.notices.models import Notice
from backend.notices.sender import NoticeSender, SenderSettings
from backend.notices.services import add_notice
from tests.conftest import Simulator, bearer

# The simulator's templates, registered with exactly the fields the default mapping fills.
SIM_FIELDS = {
    "TPL_REG_RECEIVED": ["thing1", "character_string2", "time3", "phrase4"],
    "TPL_CORRECTION": ["thing1", "thing2", "thing3", "date4"],
    "TPL_REVIEW_RESULT": ["thing1", "thing2", "phrase3", "thing4"],
    "TPL_ADMISSION_RESULT": ["thing1", "thing2", "phrase3", "thing4"],
    "TPL_APPOINTMENT": ["thing1", "time2", "thing3", "thing4"],
    "TPL_ANNOUNCEMENT": ["thing1", "thing2", "time3"],
}
TEMPLATE_IDS = {
    "registration_received": "TPL_REG_RECEIVED", "correction_requested": "TPL_CORRECTION",
    "review_result": "TPL_REVIEW_RESULT", "admission_result": "TPL_ADMISSION_RESULT",
    "appointment": "TPL_APPOINTMENT", "announcement": "TPL_ANNOUNCEMENT",
}
RECEIVED = {"school": "临县第一小学（示例）", "ticket": "T0123456789abcdef01234567",
            "submitted_at": "2024-08-05T00:00:00+00:00", "status": "已受理"}
CORRECTION = {"school": "临县第一小学（示例）", "child": "张*示",
              "reason": "户口簿首页缺失", "deadline": "2024-08-10"}
REVIEW = {"school": "临县第一小学（示例）", "child": "张*示", "result": "审核通过", "note": ""}


@dataclasses.dataclass
class Parent:
    """A parent logged in through the simulator."""

    user_id: int
    openid: str
    token: str


def register_sim_templates(sim: Simulator) -> None:
    """Make the simulator check every field of our templates, as WeChat does."""
    for template_id, fields in SIM_FIELDS.items():
        sim.post("/sim/templates", template_id=template_id, fields=fields)


def log_in(login_parent: Callable[..., dict[str, Any]]) -> Parent:
    """A new parent, logged in (the simulator now knows the openid)."""
    openid = f"o-notice-{uuid.uuid4().hex[:16]}"
    body = login_parent(openid)
    return Parent(user_id=body["user"]["id"], openid=openid, token=body["token"])


def subscribe(client: FlaskClient, sim: Simulator, parent: Parent, *keys: str,
              wechat_side: bool = True) -> None:
    """The parent taps "allow" (WeChat's credit) and the mini-program reports it (ours)."""
    for key in keys:
        response = client.post("/api/v1/me/subscriptions", headers=bearer(parent.token),
                               json={"results": {key: "accept"}})
        assert response.status_code == 200, response.get_json()
        if wechat_side:
            sim.post("/sim/subscribe", openid=parent.openid, template_id=TEMPLATE_IDS[key])


def notify(user_id: int, key: str, data: dict[str, Any], page: str | None = None) -> int:
    """Write one notice to the outbox and commit it, as a state change would."""
    notice = add_notice(db.session, user_id=user_id, template_key=key, data=data,
                        dedupe_key=f"test:{uuid.uuid4().hex}", page=page)
    db.session.commit()
    return notice.id


def outbox(notice_id: int) -> Notice:
    """The notice as the outbox has it now."""
    db.session.expire_all()
    notice = db.session.scalar(select(Notice).where(Notice.id == notice_id))
    assert notice is not None
    return notice


class Clock:
    """The sender's clock, which a test moves forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def make_sender(app: Flask, **overrides: Any) -> tuple[NoticeSender, Clock]:
    """A sender configured like the app's, checking for stale claims on every round."""
    settings = dataclasses.replace(SenderSettings.from_config(app.config), recover_every_s=0,
                                   **overrides)
    sender = NoticeSender(settings, name=f"test-{uuid.uuid4().hex[:6]}")
    clock = Clock()
    sender.clock = clock
    return sender, clock


def messages(sim: Simulator, openid: str | None = None) -> list[dict[str, Any]]:
    """Subscribe messages the simulator delivered, in order."""
    params = {"openid": openid} if openid else {}
    return list(sim.get("/sim/messages", **params)["messages"])


def sends(sim: Simulator) -> list[dict[str, Any]]:
    """Calls the simulator received at subscribeMessage.send."""
    return list(sim.get("/sim/calls", endpoint="subscribe_send")["calls"])
