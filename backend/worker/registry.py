"""Which domain modules register jobs: importing them fills `backend.core.jobs`' registries."""

from __future__ import annotations

import importlib

from backend.core.jobs import BATCH_HANDLERS, HANDLERS, BatchHandler, Handler

# Modules whose import registers handlers and chores. A new domain adds its jobs module here.
HANDLER_MODULES = ("backend.audit.jobs", "backend.registrations.jobs", "backend.notices.jobs",
                   "backend.announcements.jobs", "backend.stats.jobs",
                   "backend.admission.jobs", "backend.verification.jobs")


def load_handlers() -> dict[str, Handler]:
    """Import every handler module and return the registry of single handlers."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return HANDLERS


def load_batch_handlers() -> dict[str, BatchHandler]:
    """Import every handler module and return the registry of batch handlers."""
    load_handlers()
    return BATCH_HANDLERS
