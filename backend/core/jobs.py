"""The job queue's port: stream names, enqueueing (after commit) and the handler registries.

Domains put work on the queue with `enqueue_after_commit` and register what runs it in their
`jobs.py` (`@handler`, `@batch_handler`, `@on_dead_letter`, `@authority_of`, `@periodic`).
The runner — `backend/worker/` (consumer, clock, `python -m backend.worker`) — imports those
modules and reads the registries; no domain imports the runner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

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


# --- handlers ------------------------------------------------------------------------------

Handler = Callable[[Session, dict[str, Any], str], None]
# A batch handler gets every message of its type in a batch, and a list to append the
# effects (Redis writes) that must run only after the batch commits.
Effects = list[Callable[[], None]]
BatchHandler = Callable[[Session, list[tuple[str, dict[str, Any]]], Effects], None]

HANDLERS: dict[str, Handler] = {}
BATCH_HANDLERS: dict[str, BatchHandler] = {}
# Called (after the batch commits) for a message of that type sent to the dead letters,
# with its raw fields and the reason: e.g. to tell the family their ticket failed.
DeadLetterHook = Callable[[dict[bytes, bytes], str], None]
DEAD_LETTER_HOOKS: dict[str, DeadLetterHook] = {}


def handler(job_type: str) -> Callable[[Handler], Handler]:
    """Register `fn(session, payload, message_id)` as the handler of one job type."""

    def decorator(fn: Handler) -> Handler:
        existing = HANDLERS.get(job_type)
        if existing is not None and existing is not fn:
            raise RuntimeError(f"job type {job_type!r} already has a handler")
        HANDLERS[job_type] = fn
        return fn

    return decorator


def batch_handler(job_type: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register `fn(session, [(message_id, payload)], effects)` for one job type."""

    def decorator(fn: BatchHandler) -> BatchHandler:
        BATCH_HANDLERS[job_type] = fn
        return fn

    return decorator


def on_dead_letter(job_type: str) -> Callable[[DeadLetterHook], DeadLetterHook]:
    """Register what to do when a message of this type is dead-lettered."""

    def decorator(fn: DeadLetterHook) -> DeadLetterHook:
        DEAD_LETTER_HOOKS[job_type] = fn
        return fn

    return decorator


# Which education authority a message is about, for the bureau's view of failed messages:
# `fn(session, payload)` → the authority's id, or None when the payload names none.
AuthorityOf = Callable[[Session, dict[str, Any]], int | None]
AUTHORITY_OF: dict[str, AuthorityOf] = {}


def authority_of(job_type: str) -> Callable[[AuthorityOf], AuthorityOf]:
    """Register how to tell the authority a message of this type concerns."""

    def decorator(fn: AuthorityOf) -> AuthorityOf:
        AUTHORITY_OF[job_type] = fn
        return fn

    return decorator


# --- chores on a clock -----------------------------------------------------------------------

Chore = Callable[[], int]


@dataclass(frozen=True)
class Periodic:
    """A chore and how often it runs; the chore commits its own work, returns a count."""

    name: str
    every_seconds: float
    run: Chore


PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, every_seconds: float) -> Callable[[Chore], Chore]:
    """Register `fn()` to run every `every_seconds` on one of the workers."""

    def decorator(fn: Chore) -> Chore:
        PERIODIC[name] = Periodic(name, every_seconds, fn)
        return fn

    return decorator
