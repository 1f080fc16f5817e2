"""Registrations: the intake, the worker's writes, the family's view of their registration."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the identity and uploads domains' events (idempotent)."""
    # Imported here: importing registrations.models must stay cheap and acyclic.
    from backend.registrations import subscribers

    subscribers.connect()
