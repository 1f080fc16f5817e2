"""FOR THE BENCHMARK ONLY (scripts/bench_intake): the naive synchronous intake baseline.

gunicorn serves `scripts._bench_sync_app:create_bench_app()`: the real app plus ONE extra
route, POST /bench/sync-registrations, that runs the same authentication, rate limits and
checks as POST /api/v1/registrations (the intake's own check functions) and then inserts the
Registration + RegistrationEvent + registration_uploads + Notice through the ORM and commits
in the request, instead of queueing. It is never part of the product.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import create_app
from backend.core.api import api
from backend.core.auth import current_user_id, require_session
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.ratelimit import address_key, caller_key, limiter
from backend.identity.eligibility import eligibility
from backend.notices.models import Notice, NoticeStatus
from backend.registrations import catalog, facts, intake
from backend.registrations.materials import missing_uploads
from backend.registrations.models import (
    INACTIVE_STATUSES,
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
    registration_uploads,
)
from backend.registrations.schemas import SubmitIn, TicketOut
from backend.uploads.models import UploadKind

bp = Blueprint("bench_sync", __name__, url_prefix="/bench")


def _checks(user_id: int, body: SubmitIn, now: dt.datetime) -> tuple[
        catalog.SchoolFacts, catalog.SeasonFacts, bool]:
    """The same checks as backend.registrations.intake.submit, in the same order."""
    school = catalog.school(body.school_code)
    season = catalog.season(school.authority_id)
    intake._check_window(season, now)
    child = facts.child(body.child_id)
    if child is None or child.owner_user_id != user_id:
        raise ApiError(404, "CHILD_NOT_FOUND", "未找到该儿童信息")
    verdict = eligibility(child.birth_date, intake._SeasonView(season))  # type: ignore[arg-type]
    if not verdict.eligible:
        raise ApiError(422, "NOT_ELIGIBLE", verdict.reason)
    basis = Basis(body.basis)
    if school.bases is not None and body.basis not in school.bases:
        raise ApiError(422, "BASIS_NOT_ACCEPTED", "该校不接受此类报名依据")
    region_id = intake._region_for_basis(child, basis)
    out_of_zone = region_id not in school.zone_region_ids
    if out_of_zone and not school.is_private:
        raise ApiError(422, "OUT_OF_ZONE", "不在招生范围内")
    owned = facts.uploads(body.upload_ids)
    if any(owned.get(u, (None, ""))[0] != user_id for u in body.upload_ids):
        raise ApiError(422, "UPLOAD_NOT_FOUND", "部分材料不存在或已删除")
    have = {UploadKind(kind) for _owner, kind in owned.values()}
    if missing_uploads(basis, child.categories, have):
        raise ApiError(422, "UPLOADS_MISSING", "还缺少必需的材料")
    # Synchronous: the database itself says whether the child already has a registration.
    active = db.session.scalar(select(Registration.id).where(
        Registration.season_id == season.id, Registration.child_id == body.child_id,
        Registration.status.not_in(INACTIVE_STATUSES)).limit(1))
    if active is not None:
        raise intake._already_registered()
    return school, season, out_of_zone


@bp.post("/sync-registrations")
@limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_CALLER"], key_func=caller_key)
@limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_ADDRESS"], key_func=address_key)
@require_session("parent")
@api(body=SubmitIn, response=TicketOut, status=201, errors=(404, 409))
def sync_submit(body: SubmitIn) -> TicketOut:
    """Check, then INSERT + COMMIT the registration, its history and its notice."""
    user_id = current_user_id()
    idem = request.headers.get("Idempotency-Key", "")
    if not intake.IDEMPOTENCY_KEY.match(idem):
        raise ApiError(400, "IDEMPOTENCY_KEY_REQUIRED", "缺少或无效的 Idempotency-Key")
    now = utcnow()
    school, season, out_of_zone = _checks(user_id, body, now)
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
        raise intake._already_registered() from None
    return TicketOut(ticket=ticket, state="accepted", position=None,  # type: ignore[arg-type]
                     registration_id=registration.id)


def create_bench_app() -> Flask:
    """The production app plus the benchmark-only synchronous route."""
    app = create_app()
    app.register_blueprint(bp)
    return app
