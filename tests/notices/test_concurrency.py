"""Senders in parallel and the worker process: every notice committed is sent exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from backend.accounts.models import Role, User
from backend.core.db import db
from backend.notices.models import Notice, NoticeStatus, SubscriptionCredit
from backend.notices.sender import Claimed, NoticeSender
from backend.notices.services import add_notices_bulk
from tests.conftest import TEST_APPID, TEST_SECRET, Simulator
from tests.databases import private_database
from tests.notices._support import REVIEW, make_sender, messages


class RecordingSender(NoticeSender):
    """A sender that remembers which notices it claimed."""

    claimed_ids: list[int]

    def claim(self) -> tuple[str, list[Claimed]]:
        token, batch = super().claim()
        self.claimed_ids.extend(notice.id for notice in batch)
        return token, batch


def _families(sim: Simulator, count: int) -> list[int]:
    """Parents WeChat knows, each with one credit here and at WeChat; their user ids."""
    users = [User(role=Role.PARENT, openid=f"o-par-{uuid.uuid4().hex[:16]}")
             for _ in range(count)]
    db.session.add_all(users)
    db.session.flush()
    for user in users:
        assert user.openid is not None
        sim.login_code(user.openid)
        sim.post("/sim/subscribe", openid=user.openid, template_id="TPL_REVIEW_RESULT")
        db.session.add(SubscriptionCredit(user_id=user.id, template_key="review_result",
                                          credits=1))
    db.session.commit()
    return [user.id for user in users]


def _statuses() -> dict[NoticeStatus, int]:
    db.session.expire_all()
    return {status: count for status, count in db.session.execute(
        select(Notice.status, func.count(Notice.id)).group_by(Notice.status))}


def test_two_senders_in_parallel_never_send_one_notice_twice(
        app: Flask, wechat_sim: Simulator, tmp_path: Path) -> None:
    with private_database(tmp_path, "notices"), app.app_context():
        user_ids = _families(wechat_sim, 40)
        add_notices_bulk(db.session, [
            {"user_id": user_id, "template_key": "review_result", "data": REVIEW,
             "dedupe_key": f"parallel:{n}", "page": f"pages/notices/index?n={n}"}
            for n, user_id in enumerate(user_ids)])
        db.session.commit()
        db.session.remove()

        senders = []
        for _ in range(2):
            sender, _clock = make_sender(app, batch_size=3)
            recording = RecordingSender(sender.settings, name=sender.name)
            recording.claimed_ids = []
            senders.append(recording)
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(sender: RecordingSender) -> None:
            try:
                start.wait(timeout=10)
                while sender.run_once().claimed:
                    pass
            except BaseException as exc:  # reported to the test below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []

        first, second = (set(s.claimed_ids) for s in senders)
        assert first.isdisjoint(second)
        assert len(first) + len(second) == 40
        assert _statuses() == {NoticeStatus.SENT: 40}
        pages = [m["page"] for m in messages(wechat_sim)]
        assert sorted(pages) == sorted(f"pages/notices/index?n={n}" for n in range(40))


@pytest.mark.slow  # starts and stops a worker process: ~3.5 s
def test_the_worker_process_runs_the_sender_and_stops_cleanly(
        app: Flask, wechat_sim: Simulator, tmp_path: Path) -> None:
    with private_database(tmp_path, "notices") as (url, _engine), app.app_context():
        [user_id] = _families(wechat_sim, 1)
        env = {
            **os.environ, "APP_ENV": "test", "DATABASE_URL": url,
            "REDIS_URL": app.config["REDIS_URL"],
            "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"],
            "WECHAT_APPID": TEST_APPID, "WECHAT_SECRET": TEST_SECRET,
            "WECHAT_API_BASE_URL": wechat_sim.base_url, "NOTICE_SENDER_POLL_SECONDS": "0.1",
            "PYTHONUNBUFFERED": "1",
        }
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "backend.worker", "--name", "notice-test"],
                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            add_notices_bulk(db.session, [{"user_id": user_id, "template_key": "review_result",
                                           "data": REVIEW, "dedupe_key": "worker:1"}])
            db.session.commit()
            deadline = time.monotonic() + 60
            while not messages(wechat_sim):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        assert _statuses() == {NoticeStatus.SENT: 1}
        assert len(messages(wechat_sim)) == 1
