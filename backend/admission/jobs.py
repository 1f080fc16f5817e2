"""Admission jobs run by the worker: expire overdue offers and move their waitlists."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.admission.services import expire_overdue
from backend.core.db import utcnow
from backend.worker.registry import handler

logger = logging.getLogger(__name__)


@handler("admission.expire_offers")
def handle_expire_offers(session: Session, payload: dict[str, Any], message_id: str) -> None:
    """Expire the season's offers past their deadline (idempotent: only `offered` ones move).

    Payload: {"season_id": int, "now"?: ISO time}. Queue it from a scheduler (e.g. hourly
    while offers are open); the bureau's "expire overdue" action does the same in a request.
    """
    now = dt.datetime.fromisoformat(payload["now"]) if payload.get("now") else utcnow()
    expired = expire_overdue(session, int(payload["season_id"]), actor=None, now=now)
    logger.info("expire offers job message_id=%s season_id=%s expired=%s", message_id,
                payload["season_id"], len(expired))
