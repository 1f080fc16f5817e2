"""PostgreSQL stopped hard and started again while the worker drains: nothing lost, nothing
doubled.

The database is a cluster of the test's own (Debian's PostgreSQL 15 binaries on a free port),
so it can really go away: `pg_ctl stop -m immediate` cuts every connection and skips the
checkpoint, like a crash; the machine's shared cluster is never touched. The worker runs as
the product runs it (`python -m backend.worker`). Submissions keep being queued while the
database is down; after the restart every one is a registration, once, with its history
and its notice.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask

from backend.core.db import db
from tests.databases import bound_database
from tests.integration._intake_support import (
    RedisServer,
    app_redis,
    backlog,
    build_world,
    committed_registrations,
    dead_letters,
    pending,
    queue_all,
    ticket_states,
    wait_for,
    written,
)
from tests.integration._processes import postgres_cluster, process_group, worker_process

BEFORE = 800  # queued before the drain starts
DURING = 200  # queued while PostgreSQL is down
OUTAGE_SECONDS = 3.0


@pytest.mark.slow  # ~15 s: a cluster of its own, a worker process, a 3 s outage
def test_postgresql_stopped_and_started_during_a_drain_loses_and_doubles_nothing(
    app: Flask, tmp_path: Path
) -> None:
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis").start()
    try:
        with postgres_cluster() as cluster, bound_database(cluster.url) as engine, \
                process_group() as processes, app.app_context(), \
                app_redis(server.client()):
            first = build_world(BEFORE, per_family=20)
            later = build_world(DURING, per_family=20)  # their families exist beforehand
            db.session.commit()
            tickets = queue_all(first)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("REDIS_")},
                "APP_ENV": "test", "DATABASE_URL": cluster.url, "REDIS_URL": server.url,
                "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"], "PYTHONUNBUFFERED": "1",
            }
            # Small batches, so that the stop lands in the middle of the drain.
            worker = worker_process(processes, env, "drainer", tmp_path / "worker.log",
                                    batch_size=10)
            wait_for(lambda: committed_registrations(engine, first.season_id) > 0, 60,
                     "the first registrations")

            cluster.stop("immediate")
            assert backlog() > 0, "the drain was over before PostgreSQL stopped"
            # The intake needs only Redis: families keep submitting during the outage.
            tickets += queue_all(later)
            time.sleep(OUTAGE_SECONDS)
            assert worker.poll() is None, "the worker died with the database"
            assert dead_letters() == []  # nobody's submission is blamed for the outage
            cluster.start()

            wait_for(lambda: backlog() == 0 and pending() == 0, 60, "the drain to finish",
                     every=0.1)
            assert worker.poll() is None
            assert dead_letters() == []
            for world, count in ((first, BEFORE), (later, DURING)):
                outcome = written(world.season_id)
                assert outcome.registrations == outcome.distinct_tickets == count
                assert outcome.distinct_children == count
                assert outcome.events == outcome.notices == count
            states = ticket_states(tickets)
            assert Counter(s.get(b"state") for s in states.values()) == {
                b"accepted": BEFORE + DURING}
    finally:
        server.kill()
