"""Job handlers by name; domain packages register theirs in their `jobs.py`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

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

# Modules whose import registers handlers. A new domain adds its jobs module here.
HANDLER_MODULES = ("backend.audit.jobs", "backend.registrations.jobs", "backend.notices.jobs",
                   "backend.announcements.jobs", "backend.stats.jobs",
                   "backend.admission.jobs")


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


def load_handlers() -> dict[str, Handler]:
    """Import every handler module and return the registry of single handlers."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return HANDLERS


def load_batch_handlers() -> dict[str, BatchHandler]:
    """Import every handler module and return the registry of batch handlers."""
    load_handlers()
    return BATCH_HANDLERS
