"""FOR THE BENCHMARK ONLY (scripts/bench_intake): the naive synchronous intake baseline.

gunicorn serves `scripts._bench_sync_app:create_bench_app()`: the real app plus ONE extra
route, POST /bench/sync-registrations, that runs the same authentication, rate limits,
reads and checks as POST /api/v1/registrations (the intake's own functions) and then inserts the
Registration + RegistrationEvent + registration_uploads + Notice through the ORM and commits
in the request, instead of queueing. It is never part of the product.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import create_app
from backend.core.api import api
from backend.core.auth import current_user_id
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.notices.models import Notice, NoticeStatus
from backend.registrations import catalog, intake
from backend.registrations.checks import already_registered
from backend.registrations.models import (
    INACTIVE_STATUSES,
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
    registration_uploads,
)
from backend.registrations.routes import submitter
from backend.registrations.schemas import SubmitIn, TicketOut

bp = Blueprint("bench_sync", __name__, url_prefix="/bench")


def _checks(user_id: int, body: SubmitIn, cached: dict[str, Any], now: dt.datetime) -> tuple[
        catalog.SchoolFacts, catalog.SeasonFacts, bool]:
    """The intake's own reads and checks (backend.registrations.intake), then the database."""
    cached_child, cached_uploads = intake.cached_facts(cached, body.child_id, body.upload_ids)
    checked = intake.check_submission(
        user_id, child_id=body.child_id, school_code=body.school_code, basis=body.basis,
        upload_ids=body.upload_ids, cached_child=cached_child, cached_uploads=cached_uploads,
        now=now)
    # Synchronous: the database itself says whether the child already has a registration.
    active = db.session.scalar(select(Registration.id).where(
        Registration.season_id == checked.season.id, Registration.child_id == body.child_id,
        Registration.status.not_in(INACTIVE_STATUSES)).limit(1))
    if active is not None:
        raise already_registered()
    return checked.school, checked.season, checked.out_of_zone


@bp.post("/sync-registrations")
@submitter
@api(body=SubmitIn, response=TicketOut, status=201, errors=(404, 409))
def sync_submit(body: SubmitIn, cached: dict[str, Any]) -> TicketOut:
    """Check, then INSERT + COMMIT the registration, its history and its notice."""
    user_id = current_user_id()
    idem = request.headers.get("Idempotency-Key", "")
    if not intake.IDEMPOTENCY_KEY.match(idem):
        raise ApiError(400, "IDEMPOTENCY_KEY_REQUIRED", "缺少或无效的 Idempotency-Key")
    now = utcnow()
    school, season, out_of_zone = _checks(user_id, body, cached, now)
    ticket = f"S{user_id}-{idem}"[:40]  # the unique ticket doubles as the idempotency key
    registration = Registration(
        season_id=season.id, child_id=body.child_id, school_id=school.id,
        submitted_by_user_id=user_id, basis=Basis(body.basis),
        status=RegistrationStatus.SUBMITTED, out_of_zone=out_of_zone, ticket=ticket)
    db.session.add(registration)
    try:
        db.session.flush()
        db.session.add(RegistrationEvent(
            registration_id=registration.id, status=RegistrationStatus.SUBMITTED,
            occurred_at=now, actor_user_id=user_id, actor_role="parent"))
        db.session.execute(registration_uploads.insert(), [
            {"registration_id": registration.id, "upload_id": u}
            for u in sorted(set(body.upload_ids))])
        db.session.add(Notice(
            user_id=user_id, template_key="registration_received",
            data={"school": school.name, "ticket": ticket, "submitted_at": now.isoformat(),
                  "status": "已受理"},
            page=f"pages/registrations/detail?id={registration.id}",
            dedupe_key=f"registration.received:{registration.id}",
            status=NoticeStatus.PENDING, attempts=0, created_at=now))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise already_registered() from None
    return TicketOut(ticket=ticket, state="accepted", position=None,  # type: ignore[arg-type]
                     registration_id=registration.id)


def create_bench_app() -> Flask:
    """The production app plus the benchmark-only synchronous route."""
    app = create_app()
    app.register_blueprint(bp)
    return app
