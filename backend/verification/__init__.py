"""Checks of a child's documents against government data (户籍, 不动产登记, 居住证, 出生证明)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the identity domain's events (idempotent)."""
    from backend.verification import subscribers

    subscribers.connect()
