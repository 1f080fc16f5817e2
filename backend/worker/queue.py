"""Putting jobs on the stream: only after the request's transaction has committed."""

from __future__ import annotations

import json
from typing import Any

from backend.core.db import after_commit
from backend.core.redis import redis_store

STREAM = "jobs"
DEAD_LETTER_STREAM = "jobs-dead"
GROUP = "workers"


def stream_key(name: str = STREAM) -> str:
    """The namespaced key of a stream."""
    return redis_store.key("stream", name)


def enqueue(job_type: str, payload: dict[str, Any]) -> str:
    """Append a job to the stream now; returns the stream id."""
    message_id = redis_store.client.xadd(
        stream_key(), {"type": job_type, "payload": json.dumps(payload, ensure_ascii=False)}
    )
    return message_id.decode() if isinstance(message_id, bytes) else str(message_id)


def enqueue_after_commit(job_type: str, payload: dict[str, Any]) -> None:
    """Queue a job once the current request commits (nothing is queued on rollback)."""

    def push() -> None:
        enqueue(job_type, payload)

    after_commit(push)
