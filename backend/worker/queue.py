"""Putting jobs on the streams: only after the request's transaction has committed."""

from __future__ import annotations

import json
from typing import Any

from backend.core.db import after_commit
from backend.core.redis import redis_store

# Registrations have their own stream (and hash tag, so on a Redis Cluster every intake key
# lives on one node and the intake script stays atomic); everything else shares "jobs".
INTAKE = "{intake}"
JOBS = "jobs"
STREAMS = (INTAKE, JOBS)
DEAD_LETTER_STREAM = "jobs-dead"
GROUP = "workers"


def stream_key(name: str = JOBS) -> str:
    """The namespaced key of a stream."""
    return redis_store.key("stream", name)


def dead_letter_key(name: str = JOBS) -> str:
    """Where a stream's messages go when they keep failing."""
    return stream_key(f"{name}-dead")


def enqueue(job_type: str, payload: dict[str, Any], stream: str = JOBS) -> str:
    """Append a job to a stream now; returns the stream id."""
    message_id = redis_store.client.xadd(
        stream_key(stream),
        {"type": job_type, "payload": json.dumps(payload, ensure_ascii=False)},
    )
    return message_id.decode() if isinstance(message_id, bytes) else str(message_id)


def enqueue_after_commit(job_type: str, payload: dict[str, Any], stream: str = JOBS) -> None:
    """Queue a job once the current request commits (nothing is queued on rollback)."""

    def push() -> None:
        enqueue(job_type, payload, stream)

    after_commit(push)
