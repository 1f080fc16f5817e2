"""Reading and withdrawing registrations (their creation is the intake's and the worker's)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import User
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.registrations import intake, transitions
from backend.registrations.models import Registration
from backend.registrations.transitions import Action, Actor
from backend.seasons.models import Season

logger = logging.getLogger(__name__)


def my_registrations(user: User) -> list[Registration]:
    """Registrations the caller submitted, newest first."""
    return list(db.session.scalars(
        select(Registration).where(Registration.submitted_by_user_id == user.id)
        .options(selectinload(Registration.events), selectinload(Registration.uploads))
        .order_by(Registration.id.desc())))


def my_registration(user: User, registration_id: int) -> Registration:
    """One of the caller's registrations (anyone else's: 404)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.submitted_by_user_id != user.id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    return registration


def can_withdraw(registration: Registration) -> bool:
    """While the window is open and the transition table allows it (review not started)."""
    season = db.session.get(Season, registration.season_id)
    now = utcnow()
    return (transitions.allowed(registration.status, Actor.PARENT, Action.WITHDRAW)
            and season is not None
            and season.registration_opens_at <= now < season.registration_closes_at)


def withdraw(user: User, registration_id: int) -> Registration:
    """Withdraw a registration; the child may then register at another school."""
    my_registration(user, registration_id)
    # Locked: a reviewer starting at the same moment must not be overwritten.
    registration = db.session.get(Registration, registration_id, with_for_update=True,
                                  populate_existing=True)
    if registration is None:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    if not can_withdraw(registration):
        raise ApiError(409, "CANNOT_WITHDRAW", "报名已进入审核或报名已截止，不能撤回，请联系学校")
    transitions.apply(db.session(), registration, Action.WITHDRAW, Actor.PARENT,
                      actor_user_id=user.id)
    season_id, child_id = registration.season_id, registration.child_id

    def release() -> None:
        intake.release_child(season_id, child_id)

    after_commit(release)
    logger.info("registration withdrawn registration_id=%s", registration.id)
    return registration


def ticket_status(user_id: int, ticket: str,
                  read: tuple[dict[bytes, bytes], bytes | None] | None = None) -> dict[str, Any]:
    """A ticket's state for its owner (404 for anyone else or an unknown ticket); `read` is
    the ticket's hash and the processed count when the caller already has them."""
    state, processed = read if read is not None else intake.read_ticket(ticket)
    owner_field = state.get(b"user")
    owner = int(owner_field) if owner_field is not None else None
    if owner is None:
        registration = db.session.scalar(select(Registration).where(Registration.ticket == ticket))
        if registration is None or registration.submitted_by_user_id != user_id:
            raise ApiError(404, "TICKET_NOT_FOUND", "未找到该报名回执")
        return {"ticket": ticket, "state": "accepted", "position": None,
                "registration_id": registration.id}
    if owner != user_id:
        raise ApiError(404, "TICKET_NOT_FOUND", "未找到该报名回执")
    receipt = intake.receipt_from(ticket, state, processed)
    result: dict[str, Any] = {"ticket": ticket, "state": receipt.state,
                              "position": receipt.position}
    if receipt.state == "accepted":
        result["registration_id"] = int(state[b"registration_id"])
    if receipt.state == "rejected":
        result["error"] = {"code": state[b"error_code"].decode(),
                           "message": state[b"error_message"].decode()}
    return result
