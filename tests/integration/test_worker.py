"""The queue worker: jobs after commit, batch processing, redelivery, dead letters, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent
from backend.core.db import db
from backend.core.jobs import DEAD_LETTER_STREAM, GROUP, enqueue, stream_key
from backend.core.redis import redis_store
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import Handler, load_handlers
from tests.factories import STAFF_PASSWORD, make_authority, make_staff


def _worker(handlers: dict[str, Handler] | None = None, **settings: Any) -> Worker:
    worker = Worker(handlers if handlers is not None else load_handlers(), name="test-worker",
                    settings=WorkerSettings(**{"block_ms": 10, "linger_ms": 0, **settings}))
    worker.ensure_group()
    return worker


def _pending() -> int:
    return int(redis_store.client.xpending(stream_key(), GROUP)["pending"])


def test_login_queues_an_audit_job_that_the_worker_writes(
    client: FlaskClient, session: Session
) -> None:
    authority = make_authority()
    staff = make_staff(authority, username="audited")
    worker = _worker()
    response = client.post("/api/v1/auth/staff-login",
                           json={"username": "audited", "password": STAFF_PASSWORD})
    assert response.status_code == 200
    assert redis_store.client.xlen(stream_key()) == 1
    assert worker.run_once() == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.login"))
    assert event is not None and event.actor_user_id == staff.id
    assert event.actor_role == "bureau_admin" and event.client_fingerprint
    # Acknowledged and removed: nothing pending, nothing left in the stream.
    assert _pending() == 0 and redis_store.client.xlen(stream_key()) == 0


def test_failed_login_is_audited_too(client: FlaskClient, session: Session) -> None:
    worker = _worker()
    client.post("/api/v1/auth/staff-login", json={"username": "ghost", "password": "nope-nope"})
    assert worker.run_once() == 1
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "staff.login_failed" in actions


def test_nothing_is_queued_when_the_request_fails(client: FlaskClient, session: Session) -> None:
    authority = make_authority()
    user = make_staff(authority, username="disabled-one")
    user.is_active = False
    db.session.flush()
    response = client.post("/api/v1/auth/staff-login",
                           json={"username": "disabled-one", "password": STAFF_PASSWORD})
    assert response.status_code == 403
    assert redis_store.client.xlen(stream_key()) == 0


def test_a_redelivered_job_is_written_once(session: Session) -> None:
    worker = _worker()
    enqueue("audit.record", {"action": "test.once"})
    message_id, fields = redis_store.client.xrange(stream_key())[0]
    worker.handle_batch([(message_id.decode(), fields)])
    worker.handle_batch([(message_id.decode(), fields)])
    count = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.once")).all()
    assert len(count) == 1


def test_unknown_job_type_goes_to_the_dead_letter_stream(session: Session) -> None:
    worker = _worker()
    enqueue("no.such.job", {"x": 1})
    assert worker.run_once() == 1
    dead = redis_store.client.xrange(stream_key(DEAD_LETTER_STREAM))
    assert len(dead) == 1
    assert dead[0][1][b"reason"].startswith(b"unknown job type")
    assert json.loads(dead[0][1][b"payload"]) == {"x": 1}
    assert _pending() == 0


def test_a_failing_job_is_retried_then_dead_lettered(session: Session) -> None:
    calls: list[str] = []

    def flaky(_session: Session, payload: dict[str, Any], message_id: str) -> None:
        calls.append(message_id)
        raise ValueError("cannot do it")

    worker = _worker({"flaky": flaky}, claim_idle_ms=0, claim_every_s=0, max_deliveries=3)
    enqueue("flaky", {})
    for _ in range(3):
        worker.run_once()
    assert len(calls) == 3
    dead = redis_store.client.xrange(stream_key(DEAD_LETTER_STREAM))
    assert [entry[1][b"reason"] for entry in dead] == [b"ValueError"]
    assert _pending() == 0


def test_a_good_job_commits_even_when_its_batch_mate_fails(session: Session) -> None:
    def broken(_session: Session, payload: dict[str, Any], message_id: str) -> None:
        raise RuntimeError("boom")

    handlers = {**load_handlers(), "broken": broken}
    worker = _worker(handlers, max_deliveries=1)
    enqueue("broken", {})
    enqueue("audit.record", {"action": "test.survivor"})
    assert worker.run_once() == 2
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "test.survivor")) is not None


def test_messages_left_by_a_dead_consumer_are_reclaimed(session: Session) -> None:
    worker = _worker(claim_idle_ms=0, claim_every_s=0)
    enqueue("audit.record", {"action": "test.orphan"})
    # Another consumer reads the message and dies before acknowledging it.
    redis_store.client.xreadgroup(GROUP, "dead-consumer", {stream_key(): ">"}, count=10)
    assert _pending() == 1
    assert worker.run_once() == 1
    assert _pending() == 0
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "test.orphan")) is not None


def test_two_workers_share_the_stream_without_doubling(session: Session) -> None:
    first, second = _worker(batch_size=5), _worker(batch_size=5)
    second.name = "test-worker-2"
    for n in range(10):
        enqueue("audit.record", {"action": f"test.shared.{n}"})
    assert first.run_once() + second.run_once() == 10
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("test.shared.%"))).all()
    assert sorted(actions) == sorted(f"test.shared.{n}" for n in range(10))


def test_stop_finishes_the_loop(session: Session) -> None:
    worker = _worker()
    thread = threading.Thread(target=worker.run)
    thread.start()
    enqueue("audit.record", {"action": "test.loop"})
    deadline = time.monotonic() + 10
    while worker.processed < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert worker.processed == 1


@pytest.fixture()
def committed_cleanup(app: Flask) -> Iterator[None]:
    """Remove what a worker process committed for real."""
    yield
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.action == "test.process"))
        db.session.commit()


def test_worker_process_stops_cleanly_on_sigterm(
    app: Flask, committed_cleanup: None
) -> None:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"],
    }
    with app.app_context():
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.worker", "--name", "proc-worker"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            enqueue("audit.record", {"action": "test.process"})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if redis_store.client.xlen(stream_key()) == 0:
                    break
                time.sleep(0.1)
            assert redis_store.client.xlen(stream_key()) == 0
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output
    assert "worker stopped name=proc-worker processed=1" in output


def test_a_database_outage_blames_no_job(app: Flask, session: Session) -> None:
    from backend.core.db import make_engine

    worker = _worker(claim_idle_ms=0, claim_every_s=0, max_deliveries=2)
    enqueue("audit.record", {"action": "test.outage"})
    dead_engine = make_engine("postgresql://nobody@127.0.0.1:9/none")
    saved_bind = db.session_factory.kw["bind"]
    db.session_factory.configure(bind=dead_engine)
    try:
        for _ in range(4):
            worker.run_once()
    finally:
        db.session_factory.configure(bind=saved_bind)
        dead_engine.dispose()
    # Still waiting, never dead-lettered: the job did nothing wrong.
    assert redis_store.client.xlen(stream_key(DEAD_LETTER_STREAM)) == 0
    assert _pending() == 1
    assert worker.run_once() == 1
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "test.outage")) is not None


def test_a_redis_outage_does_not_kill_the_worker(app: Flask) -> None:
    from backend.core.redis import connect

    worker = _worker()
    saved = redis_store._client
    redis_store._client = connect("redis://127.0.0.1:9/0")
    thread = threading.Thread(target=worker.run)
    try:
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()
    finally:
        redis_store._client = saved
        worker.stop()
        thread.join(timeout=35)
    assert not thread.is_alive()
