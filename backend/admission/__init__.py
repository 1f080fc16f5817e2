"""Admission: seat plans, priority tiers, lotteries, offers and waitlists.

Admission keeps its own state (lotteries, entries, offers) instead of adding registration
statuses: a registration stays `approved`, and where the child stands is its offers. Every
offer that holds a seat goes through `seats.take_seats()`, one conditional UPDATE of the
school's seat counter in the same transaction, with a CHECK behind it (超计划: BRIEF §2 rule 6).

Modules, each depending only on those before it: `services` (shared helpers), `seats` (the
seat counter), `tiers`, `offers` (offers and waitlists), `plans` (seat plans), `lotteries`,
`family`; `lottery` is the pure draw algorithm, `lists` the published lists. Which schools
and seasons a caller may see is `backend.accounts.scope`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Subscribe to the seasons domain's events (idempotent)."""
    from backend.admission import subscribers

    subscribers.connect()
