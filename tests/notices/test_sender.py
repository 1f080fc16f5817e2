"""The outbox sender against the WeChat simulator: mapping, credits, errors, at most once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.core.redis import redis_store
from backend.notices.models import NoticeStatus
from backend.wechat.client import WeChatAdapter, wechat
from tests.conftest import TEST_APPID, TEST_SECRET, Simulator, bearer
from tests.notices._support import (
    CORRECTION,
    RECEIVED,
    REVIEW,
    log_in,
    make_sender,
    messages,
    notify,
    outbox,
    register_sim_templates,
    sends,
    subscribe,
)

Login = Callable[..., dict[str, Any]]


class SenderKilled(BaseException):
    """Stands in for the process dying (SIGKILL, power cut): nothing catches it."""


def _credits(client: FlaskClient, token: str) -> dict[str, int]:
    response = client.get("/api/v1/me/subscriptions", headers=bearer(token))
    assert response.status_code == 200
    return {item["key"]: item["credits"] for item in response.get_json()["items"]}


def test_an_accepted_notice_arrives_with_the_deployment_field_mapping(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    register_sim_templates(wechat_sim)
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "registration_received")
    notice_id = notify(parent.user_id, "registration_received", RECEIVED,
                       page="pages/registrations/detail?id=7")
    sender, _clock = make_sender(app)

    report = sender.run_once()

    assert report.outcomes == {"sent": 1}
    [message] = messages(wechat_sim, parent.openid)
    assert message["template_id"] == "TPL_REG_RECEIVED"
    assert message["page"] == "pages/registrations/detail?id=7"
    assert message["miniprogram_state"] == "formal" and message["lang"] == "zh_CN"
    # Stored in UTC, shown to the family in Beijing time, in WeChat's own format.
    assert message["data"] == {
        "thing1": {"value": "临县第一小学（示例）"},
        "character_string2": {"value": "T0123456789abcdef01234567"},
        "time3": {"value": "2024年08月05日 08:00"},
        "phrase4": {"value": "已受理"},
    }
    row = outbox(notice_id)
    assert row.status is NoticeStatus.SENT and row.attempts == 1
    assert row.sent_at is not None and row.last_error is None
    assert _credits(client, parent.token)["registration_received"] == 0
    inbox = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()
    assert inbox["items"][0]["wechat_sent"] is True


def test_several_notices_arrive_in_the_order_they_were_written(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    register_sim_templates(wechat_sim)
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "registration_received", "correction_requested",
              "review_result")
    notify(parent.user_id, "registration_received", RECEIVED)
    notify(parent.user_id, "correction_requested", CORRECTION)
    notify(parent.user_id, "review_result", REVIEW)
    sender, _clock = make_sender(app)

    assert sender.run_once().outcomes == {"sent": 3}

    sent = messages(wechat_sim, parent.openid)
    assert [m["template_id"] for m in sent] == ["TPL_REG_RECEIVED", "TPL_CORRECTION",
                                                "TPL_REVIEW_RESULT"]
    assert sent[1]["data"]["date4"] == {"value": "2024年08月10日"}
    assert sent[1]["data"]["thing2"] == {"value": "张*示"}
    # An empty note is a field WeChat would refuse: it shows 无 instead.
    assert sent[2]["data"]["thing4"] == {"value": "无"}
    assert sent[2]["data"]["phrase3"] == {"value": "审核通过"}
    # Nothing is sent twice on the next round.
    assert sender.run_once().claimed == 0
    assert len(messages(wechat_sim)) == 3


def test_without_a_credit_the_notice_stays_in_the_inbox_and_the_outbox_says_why(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    notice_id = notify(parent.user_id, "registration_received", RECEIVED)
    sender, _clock = make_sender(app)

    assert sender.run_once().outcomes == {"not_subscribed": 1}

    assert sends(wechat_sim) == []  # WeChat was not even asked
    row = outbox(notice_id)
    assert row.status is NoticeStatus.NOT_SUBSCRIBED and row.attempts == 0
    assert row.last_error and "no subscription credit" in row.last_error
    inbox = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()
    assert [item["id"] for item in inbox["items"]] == [notice_id]
    assert inbox["items"][0]["title"] == "报名已受理"
    assert inbox["items"][0]["wechat_sent"] is False
    assert sender.run_once().claimed == 0


def test_wechat_43101_is_not_subscribed_without_retry_and_our_credit_goes_to_zero(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    # The mini-program reported an accept (twice), but WeChat holds no credit.
    subscribe(client, wechat_sim, parent, "review_result", "review_result", wechat_side=False)
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    sender, clock = make_sender(app)

    assert sender.run_once().outcomes == {"not_subscribed": 1}

    assert [c["errcode"] for c in sends(wechat_sim)] == [43101]
    row = outbox(notice_id)
    assert row.status is NoticeStatus.NOT_SUBSCRIBED and row.attempts == 1
    assert row.last_error and "43101" in row.last_error
    assert _credits(client, parent.token)["review_result"] == 0
    clock.advance(days=1)
    assert sender.run_once().claimed == 0
    assert len(sends(wechat_sim)) == 1


def test_wechat_47003_fails_the_notice_naming_the_field_and_keeps_the_credit(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "correction_requested")
    wechat_sim.fault("subscribe_send", errcode=47003,
                     errmsg="argument invalid! data.thing3.value invalid")
    notice_id = notify(parent.user_id, "correction_requested", CORRECTION)
    sender, clock = make_sender(app)

    assert sender.run_once().outcomes == {"failed": 1}

    row = outbox(notice_id)
    assert row.status is NoticeStatus.FAILED and row.sent_at is None
    assert row.last_error and "thing3 (reason)" in row.last_error and "47003" in row.last_error
    # WeChat refused before using the credit: ours is given back too.
    assert _credits(client, parent.token)["correction_requested"] == 1
    clock.advance(days=1)
    assert sender.run_once().claimed == 0
    assert messages(wechat_sim) == []


def test_a_field_wechat_would_refuse_fails_here_without_calling_it(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "registration_received")
    notice_id = notify(parent.user_id, "registration_received",
                       {**RECEIVED, "submitted_at": "next Tuesday"})
    sender, _clock = make_sender(app)

    assert sender.run_once().outcomes == {"failed": 1}

    assert sends(wechat_sim) == []
    row = outbox(notice_id)
    assert row.last_error and "time3 (submitted_at)" in row.last_error
    assert _credits(client, parent.token)["registration_received"] == 1


def test_a_thirty_character_school_name_is_shortened_not_rejected(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    register_sim_templates(wechat_sim)
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "registration_received")
    school = "临县城庄镇第一中心学校附属小学与幼儿园联合办学点（示例数据）"
    assert len(school) == 30
    notice_id = notify(parent.user_id, "registration_received", {**RECEIVED, "school": school})
    sender, _clock = make_sender(app)

    assert sender.run_once().outcomes == {"sent": 1}

    [message] = messages(wechat_sim, parent.openid)
    shown = message["data"]["thing1"]["value"]
    assert len(shown) == 20 and shown == school[:19] + "…"
    assert outbox(notice_id).status is NoticeStatus.SENT
    # The inbox keeps the whole name.
    inbox = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()
    assert {"label": "学校", "value": school} in inbox["items"][0]["lines"]


def test_busy_wechat_is_retried_after_a_backoff_and_sent_once(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result")
    wechat_sim.fault("subscribe_send", errcode=-1)
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    sender, clock = make_sender(app)

    assert sender.run_once().outcomes == {"pending": 1}
    row = outbox(notice_id)
    assert row.status is NoticeStatus.PENDING and row.attempts == 1
    assert row.last_error and "not delivered" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > clock()
    # WeChat kept nothing, so neither do we: the credit waits for the retry.
    assert _credits(client, parent.token)["review_result"] == 1
    assert sender.run_once().claimed == 0  # not due yet

    clock.advance(minutes=5)
    assert sender.run_once().outcomes == {"sent": 1}
    assert len(messages(wechat_sim, parent.openid)) == 1
    row = outbox(notice_id)
    assert row.status is NoticeStatus.SENT and row.attempts == 2
    assert _credits(client, parent.token)["review_result"] == 0


def test_backoff_grows_and_gives_up_after_the_last_attempt(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result")
    wechat_sim.fault("subscribe_send", errcode=45011)
    wechat_sim.fault("subscribe_send", errcode=-1, times=3)
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    sender, clock = make_sender(app, max_attempts=4)

    waits = []
    for _ in range(4):
        before = clock()
        sender.run_once()
        row = outbox(notice_id)
        if row.status is NoticeStatus.PENDING:
            assert row.next_attempt_at is not None
            waits.append((row.next_attempt_at - before).total_seconds())
        clock.advance(hours=2)

    # 45011 is a per-minute quota: never less than a minute. Then exponential (base 30 s).
    assert len(waits) == 3 and waits[0] >= 60
    assert 48 <= waits[1] <= 60 and 96 <= waits[2] <= 120
    row = outbox(notice_id)
    assert row.status is NoticeStatus.FAILED and row.attempts == 4
    assert row.last_error and "已尝试 4 次" in row.last_error
    assert messages(wechat_sim) == []
    assert _credits(client, parent.token)["review_result"] == 1


def test_token_errors_refresh_the_token_and_the_notice_goes_out(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result", "review_result")
    first = notify(parent.user_id, "review_result", REVIEW)
    sender, _clock = make_sender(app)
    assert sender.run_once().outcomes == {"sent": 1}
    assert outbox(first).status is NoticeStatus.SENT

    # Every token WeChat issued expires: wechatpy fetches a new one and sends at once.
    wechat_sim.post("/sim/expire-tokens")
    second = notify(parent.user_id, "review_result", REVIEW)
    assert sender.run_once().outcomes == {"sent": 1}
    assert outbox(second).attempts == 1
    assert len(messages(wechat_sim, parent.openid)) == 2


def test_a_token_refused_twice_is_retried_later(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result")
    wechat_sim.fault("subscribe_send", errcode=40001, times=2)
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    sender, clock = make_sender(app)

    assert sender.run_once().outcomes == {"pending": 1}
    assert "40001" in (outbox(notice_id).last_error or "")
    clock.advance(hours=1)
    assert sender.run_once().outcomes == {"sent": 1}
    assert len(messages(wechat_sim, parent.openid)) == 1


def test_a_connection_that_never_reached_wechat_is_retried(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result")
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    # The same credentials at an address where nothing listens: connection refused.
    unreachable = Flask("unreachable-wechat")
    unreachable.config.update(WECHAT_APPID=TEST_APPID, WECHAT_SECRET=TEST_SECRET,
                              WECHAT_API_BASE_URL="http://127.0.0.1:9/",
                              WECHAT_TIMEOUT_SECONDS=1.0)
    adapter = WeChatAdapter()
    adapter.init_app(unreachable, redis_store.client, redis_store.prefix + "unreachable:")
    sender, clock = make_sender(app)
    sender.adapter = adapter

    # First the token fetch fails, then (with a token at hand) the send itself.
    assert sender.run_once().outcomes == {"pending": 1}
    adapter.client.session.set(adapter.client.access_token_key, "cached-token", 3600)
    clock.advance(hours=1)
    assert sender.run_once().outcomes == {"pending": 1}
    row = outbox(notice_id)
    assert row.attempts == 2 and "not delivered" in (row.last_error or "")

    sender.adapter = wechat  # WeChat is back
    clock.advance(hours=1)
    assert sender.run_once().outcomes == {"sent": 1}
    assert len(messages(wechat_sim, parent.openid)) == 1


def test_a_timeout_waiting_for_wechat_is_uncertain_and_never_sent_again(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result", "review_result")
    # WeChat takes longer than our 1 s timeout, then delivers anyway.
    wechat_sim.fault("subscribe_send", delay=1.5)
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    sender, clock = make_sender(app)

    assert sender.run_once().outcomes == {"uncertain": 1}

    row = outbox(notice_id)
    assert row.status is NoticeStatus.UNCERTAIN and row.sent_at is not None
    assert row.last_error and "outcome unknown" in row.last_error
    deadline = time.monotonic() + 5
    while not messages(wechat_sim, parent.openid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    clock.advance(days=1)
    assert sender.run_once().claimed == 0
    assert len(messages(wechat_sim, parent.openid)) == 1


def test_a_sender_dying_between_the_answer_and_the_record_never_sends_again(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result", "review_result")
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    dying, _clock = make_sender(app)

    def die(_notice_id: int) -> None:
        raise SenderKilled

    dying.after_answer = die
    with pytest.raises(SenderKilled):
        dying.run_once()

    # WeChat delivered it; the outbox only knows the send had started.
    assert len(messages(wechat_sim, parent.openid)) == 1
    row = outbox(notice_id)
    assert row.status is NoticeStatus.SENDING and row.sending_at is not None

    survivor, clock = make_sender(app)
    assert survivor.run_once().claimed == 0  # still within the timeout: left alone
    clock.advance(seconds=survivor.settings.sending_timeout_seconds + 1)
    assert survivor.run_once().claimed == 0
    row = outbox(notice_id)
    assert row.status is NoticeStatus.UNCERTAIN and row.sent_at == row.sending_at
    assert row.last_error and "sender stopped" in row.last_error
    clock.advance(days=1)
    assert survivor.run_once().claimed == 0
    assert len(messages(wechat_sim, parent.openid)) == 1
    # The family still finds it in the inbox.
    inbox = client.get("/api/v1/me/notices", headers=bearer(parent.token)).get_json()
    assert [item["id"] for item in inbox["items"]] == [notice_id]


def test_a_claim_whose_sender_died_before_sending_goes_back_and_is_sent_once(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result")
    notice_id = notify(parent.user_id, "review_result", REVIEW)
    dead, _clock = make_sender(app)
    token, claimed = dead.claim()  # ... and the process ends here
    assert [c.id for c in claimed] == [notice_id]
    assert outbox(notice_id).status is NoticeStatus.SENDING

    survivor, clock = make_sender(app)
    assert survivor.run_once().claimed == 0
    clock.advance(seconds=survivor.settings.sending_timeout_seconds + 1)
    assert survivor.run_once().outcomes == {"sent": 1}
    # Should the first sender wake up after all, the claim is no longer its own.
    assert dead.deliver(token, claimed[0]) is NoticeStatus.PENDING
    assert len(messages(wechat_sim, parent.openid)) == 1
    assert outbox(notice_id).status is NoticeStatus.SENT


def test_a_stopping_sender_gives_back_what_it_did_not_start(
        app: Flask, client: FlaskClient, session: Session, wechat_sim: Simulator,
        login_parent: Login) -> None:
    parent = log_in(login_parent)
    subscribe(client, wechat_sim, parent, "review_result", "review_result")
    first = notify(parent.user_id, "review_result", REVIEW)
    second = notify(parent.user_id, "review_result", REVIEW)
    sender, _clock = make_sender(app)
    sender.after_answer = lambda _id: sender.stop()

    assert sender.run_once().outcomes == {"sent": 1}

    assert outbox(first).status is NoticeStatus.SENT
    row = outbox(second)
    assert row.status is NoticeStatus.PENDING and row.claimed_by is None
