"""Admission jobs run by the worker: expire overdue offers and move their waitlists."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.admission.models import Offer, OfferStatus
from backend.admission.offers import expire_overdue
from backend.core.db import commit, db, utcnow
from backend.core.jobs import authority_of, handler, periodic
from backend.seasons.services import season_authority

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


@periodic("admission.expire_offers", every_seconds=300)
def expire_overdue_offers() -> int:
    """Offers past their deadline expire and their seats go down the waitlists."""
    session = db.session()
    season_ids = list(session.scalars(
        select(Offer.season_id).where(Offer.status == OfferStatus.OFFERED,
                                      Offer.respond_by < utcnow()).distinct()))
    expired = 0
    for season_id in season_ids:
        expired += len(expire_overdue(session, season_id, actor=None))
    commit()  # notices to the next families on the waitlists go out after this
    return expired


@authority_of("admission.expire_offers")
def expire_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """Expiring a season's offers is about its authority."""
    return season_authority(session, payload["season_id"])
