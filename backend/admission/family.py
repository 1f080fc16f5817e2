"""The family's view of admission: its offers, its pseudonymous id, its lottery places."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from backend.accounts.models import User
from backend.admission.models import Lottery, LotteryEntry, Offer
from backend.admission.services import pseudonym
from backend.core.db import db
from backend.core.errors import ApiError
from backend.identity.models import Child
from backend.registrations.models import Registration


def family_offers(user: User) -> list[Offer]:
    """Offers of the caller's children, newest first."""
    return list(db.session.scalars(
        select(Offer).join(Child, Offer.child_id == Child.id)
        .where(Child.guardian.has(user_id=user.id))
        .options(joinedload(Offer.school), joinedload(Offer.child))
        .order_by(Offer.id.desc())))


def family_admission(user: User, registration_id: int) -> dict[str, Any]:
    """The family's pseudonymous id, its place in each published lottery, and its offers."""
    registration = db.session.get(Registration, registration_id,
                                  options=[joinedload(Registration.child)])
    if registration is None or registration.child.guardian.user_id != user.id:
        raise ApiError(404, "REGISTRATION_NOT_FOUND", "未找到该报名记录")
    entries = list(db.session.execute(
        select(LotteryEntry, Lottery).join(Lottery, LotteryEntry.lottery_id == Lottery.id)
        .where(LotteryEntry.child_id == registration.child_id,
               Lottery.season_id == registration.season_id,
               Lottery.is_practice.is_(False), Lottery.published_at.is_not(None))
        .options(selectinload(Lottery.school))
        .order_by(Lottery.id)).all())
    offers = list(db.session.scalars(
        select(Offer).where(Offer.child_id == registration.child_id,
                            Offer.season_id == registration.season_id)
        .options(joinedload(Offer.school)).order_by(Offer.id)))
    return {"registration": registration,
            "pseudonym": pseudonym(registration.season_id, registration.child_id),
            "entries": entries, "offers": offers}
