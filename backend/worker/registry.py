"""Job handlers by name; domain packages register theirs in their `jobs.py`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[[Session, dict[str, Any], str], None]

HANDLERS: dict[str, Handler] = {}

# Modules whose import registers handlers. A new domain adds its jobs module here.
HANDLER_MODULES = ("backend.audit.jobs",)


def handler(job_type: str) -> Callable[[Handler], Handler]:
    """Register `fn(session, payload, message_id)` as the handler of one job type."""

    def decorator(fn: Handler) -> Handler:
        existing = HANDLERS.get(job_type)
        if existing is not None and existing is not fn:
            raise RuntimeError(f"job type {job_type!r} already has a handler")
        HANDLERS[job_type] = fn
        return fn

    return decorator


def load_handlers() -> dict[str, Handler]:
    """Import every handler module and return the registry."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return HANDLERS
