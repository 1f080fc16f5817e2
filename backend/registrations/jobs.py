"""Worker side of the intake: queued submissions become registrations, in bulk."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from sqlalchemy import Insert, Table, any_, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.audit.services import record_audit
from backend.core.db import utcnow
from backend.core.jobs import Effects, authority_of, batch_handler, on_dead_letter
from backend.core.redis import redis_store
from backend.identity.models import Child, Guardian
from backend.notices.models import Notice, NoticeStatus
from backend.registrations.intake import mark_ticket, processed_key, release_child
from backend.registrations.models import (
    Basis,
    Registration,
    RegistrationEvent,
    RegistrationStatus,
    registration_uploads,
)
from backend.schools.models import School
from backend.seasons.services import season_authority
from backend.uploads.models import Upload

logger = logging.getLogger(__name__)

REGISTRATIONS = cast(Table, Registration.__table__)
EVENTS = cast(Table, RegistrationEvent.__table__)
NOTICES = cast(Table, Notice.__table__)

_REJECTIONS = {
    "CHILD_NOT_FOUND": "未找到该儿童信息，报名未受理",
    "UPLOAD_NOT_FOUND": "部分材料已删除，报名未受理，请重新上传后提交",
    "SCHOOL_NOT_FOUND": "该学校已停止招生，报名未受理",
    "ALREADY_REGISTERED": "该儿童本学年已有有效报名",
}


_STAGED = ("season_id", "child_id", "school_id", "submitted_by_user_id", "basis", "out_of_zone",
           "ticket", "upload_ids", "submitted_at", "entered_by_user_id", "entered_by_role")
# Statements below are built from constant column lists only: no outside value reaches them.
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS registration_staging (season_id integer, "
    "child_id integer, school_id integer, submitted_by_user_id integer, basis varchar(32), "
    "out_of_zone boolean, ticket varchar(40), upload_ids text[], submitted_at text, "
    "entered_by_user_id integer, entered_by_role varchar(32)) ON COMMIT DELETE ROWS"
)
# One statement writes the registrations that fit the one-active-registration rule (ON
# CONFLICT DO NOTHING: a redelivered ticket or a child already registered inserts nothing)
# and, for exactly those, the first history event, the document links and the
# "registration received" notice: all in the worker's transaction, built by the server.
# A registration staff entered at the counter (代报名) names them as its first actor.
_WRITE_STAGED = """
WITH written AS (
  INSERT INTO registrations (season_id, child_id, school_id, submitted_by_user_id,
                             entered_by_user_id, basis, status, out_of_zone, ticket,
                             created_at, updated_at)
  SELECT season_id, child_id, school_id, submitted_by_user_id, entered_by_user_id, basis,
         CAST(:submitted AS text), out_of_zone, ticket, CAST(:now AS timestamptz),
         CAST(:now AS timestamptz)
  FROM registration_staging
  ON CONFLICT DO NOTHING
  RETURNING id, ticket, submitted_by_user_id, school_id
), events AS (
  INSERT INTO registration_events (registration_id, status, occurred_at, actor_user_id,
                                   actor_role, note)
  SELECT w.id, CAST(:submitted AS text), CAST(:now AS timestamptz),
         COALESCE(s.entered_by_user_id, w.submitted_by_user_id),
         COALESCE(s.entered_by_role, 'parent'),
         CASE WHEN s.entered_by_user_id IS NOT NULL THEN CAST(:entered_note AS text) END
  FROM written w JOIN registration_staging s ON s.ticket = w.ticket
), links AS (
  INSERT INTO registration_uploads (registration_id, upload_id)
  SELECT w.id, u.upload_id
  FROM written w JOIN registration_staging s ON s.ticket = w.ticket
  CROSS JOIN LATERAL unnest(s.upload_ids) AS u(upload_id)
), received AS (
  INSERT INTO notices (user_id, template_key, data, page, dedupe_key, status, attempts,
                       created_at)
  SELECT w.submitted_by_user_id, CAST(:template AS text),
         json_build_object('school', sc.name, 'ticket', w.ticket,
                           'submitted_at', s.submitted_at, 'status', CAST(:received AS text)),
         CAST(:page AS text) || w.id, CAST(:dedupe AS text) || w.id, CAST(:pending AS text),
         0, CAST(:now AS timestamptz)
  FROM written w JOIN registration_staging s ON s.ticket = w.ticket
  JOIN schools sc ON sc.id = w.school_id
)
SELECT id, ticket FROM written
"""
_RECEIVED = {"template": "registration_received", "received": "已受理",
             "page": "pages/registrations/detail?id=", "dedupe": "registration.received:"}
ENTERED_NOTE = "学校代为报名（家长现场核验证件）"


def _write_postgres(session: Session, candidates: list[dict[str, Any]],
                    now: Any) -> dict[str, int]:
    # COPY the batch into a per-connection staging table, then one statement: far faster
    # than statements with thousands of parameters or rows built one by one in Python.
    session.execute(text(_CREATE_STAGING))
    session.execute(text("DELETE FROM registration_staging"))
    driver: Any = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(
            f"COPY registration_staging ({', '.join(_STAGED)}) FROM STDIN") as copy:
        for p in candidates:
            copy.write_row((p["season_id"], p["child_id"], p["school_id"], p["user_id"],
                            p["basis"], bool(p["out_of_zone"]), p["ticket"], p["upload_ids"],
                            p["submitted_at"], p.get("entered_by_user_id"),
                            p.get("entered_by_role")))
    result = session.execute(text(_WRITE_STAGED), {
        **_RECEIVED, "now": now, "submitted": RegistrationStatus.SUBMITTED.value,
        "pending": NoticeStatus.PENDING.value, "entered_note": ENTERED_NOTE})
    return {ticket: registration_id for registration_id, ticket in result}


def _write_portable(session: Session, candidates: list[dict[str, Any]],
                    schools: dict[int, str], now: Any) -> dict[str, int]:
    # Other databases (SQLite for one machine): the same rows through executemany.
    written = {ticket: registration_id for registration_id, ticket in session.execute(
        _insert(session, REGISTRATIONS).returning(REGISTRATIONS.c.id, REGISTRATIONS.c.ticket),
        [{"season_id": p["season_id"], "child_id": p["child_id"], "school_id": p["school_id"],
          "submitted_by_user_id": p["user_id"],
          "entered_by_user_id": p.get("entered_by_user_id"), "basis": Basis(p["basis"]),
          "status": RegistrationStatus.SUBMITTED, "out_of_zone": bool(p["out_of_zone"]),
          "ticket": p["ticket"], "created_at": now, "updated_at": now} for p in candidates])}
    new = [p for p in candidates if p["ticket"] in written]
    if not new:
        return written
    session.execute(insert(EVENTS), [{
        "registration_id": written[p["ticket"]], "status": RegistrationStatus.SUBMITTED,
        "occurred_at": now, "actor_user_id": p.get("entered_by_user_id") or p["user_id"],
        "actor_role": p.get("entered_by_role") or "parent",
        "note": ENTERED_NOTE if p.get("entered_by_user_id") else None,
    } for p in new])
    links = [{"registration_id": written[p["ticket"]], "upload_id": u}
             for p in new for u in p["upload_ids"]]
    if links:
        session.execute(insert(registration_uploads), links)
    session.execute(insert(NOTICES), [{
        "user_id": p["user_id"], "template_key": _RECEIVED["template"],
        "data": {"school": schools[p["school_id"]], "ticket": p["ticket"],
                 "submitted_at": p["submitted_at"], "status": _RECEIVED["received"]},
        "page": f"{_RECEIVED['page']}{written[p['ticket']]}",
        "dedupe_key": f"{_RECEIVED['dedupe']}{written[p['ticket']]}",
        "status": NoticeStatus.PENDING, "attempts": 0, "created_at": now,
    } for p in new])
    return written


def _among(session: Session, column: Any, values: set[Any]) -> Any:
    """`column IN values`; on PostgreSQL one array parameter instead of hundreds."""
    if session.get_bind().dialect.name == "postgresql":
        # = ANY(array): the statement text stays the same whatever the batch size, so the
        # driver and the server do not parse a new statement with 500 parameters each time.
        return column == any_(bindparam(f"{column.key}_set", sorted(values),
                                        type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _insert(session: Session, table: Any) -> Insert:
    # ON CONFLICT DO NOTHING: a redelivered message (same ticket) or a second active
    # registration of one child (the partial unique index) inserts nothing.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


def _audit_entered(written: list[dict[str, Any]], ids: dict[str, int],
                   session: Session) -> None:
    """代报名: the registration staff entered is on the audit trail under their name (ids)."""
    for p in written:
        if p.get("entered_by_user_id"):
            record_audit(session, action="registration.entered_by_staff",
                         actor_user_id=p["entered_by_user_id"],
                         actor_role=p.get("entered_by_role"), object_type="registration",
                         object_id=ids[p["ticket"]], event_key=f"entered:{p['ticket']}",
                         details={"child_id": p["child_id"], "school_id": p["school_id"],
                                  "family_user_id": p["user_id"], "ticket": p["ticket"]})


@batch_handler("registration.submit")
def handle_registration_submit(session: Session, items: list[tuple[str, dict[str, Any]]],
                               effects: Effects) -> None:
    """Re-check a batch of submissions, write them with history and notice, in one go."""
    # A redelivery may put one ticket in a batch twice: handle it once.
    payloads = list({payload["ticket"]: payload for _mid, payload in reversed(items)}.values())
    payloads.reverse()
    owners = dict(session.execute(
        select(Child.id, Guardian.user_id).join(Guardian, Child.guardian_id == Guardian.id)
        .where(_among(session, Child.id, {p["child_id"] for p in payloads}))).all())
    upload_owners = dict(session.execute(
        select(Upload.id, Upload.owner_user_id).where(
            _among(session, Upload.id, {u for p in payloads for u in p["upload_ids"]}),
            Upload.purged_at.is_(None))).all())
    schools = dict(session.execute(
        select(School.id, School.name).where(School.id.in_({p["school_id"] for p in payloads}),
                                             School.is_active.is_(True))).all())

    rejected: list[tuple[dict[str, Any], str]] = []
    candidates: list[dict[str, Any]] = []
    for payload in payloads:
        if owners.get(payload["child_id"]) != payload["user_id"]:
            rejected.append((payload, "CHILD_NOT_FOUND"))
        elif any(upload_owners.get(u) != payload["user_id"] for u in payload["upload_ids"]):
            rejected.append((payload, "UPLOAD_NOT_FOUND"))
        elif payload["school_id"] not in schools:
            rejected.append((payload, "SCHOOL_NOT_FOUND"))
        else:
            candidates.append(payload)

    now = utcnow()
    accepted: dict[str, int] = {}
    fresh: set[str] = set()
    if candidates:
        if session.connection().dialect.name == "postgresql":
            accepted = _write_postgres(session, candidates, now)
        else:
            accepted = _write_portable(session, candidates, schools, now)
        fresh = set(accepted)
        missing = [p["ticket"] for p in candidates if p["ticket"] not in accepted]
        if missing:
            # Not inserted: either already written by an earlier delivery, or the child
            # already has an active registration this season.
            accepted.update(dict(session.execute(
                select(Registration.ticket, Registration.id)
                .where(Registration.ticket.in_(missing))).all()))
        for payload in candidates:
            if payload["ticket"] not in accepted:
                rejected.append((payload, "ALREADY_REGISTERED"))

    outcomes = [(p["ticket"], accepted[p["ticket"]]) for p in candidates
                if p["ticket"] in accepted]
    _audit_entered([p for p in candidates if p["ticket"] in fresh], accepted, session)

    def publish() -> None:
        # After the commit: tickets show the outcome; a rejected child may submit again.
        with redis_store.client.pipeline(transaction=False) as pipe:
            for ticket, registration_id in outcomes:
                mark_ticket(ticket, pipe, state="accepted", registration_id=registration_id)
            for payload, code in rejected:
                mark_ticket(payload["ticket"], pipe, state="rejected", error_code=code,
                            error_message=_REJECTIONS[code])
                if code != "ALREADY_REGISTERED":
                    release_child(payload["season_id"], payload["child_id"], pipe)
            # Redelivered ones were counted the first time: count what is new.
            pipe.incrby(processed_key(), len(fresh) + len(rejected))
            pipe.execute()

    effects.append(publish)
    if rejected:
        logger.info("registrations rejected by re-check count=%s", len(rejected))


@batch_handler("registration.update")
def handle_registration_update(session: Session, items: list[tuple[str, dict[str, Any]]],
                               effects: Effects) -> None:
    """Apply queued edits (basis, documents); a returned registration is submitted again."""
    # Imported here: the transition table decides whether an edit may still be applied.
    from backend.core.errors import ApiError
    from backend.registrations.transitions import Action, Actor, allowed, apply

    outcomes: list[tuple[str, str, str | None]] = []
    for _message_id, payload in items:
        registration = session.get(Registration, payload["registration_id"],
                                   with_for_update=True, populate_existing=True)
        owned = dict(session.execute(select(Upload.id, Upload.owner_user_id).where(
            Upload.id.in_(payload["upload_ids"]), Upload.purged_at.is_(None))).all())
        if registration is None or registration.submitted_by_user_id != payload["user_id"]:
            outcomes.append((payload["ticket"], "rejected", "REGISTRATION_NOT_FOUND"))
            continue
        if any(owned.get(u) != payload["user_id"] for u in payload["upload_ids"]):
            outcomes.append((payload["ticket"], "rejected", "UPLOAD_NOT_FOUND"))
            continue
        if any(payload["ticket"] in (e.note or "") for e in registration.events):
            outcomes.append((payload["ticket"], "accepted", None))  # a redelivery
            continue
        # A reviewer may have taken it up (or rejected it) while the edit waited in the queue.
        if not allowed(registration.status, Actor.PARENT, Action.RESUBMIT):
            outcomes.append((payload["ticket"], "rejected", "REGISTRATION_NOT_EDITABLE"))
            continue
        fixed = registration.status is RegistrationStatus.RETURNED
        note = "家长按退回意见修改后重新提交" if fixed else "家长修改后重新提交"
        try:
            # A savepoint: if the compare-and-set loses, the new documents are not kept either.
            with session.begin_nested():
                registration.basis = Basis(payload["basis"])
                registration.out_of_zone = bool(payload["out_of_zone"])
                registration.uploads = list(session.scalars(
                    select(Upload).where(Upload.id.in_(payload["upload_ids"]))))
                apply(session, registration, Action.RESUBMIT, Actor.PARENT,
                      actor_user_id=payload["user_id"], reason_code="EDITED",
                      note=f"{note}（回执 {payload['ticket']}）")
        except ApiError:
            session.expire(registration)
            outcomes.append((payload["ticket"], "rejected", "REGISTRATION_NOT_EDITABLE"))
            continue
        outcomes.append((payload["ticket"], "accepted", None))
    ids = {p["ticket"]: p["registration_id"] for _m, p in items}

    def publish() -> None:
        for ticket, state, code in outcomes:
            if state == "accepted":
                mark_ticket(ticket, state="accepted", registration_id=ids[ticket])
            else:
                mark_ticket(ticket, state="rejected", error_code=code or "REJECTED",
                            error_message=_EDIT_REJECTIONS.get(code or "", "修改未受理"))
        redis_store.client.incrby(processed_key(), len(items))

    effects.append(publish)


_EDIT_REJECTIONS = {
    "REGISTRATION_NOT_FOUND": "未找到该报名记录，修改未受理",
    "UPLOAD_NOT_FOUND": "部分材料已删除，修改未受理，请重新上传后提交",
    "REGISTRATION_NOT_EDITABLE": "报名已进入审核，修改未受理，请联系学校",
}


@on_dead_letter("registration.submit")
@on_dead_letter("registration.update")
def handle_dead_submission(fields: dict[bytes, bytes], reason: str) -> None:
    """A submission that kept failing: tell the family, free the child, keep positions true."""
    redis_store.client.incrby(processed_key(), 1)
    try:
        payload = json.loads(fields.get(b"payload", b"{}"))
    except ValueError:
        return
    if not isinstance(payload, dict) or "ticket" not in payload:
        return
    mark_ticket(str(payload["ticket"]), state="rejected", error_code="PROCESSING_FAILED",
                error_message="报名处理失败，教育局正在核查；请稍后重新提交或联系学校")
    if "season_id" in payload and "child_id" in payload:
        release_child(int(payload["season_id"]), int(payload["child_id"]))
    logger.warning("submission dead-lettered ticket=%s reason=%s", payload["ticket"], reason)


@authority_of("registration.submit")
def submission_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """A queued submission is about its season's authority."""
    return season_authority(session, payload["season_id"])


@authority_of("registration.update")
def update_authority(session: Session, payload: dict[str, Any]) -> int | None:
    """A queued edit is about the authority of the registration's school."""
    return session.scalar(select(School.authority_id).join(
        Registration, Registration.school_id == School.id).where(
        Registration.id == int(payload["registration_id"])))
