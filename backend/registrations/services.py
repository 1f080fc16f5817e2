"""Reading and withdrawing registrations (their creation is the intake's and the worker's)."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.accounts.models import User
from backend.core.db import after_commit, db, utcnow
from backend.core.errors import ApiError
from backend.core.redis import redis_store
from backend.registrations import intake, transitions
from backend.registrations.models import Registration
from backend.registrations.transitions import Action, Actor
from backend.seasons.models import Season
from backend.worker.queue import GROUP, STREAMS, dead_letter_key, stream_key

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


def ticket_status(user_id: int, ticket: str) -> dict[str, Any]:
    """A ticket's state for its owner (404 for anyone else or an unknown ticket)."""
    owner = intake.ticket_owner(ticket)
    if owner is None:
        registration = db.session.scalar(select(Registration).where(Registration.ticket == ticket))
        if registration is None or registration.submitted_by_user_id != user_id:
            raise ApiError(404, "TICKET_NOT_FOUND", "未找到该报名回执")
        return {"ticket": ticket, "state": "accepted", "position": None,
                "registration_id": registration.id}
    if owner != user_id:
        raise ApiError(404, "TICKET_NOT_FOUND", "未找到该报名回执")
    state: Any = redis_store.client.hgetall(intake.ticket_key(ticket))
    receipt = intake.current_receipt(ticket)
    result: dict[str, Any] = {"ticket": ticket, "state": receipt.state,
                              "position": receipt.position}
    if receipt.state == "accepted":
        result["registration_id"] = int(state[b"registration_id"])
    if receipt.state == "rejected":
        result["error"] = {"code": state[b"error_code"].decode(),
                           "message": state[b"error_message"].decode()}
    return result


def dead_letters() -> list[dict[str, str]]:
    """Messages that kept failing, on every stream, oldest first."""
    client: Any = redis_store.client
    items = []
    for stream in STREAMS:
        for message_id, fields in client.xrange(dead_letter_key(stream)):
            items.append({
                "id": message_id.decode(), "stream": stream,
                "type": fields.get(b"type", b"").decode(),
                "reason": fields.get(b"reason", b"").decode(),
                "failed_at": fields.get(b"failed_at", b"").decode(),
                "original_id": fields.get(b"original_id", b"").decode(),
            })
    return items


def replay_dead_letter(stream: str, message_id: str) -> str:
    """Put a dead-lettered message back on its stream (after the cause was fixed)."""
    if stream not in STREAMS or not re.fullmatch(r"\d{1,19}-\d{1,19}", message_id):
        raise ApiError(404, "DEAD_LETTER_NOT_FOUND", "未找到该失败消息")
    client: Any = redis_store.client
    found = client.xrange(dead_letter_key(stream), min=message_id, max=message_id)
    if not found:
        raise ApiError(404, "DEAD_LETTER_NOT_FOUND", "未找到该失败消息")
    fields = {k.decode(): v for k, v in found[0][1].items()
              if k not in (b"reason", b"failed_at", b"original_id")}
    with client.pipeline() as pipe:
        pipe.xadd(stream_key(stream), fields)
        pipe.xdel(dead_letter_key(stream), message_id)
        new_id, _deleted = pipe.execute()
    logger.info("dead letter replayed stream=%s message_id=%s group=%s", stream, message_id,
                GROUP)
    return str(new_id.decode() if isinstance(new_id, bytes) else new_id)
