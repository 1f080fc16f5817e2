"""Redis Sentinel failover in the middle of a burst: every 202 is registered exactly once.

A primary, one replica and three Sentinels (the machine's redis-server 7.0, started here on
free ports). The API runs under gunicorn and the worker as `python -m backend.worker`, both
configured with REDIS_SENTINELS and INTAKE_DURABILITY=wait (WAIT 1). Families submit over
HTTP; the primary is SIGKILLed mid-burst; the replica is promoted; the dead node comes back
empty and Sentinel makes it the new replica. Clients retry every 503 with the same
Idempotency-Key until they get 202. The database then holds exactly one registration per
child that got a 202, under the ticket that 202 gave: none missing, none doubled.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import select

from backend.core.db import db
from backend.core.redis import connect_sentinel, redis_store
from backend.core.sessions import create_session
from backend.registrations.models import Registration
from tests.databases import private_database
from tests.integration._intake_support import (
    World,
    app_redis,
    backlog,
    build_world,
    dead_letters,
    free_port,
    pending,
    ticket_states,
    wait_for,
)
from tests.integration._processes import (
    SENTINEL_MASTER,
    RedisWithSentinels,
    api_process,
    process_group,
    wait_until_serving,
    worker_process,
)

CHILDREN = 240
CLIENTS = 8
RETRY_PAUSE = 0.2  # the test's clients come back sooner than Retry-After says, to stay short


@dataclass
class Burst:
    """What the clients saw: each child's 202 ticket and every refusal on the way."""

    tickets: dict[int, str] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit_until_accepted(base_url: str, token: str, world: World, child_id: int,
                          upload_id: str, burst: Burst, deadline: float) -> None:
    """One family's phone: the same Idempotency-Key until a 202, whatever happens between."""
    key = f"failover-{child_id}"
    body = {"child_id": child_id, "school_code": world.school_code, "basis": "hukou",
            "upload_ids": [upload_id]}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    while True:
        assert time.monotonic() < deadline, f"child {child_id} never got a 202"
        try:
            response = requests.post(base_url + "api/v1/registrations", json=body,
                                     headers=headers, timeout=15)
        except requests.RequestException as exc:  # the server itself is never killed here
            raise AssertionError(f"the API did not answer: {exc!r}") from exc
        if response.status_code == 202:
            with burst.lock:
                burst.tickets[child_id] = response.json()["ticket"]
            return
        # Anything but "come back later" would be a bug the family could not get out of.
        assert response.status_code == 503, (response.status_code, response.text)
        assert int(response.headers["Retry-After"]) > 0
        with burst.lock:
            burst.refusals[response.json()["error"]["code"]] += 1
        time.sleep(RETRY_PAUSE)


def staff_login_answers(base_url: str) -> int:
    """A wrong password on a route flask-limiter counts in Redis: 401 while Redis works."""
    return requests.post(base_url + "api/v1/auth/staff-login", timeout=15,
                         json={"username": "nobody-here", "password": "not-the-password"}
                         ).status_code


@pytest.mark.slow  # ~30 s: sentinels meeting, the failover, the dead node rejoining
def test_every_202_is_registered_exactly_once_across_a_sentinel_failover(
    app: Flask, tmp_path: Path
) -> None:
    # Left in reverse: the processes are killed before their database schema is dropped.
    with private_database(tmp_path, "failover") as (database_url, _engine), \
            process_group() as processes, app.app_context():
        redis_group = RedisWithSentinels(processes, tmp_path / "redis").start()

        def sentinel_client() -> redis.Redis:
            return connect_sentinel(redis_group.addresses, SENTINEL_MASTER,
                                    redis_group.password, redis_group.sentinel_password)

        world = build_world(CHILDREN, per_family=10)
        db.session.commit()
        with app_redis(sentinel_client()):
            tokens = {f.user_id: create_session(f.user_id, "parent", 3600)
                      for f in world.families}

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("REDIS_")},
            "APP_ENV": "test", "DATABASE_URL": database_url,
            "REDIS_SENTINELS": redis_group.setting, "REDIS_SENTINEL_MASTER": SENTINEL_MASTER,
            "REDIS_PASSWORD": redis_group.password,
            "REDIS_SENTINEL_PASSWORD": redis_group.sentinel_password,
            "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"],
            "INTAKE_DURABILITY": "wait", "INTAKE_WAIT_REPLICAS": "1",
            # Retries count against the limits, and every family here shares one address.
            "SUBMIT_LIMIT_PER_CALLER": "1000/minute", "SUBMIT_LIMIT_PER_ADDRESS": "100000/minute",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "PYTHONUNBUFFERED": "1",
        }
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/"
        api_process(processes, env, port, tmp_path / "api.log")
        worker_process(processes, env, "failover-worker", tmp_path / "worker.log")
        wait_until_serving(base_url)
        assert staff_login_answers(base_url) == 401  # flask-limiter's storage: the primary

        burst = Burst()
        deadline = time.monotonic() + 90
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(submit_until_accepted, base_url, tokens[family.user_id],
                                   world, child_id, family.upload_id, burst, deadline)
                       for family, child_id in world.children()]
            wait_for(lambda: len(burst.tickets) >= CHILDREN // 3, 30, "the first 202s")
            redis_group.primary.kill()
            killed_after = len(burst.tickets)
            redis_group.wait_for_failover()
            # The dead node comes back empty, started as a replica of the primary Sentinel
            # names now (docs/DEPLOY.md: never as an empty primary); then WAIT 1 can be met
            # again.
            redis_group.primary.start(replica_of=redis_group.sentinels[0].master_port())
            redis_group.wait_for_replica(redis_group.primary)
            for future in futures:
                future.result(timeout=max(deadline - time.monotonic(), 1))

        assert killed_after < CHILDREN, "the primary was not killed mid-burst"
        assert len(burst.tickets) == CHILDREN
        # Until the promotion Redis was unreachable (SERVICE_UNAVAILABLE), then until a
        # replica was back nothing could be confirmed (INTAKE_NOT_CONFIRMED): the clients
        # were told to come back, and nothing else.
        assert sum(burst.refusals.values()) > 0, "no client noticed the failover"
        assert set(burst.refusals) <= {"INTAKE_NOT_CONFIRMED", "SERVICE_UNAVAILABLE"}
        assert staff_login_answers(base_url) == 401  # the limiter followed the failover

        with app_redis(sentinel_client()):
            # flask-limiter keeps its counts in the promoted primary too.
            assert list(redis_store.client.scan_iter(match="LIMITS:LIMITER/*"))
            wait_for(lambda: backlog() == 0 and pending() == 0, 30, "the worker to drain",
                     every=0.1)
            assert dead_letters() == []
            states = ticket_states(list(burst.tickets.values()))
            assert Counter(s.get(b"state") for s in states.values()) == {b"accepted": CHILDREN}

        db.session.expire_all()
        rows = db.session.execute(select(Registration.child_id, Registration.ticket).where(
            Registration.season_id == world.season_id)).all()
        assert len(rows) == CHILDREN  # none doubled …
        assert dict(rows) == burst.tickets  # … none missing, each under the ticket its 202 gave
