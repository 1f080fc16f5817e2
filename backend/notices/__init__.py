"""Notices: the outbox of WeChat subscribe messages and the families' in-app inbox."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the identity domain's events (idempotent)."""
    # Imported here: importing notices.models must stay cheap and acyclic.
    from backend.notices import subscribers

    subscribers.connect()
