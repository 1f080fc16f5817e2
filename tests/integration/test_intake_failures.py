"""The registration intake when things go wrong: crashes, outages, poison, overload, races.

Issue 4, "Done when": a 202 is a promise (Redis SIGKILLed after a burst), a worker killed
mid-batch, the database away for a while, a poison message, SIGTERM during a batch,
queue-full backpressure and 50 concurrent submits for one child. Every wait is bounded.
"""

from __future__ import annotations

import io
import json
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.core.db import db, make_engine
from backend.core.jobs import INTAKE
from backend.core.redis import redis_store
from backend.core.sessions import create_session
from backend.registrations import catalog, facts, intake
from backend.seasons.models import Season
from tests.conftest import bearer
from tests.databases import private_database
from tests.factories import STAFF_PASSWORD, make_authority, make_staff
from tests.integration._intake_support import (
    Family,
    RedisServer,
    World,
    app_redis,
    backlog,
    build_world,
    committed_registrations,
    dead_letters,
    drain,
    payload,
    pending,
    png_bytes,
    queue_all,
    queued_tickets,
    ticket_states,
    wait_for,
    worker,
    worker_process,
    written,
    xadd,
)

SUBMIT = "registration.submit"


@pytest.fixture(autouse=True)
def _fresh_intake_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees its own schools and seasons, and re-checks Redis durability."""
    catalog.clear()
    monkeypatch.setattr(intake, "_durable_until", 0.0)
    yield
    catalog.clear()


@contextmanager
def configured(app: Flask, **values: Any) -> Iterator[None]:
    """Change the app's settings for a while (the app is shared by the whole run)."""
    saved = {name: app.config[name] for name in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def log_in(world: World) -> None:
    """Give every family a parent session (in whichever Redis the app uses now)."""
    for family in world.families:
        family.token = create_session(family.user_id, "parent", 3600)


def submit(client: FlaskClient, world: World, family: Family, child_id: int,
           key: str) -> Any:
    """POST a hukou registration of one child, as the mini-program does."""
    return client.post("/api/v1/registrations", json={
        "child_id": child_id, "school_code": world.school_code, "basis": "hukou",
        "upload_ids": [family.upload_id],
    }, headers={**bearer(family.token), "Idempotency-Key": key})


def intake_keys(pattern: str) -> list[bytes]:
    """The app's Redis keys under the intake's hash tag matching `pattern`."""
    return list(redis_store.client.scan_iter(match=intake.intake_key(pattern), count=1000))


# --- 1. a 202 is a promise -------------------------------------------------------------


def test_every_acknowledged_submission_survives_a_redis_sigkill(
    app: Flask, client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    """A burst of 202s, then redis-server is SIGKILLed: after a restart every one is there.

    Redis runs with appendonly and appendfsync always (what INTAKE_DURABILITY=aof demands);
    the worker then turns every acknowledged submission into a registration.
    """
    burst = 200
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis").start()
    try:
        with configured(app, INTAKE_DURABILITY="aof"):
            with app_redis(server.client()):
                world = build_world(burst, per_family=10, with_uploads=False)
                log_in(world)
                for family in world.families:  # each parent photographs the 户口簿 once
                    uploaded = client.post(
                        "/api/v1/uploads", headers=bearer(family.token),
                        data={"kind": "hukou_book", "file": (io.BytesIO(png_bytes()), "h.png")},
                        content_type="multipart/form-data")
                    assert uploaded.status_code == 201, uploaded.get_json()
                    family.upload_id = uploaded.get_json()["upload_id"]
                tickets: dict[int, str] = {}
                for family, child_id in world.children():
                    response = submit(client, world, family, child_id, f"burst-key-{child_id}")
                    assert response.status_code == 202, response.get_json()
                    assert response.get_json()["state"] == "queued"
                    tickets[child_id] = response.get_json()["ticket"]
                server.kill()  # no shutdown, no final write: only what was fsynced survives

            server.start()
            with app_redis(server.client()):
                assert backlog() == burst
                states = ticket_states(list(tickets.values()))
                assert {s.get(b"state") for s in states.values()} == {b"queued"}
                # The idempotency keys survived too: a client retrying gets the same ticket.
                family, child_id = next(world.children())
                retry = submit(client, world, family, child_id, f"burst-key-{child_id}")
                assert retry.status_code == 202
                assert retry.get_json()["ticket"] == tickets[child_id]

                drain(worker())
                outcome = written(world.season_id)
                assert outcome.registrations == outcome.events == outcome.notices == burst
                assert outcome.tickets == set(tickets.values())
                states = ticket_states(list(tickets.values()))
                assert {s.get(b"state") for s in states.values()} == {b"accepted"}
    finally:
        server.kill()


@pytest.mark.parametrize(("appendonly", "appendfsync"), [(False, "always"), (True, "everysec")],
                         ids=["no-aof", "fsync-everysec"])
def test_the_intake_refuses_when_redis_could_lose_a_submission(
    app: Flask, client: FlaskClient, session: Session, tmp_path: Path,
    appendonly: bool, appendfsync: str,
) -> None:
    """INTAKE_DURABILITY=aof on a Redis that may lose writes: 503, and nothing is queued."""
    server = RedisServer(tmp_path, appendonly=appendonly, appendfsync=appendfsync).start()
    try:
        with configured(app, INTAKE_DURABILITY="aof"), app_redis(server.client()):
            world = build_world(1)
            log_in(world)
            family, child_id = next(world.children())
            response = submit(client, world, family, child_id, "not-durable-1")
            assert response.status_code == 503
            assert response.get_json()["error"]["code"] == "INTAKE_NOT_DURABLE"
            assert response.headers["Retry-After"]
            assert backlog() == 0
            assert intake_keys("ticket:*") == []
            assert not redis_store.client.exists(
                intake.intake_key("idem", family.user_id, "not-durable-1"),
                intake.child_holder_key(world.season_id, child_id))
    finally:
        server.kill()


# --- 2. a worker killed with SIGKILL mid-batch ------------------------------------------


@pytest.mark.slow  # waits for a worker process to die and another to finish: ~3.5 s
def test_a_worker_killed_mid_batch_leaves_every_message_persisted_exactly_once(
    app: Flask, tmp_path: Path
) -> None:
    """SIGKILL a worker process while it drains 2,000 submissions; another reclaims the rest.

    Messages the dead worker read but never acknowledged (some perhaps already committed)
    are reclaimed with XAUTOCLAIM; the unique ticket makes a second delivery write nothing.
    """
    count = 2000
    with private_database(tmp_path, "intake") as (url, engine), app.app_context():
        world = build_world(count, per_family=20)
        db.session.commit()
        tickets = queue_all(world)
        # Small batches: the kill lands mid-run, never after the last one.
        process = worker_process(app.config, url, "doomed", 10, tmp_path / "doomed.log")
        try:
            wait_for(lambda: committed_registrations(engine, world.season_id) > 0, 60,
                     "the first registrations")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        at_kill = committed_registrations(engine, world.season_id)
        assert 0 < at_kill < count, f"the worker was not killed mid-run ({at_kill} written)"

        drain(worker("survivor", claim_idle_ms=0, claim_every_s=0), timeout=120)
        db.session.commit()
        outcome = written(world.season_id)
        assert outcome.registrations == outcome.distinct_tickets == count
        assert outcome.events == outcome.notices == count
        assert outcome.tickets == set(tickets)
        assert pending() == 0 and dead_letters() == []
        states = ticket_states(tickets)
        assert Counter(s.get(b"state") for s in states.values()) == {b"accepted": count}


def test_a_batch_committed_but_never_acknowledged_is_not_written_twice(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash window between COMMIT and XACK: the redelivered batch writes nothing new."""
    world = build_world(20)
    tickets = queue_all(world)
    first = worker("crashes-after-commit")

    def redis_gone(*_args: Any, **_kwargs: Any) -> None:
        raise redis.ConnectionError("connection lost after the commit")

    monkeypatch.setattr("backend.registrations.intake.ticket_key", redis_gone)
    with pytest.raises(redis.ConnectionError):
        first.run_once()
    monkeypatch.undo()
    assert written(world.season_id).registrations == 20  # committed …
    assert pending() == 20  # … but not acknowledged

    drain(worker("reclaimer", claim_idle_ms=0, claim_every_s=0))
    outcome = written(world.season_id)
    assert outcome.registrations == outcome.events == outcome.notices == 20
    states = ticket_states(tickets)
    assert {s.get(b"state") for s in states.values()} == {b"accepted"}


def test_after_a_redis_outage_a_worker_takes_up_its_own_unacknowledged_messages_at_once(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failover between COMMIT and XACK: the promoted replica still lists the batch as this
    worker's; the worker's next round handles it, not the reclaim a minute later."""
    world = build_world(20)
    tickets = queue_all(world)
    failing_over = worker("fails-over")  # default claim_idle_ms (60 s) and claim_every_s

    def redis_gone(*_args: Any, **_kwargs: Any) -> None:
        raise redis.ConnectionError("the primary died")

    monkeypatch.setattr("backend.registrations.intake.ticket_key", redis_gone)
    with pytest.raises(redis.ConnectionError):
        failing_over.run_once()
    monkeypatch.undo()
    assert pending() == 20

    assert failing_over.run_once() == 20
    assert pending() == backlog() == 0
    outcome = written(world.season_id)
    assert outcome.registrations == outcome.events == outcome.notices == 20
    states = ticket_states(tickets)
    assert {s.get(b"state") for s in states.values()} == {b"accepted"}


# --- 3. the database unavailable for a while --------------------------------------------


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every new ORM session talks to a server that is not there."""
    dead_engine = make_engine("postgresql://nobody@127.0.0.1:9/none")
    saved = db.session_factory.kw["bind"]
    db.session_factory.configure(bind=dead_engine)
    try:
        yield
    finally:
        db.session_factory.configure(bind=saved)
        dead_engine.dispose()


def test_submissions_are_accepted_while_the_database_is_away_and_drained_after(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """With warm caches the intake needs only Redis; the worker waits, blames no one, drains."""
    world = build_world(7, per_family=7)
    log_in(world)
    family = world.families[0]
    first, *others, cold = family.child_ids
    # Before the outage: one submission warms the school and season caches, and the
    # other children's facts are cached as an earlier visit would have cached them.
    assert submit(client, world, family, first, "before-outage").status_code == 202
    with app.test_request_context():
        for child_id in others:
            assert facts.child(child_id) is not None

    survivor = worker(claim_idle_ms=0, claim_every_s=0, max_deliveries=2)
    # TTL 0: the catalog reloads on every request, fails, and falls back to its last copy.
    with configured(app, INTAKE_CATALOG_TTL_SECONDS=0), database_unreachable():
        tickets = []
        for child_id in others:
            response = submit(client, world, family, child_id, f"outage-key-{child_id}")
            assert response.status_code == 202, response.get_json()
            tickets.append(response.get_json()["ticket"])
        # A child never seen before cannot be checked: a clean 503, not an error page.
        refused = submit(client, world, family, cold, f"outage-key-{cold}")
        assert refused.status_code == 503, refused.get_json()
        assert refused.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert refused.headers["Retry-After"]

        for _ in range(4):  # more attempts than max_deliveries: still nobody's fault
            survivor.run_once()
        assert dead_letters() == []
        assert backlog() == pending() == len(others) + 1
        assert written(world.season_id).registrations == 0

    drain(survivor)  # the database is back
    outcome = written(world.season_id)
    assert outcome.registrations == outcome.notices == len(others) + 1
    states = ticket_states(tickets)
    assert {s.get(b"state") for s in states.values()} == {b"accepted"}


def test_the_worker_resumes_promptly_when_the_database_returns(session: Session) -> None:
    """With default reclaim settings, what was read during the outage is retried at once."""
    world = build_world(20)
    queue_all(world)
    patient = worker()  # default claim_idle_ms / claim_every_s
    with database_unreachable():
        patient.run_once()
    assert pending() == 20
    wait_for(lambda: patient.run_once() >= 0 and backlog() == 0, 3, "the drain", every=0.05)


# --- 4. poison messages -------------------------------------------------------------------


def test_poison_messages_are_dead_lettered_and_the_good_ones_still_registered(
    session: Session,
) -> None:
    """Not JSON: dead at once; missing fields: dead after max_deliveries; both with a reason.

    A submission the re-check rejects (the child no longer exists) is not poison: its
    ticket ends "rejected" with a code, and it never reaches the dead-letter stream.
    """
    world = build_world(5)
    tickets = queue_all(world)
    family = world.families[0]
    garbled = xadd({"type": SUBMIT, "payload": "{this is not json"})
    truncated = xadd({"type": SUBMIT, "payload": json.dumps({"ticket": "Ttruncated0001"})})
    ghost = {**payload(world, family, child_id=2_000_000_000), "ticket": "Tghostchild0001"}
    xadd({"type": SUBMIT, "payload": json.dumps(ghost)})

    drain(worker(claim_idle_ms=0, claim_every_s=0, max_deliveries=3), timeout=30)

    outcome = written(world.season_id)
    assert outcome.registrations == 5 and outcome.tickets == set(tickets)
    reasons = {fields[b"original_id"].decode(): fields[b"reason"].decode()
               for _mid, fields in dead_letters()}
    assert reasons == {garbled: "payload is not JSON", truncated: "KeyError"}
    ghost_state = ticket_states([ghost["ticket"]])[ghost["ticket"]]
    assert ghost_state[b"state"] == b"rejected"
    assert ghost_state[b"error_code"] == b"CHILD_NOT_FOUND"
    assert pending() == 0 and backlog() == 0


def test_an_admin_sees_a_dead_letter_and_replays_it_once_the_cause_is_fixed(
    client: FlaskClient, session: Session,
    login_staff: Callable[[str, str], dict[str, Any]],
) -> None:
    """A submission that kept failing (a bug, since fixed) is listed with its reason and,
    replayed by an admin, becomes a registration like the others."""
    world = build_world(3)
    tickets = queue_all(world)
    unlucky_child = world.families[0].child_ids[0]
    real = worker().batch_handlers[SUBMIT]

    def buggy(db_session: Session, items: list[tuple[str, dict[str, Any]]],
              effects: list[Callable[[], None]]) -> None:
        if any(p["child_id"] == unlucky_child for _mid, p in items):
            raise RuntimeError("a bug, fixed in the next release")
        real(db_session, items, effects)

    broken = worker("broken", claim_idle_ms=0, claim_every_s=0, max_deliveries=2)
    broken.batch_handlers = {SUBMIT: buggy}
    drain(broken, timeout=30)
    assert written(world.season_id).registrations == 2

    season = db.session.get(Season, world.season_id)
    assert season is not None
    make_staff(season.authority, username="intake-admin")
    make_staff(make_authority(), username="other-county-admin")
    admin = bearer(login_staff("intake-admin", STAFF_PASSWORD)["token"])
    other = bearer(login_staff("other-county-admin", STAFF_PASSWORD)["token"])
    listed = client.get("/api/v1/admin/dead-letters", headers=admin)
    assert listed.status_code == 200
    [letter] = listed.get_json()["items"]
    assert letter["stream"] == INTAKE and letter["type"] == SUBMIT
    assert letter["reason"] == "RuntimeError" and letter["original_id"]
    assert letter["attempts"] == 2 and letter["scope"] == "authority"
    assert letter["ids"]["season_id"] == str(world.season_id)
    # Another county's bureau neither sees nor replays it.
    assert client.get("/api/v1/admin/dead-letters", headers=other).get_json()["items"] == []
    assert client.post(f"/api/v1/admin/dead-letters/%7Bintake%7D/{letter['id']}/replay",
                       headers=other).status_code == 404

    replayed = client.post(f"/api/v1/admin/dead-letters/%7Bintake%7D/{letter['id']}/replay",
                           headers=admin)
    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.get_json()["stream"] == INTAKE
    assert client.get("/api/v1/admin/dead-letters", headers=admin).get_json()["items"] == []
    assert backlog() == 1

    drain(worker("fixed"))
    outcome = written(world.season_id)
    assert outcome.registrations == 3 and outcome.tickets == set(tickets)
    assert dead_letters() == []


# --- 5. SIGTERM during a batch -------------------------------------------------------------


@pytest.mark.slow  # a worker process stopped mid-batch and drained: ~4 s
def test_sigterm_during_a_batch_finishes_it_and_loses_nothing(
    app: Flask, tmp_path: Path
) -> None:
    """The worker stops cleanly on SIGTERM: it exits 0 and what it read is committed and
    acknowledged (nothing left pending, nothing both written and queued); a second worker
    finishes the backlog, and the total is exactly one registration per submission."""
    count = 2000
    log = tmp_path / "graceful.log"
    with private_database(tmp_path, "intake") as (url, engine), app.app_context():
        world = build_world(count, per_family=20)
        db.session.commit()
        tickets = queue_all(world)
        process = worker_process(app.config, url, "graceful", 50, log)
        try:
            wait_for(lambda: committed_registrations(engine, world.season_id) > 0, 60,
                     "the first registrations")
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        output = log.read_text()
        assert process.returncode == 0, output
        assert "worker stopped name=graceful" in output

        db.session.commit()
        before = written(world.season_id)
        still_queued = queued_tickets()
        assert 0 < before.registrations < count, "SIGTERM did not arrive mid-run"
        assert f"processed={before.registrations}" in output
        assert before.registrations == before.distinct_tickets  # none doubled
        assert pending() == 0  # the batch in hand was finished and acknowledged
        assert before.tickets.isdisjoint(still_queued)
        assert before.tickets | still_queued == set(tickets)  # none lost

        drain(worker("finisher"), timeout=120)
        db.session.commit()
        after = written(world.season_id)
        assert after.registrations == after.distinct_tickets == count
        assert after.events == after.notices == count
        assert after.tickets == set(tickets)
        assert dead_letters() == []


# --- 6. queue-full backpressure --------------------------------------------------------------


def test_a_full_queue_answers_503_and_writes_nothing_then_recovers(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """Past INTAKE_MAX_BACKLOG: 503 QUEUE_FULL with Retry-After, no half-written submission."""
    world = build_world(4, per_family=4)
    log_in(world)
    family = world.families[0]
    *accepted, fourth = family.child_ids
    with configured(app, INTAKE_MAX_BACKLOG=3):
        for child_id in accepted:
            response = submit(client, world, family, child_id, f"full-key-{child_id}")
            assert response.status_code == 202, response.get_json()
        refused = submit(client, world, family, fourth, f"full-key-{fourth}")
        assert refused.status_code == 503
        assert refused.get_json()["error"]["code"] == "QUEUE_FULL"
        assert refused.headers["Retry-After"] == str(app.config["INTAKE_RETRY_AFTER"])
        assert backlog() == 3
        assert len(intake_keys("ticket:*")) == 3
        assert not redis_store.client.exists(
            intake.intake_key("idem", family.user_id, f"full-key-{fourth}"),
            intake.child_holder_key(world.season_id, fourth))

        drain(worker())
        again = submit(client, world, family, fourth, f"full-key-{fourth}")
        assert again.status_code == 202, again.get_json()
    drain(worker())
    assert written(world.season_id).registrations == 4


# --- 7. fifty concurrent submissions for one child -----------------------------------------


def test_fifty_concurrent_submits_for_one_child_queue_exactly_one(
    app: Flask, session: Session
) -> None:
    """50 threads run the atomic Redis step at once, each with its own key: one queued."""
    world = build_world(1)
    family, child_id = next(world.children())
    holder = intake.child_holder_key(world.season_id, child_id)
    start = threading.Barrier(50)

    def attempt(n: int) -> tuple[str, str]:
        body = payload(world, family, child_id)
        with app.app_context():
            start.wait(timeout=10)
            return intake.queue_submission(
                intake.intake_key("idem", family.user_id, f"race-{n}"), holder,
                body["ticket"], json.dumps(body), family.user_id)

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert Counter(outcome for outcome, _value in outcomes) == {"queued": 1, "conflict": 49}
    winner = next(value for outcome, value in outcomes if outcome == "queued")
    assert {value for _outcome, value in outcomes} == {winner}  # conflicts name the winner
    assert backlog() == 1


def test_fifty_queued_submissions_for_one_child_make_one_registration(
    app: Flask, tmp_path: Path
) -> None:
    """50 messages for one child reach the stream anyway; two workers race to write them.

    The partial unique index decides: one registration, 49 tickets rejected with
    ALREADY_REGISTERED. Each worker thread has its own database connection.
    """
    with private_database(tmp_path, "intake") as (_url, _engine), app.app_context():
        world = build_world(1)
        db.session.commit()
        family, child_id = next(world.children())
        tickets = []
        for _ in range(50):
            body = payload(world, family, child_id)
            xadd({"type": SUBMIT, "payload": json.dumps(body)})
            tickets.append(body["ticket"])

        # A batch that loses a write race to the database (SQLite: "database is locked")
        # stays pending; a short claim_idle_ms lets the racers pick it up again quickly.
        racers = [worker(f"racer-{n}", batch_size=5, claim_idle_ms=300, claim_every_s=0.1)
                  for n in range(2)]
        threads = [threading.Thread(target=racer.run) for racer in racers]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: backlog() == 0, 60, "the workers to drain", every=0.02)
        finally:
            for racer in racers:
                racer.stop()
            for thread in threads:
                thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
        assert all(racer.processed > 0 for racer in racers), "one worker did all the work"

        db.session.commit()
        outcome = written(world.season_id)
        assert outcome.registrations == 1
        [winner] = outcome.tickets
        states = ticket_states(tickets)
        assert states.pop(winner)[b"state"] == b"accepted"
        assert Counter((s[b"state"], s[b"error_code"]) for s in states.values()) == {
            (b"rejected", b"ALREADY_REGISTERED"): 49}

