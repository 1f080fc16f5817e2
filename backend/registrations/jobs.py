"""Worker side of the intake: queued submissions become registrations, in bulk."""

from __future__ import annotations

import enum
import json
import logging
from typing import Any, cast

from sqlalchemy import Insert, Table, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.core.db import utcnow
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
from backend.uploads.models import Upload
from backend.worker.registry import Effects, batch_handler, on_dead_letter

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


def _copy_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows that need no ids back: COPY on PostgreSQL (the fastest path), else executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    driver: Any = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c]) for c in columns])


_STAGED = ("season_id", "child_id", "school_id", "submitted_by_user_id", "basis", "status",
           "out_of_zone", "ticket", "created_at", "updated_at")
# Built from the constant column list above: no outside value reaches these statements.
_COLUMNS = ", ".join(_STAGED)
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS registration_staging ON COMMIT DELETE ROWS "  # noqa: S608
    f"AS SELECT {_COLUMNS} FROM registrations WITH NO DATA"
)
_INSERT_STAGED = (
    f"INSERT INTO registrations ({_COLUMNS}) SELECT {_COLUMNS} FROM registration_staging "  # noqa: S608
    "ON CONFLICT DO NOTHING RETURNING id, ticket"
)


def _insert_registrations(session: Session,
                          rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert what fits the one-active-registration rule; (id, ticket) of the rows written."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return [(r[0], r[1]) for r in session.execute(
            _insert(session, REGISTRATIONS).returning(REGISTRATIONS.c.id,
                                                      REGISTRATIONS.c.ticket), rows)]
    # PostgreSQL: COPY into a per-connection staging table, then one INSERT … SELECT with
    # ON CONFLICT DO NOTHING. Much faster than a statement with thousands of parameters.
    session.execute(text(_CREATE_STAGING))
    session.execute(text("DELETE FROM registration_staging"))
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(
            f"COPY registration_staging ({_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c]) for c in _STAGED])
    result = session.execute(text(_INSERT_STAGED))
    return [(r[0], r[1]) for r in result]


def _insert(session: Session, table: Any) -> Insert:
    # ON CONFLICT DO NOTHING: a redelivered message (same ticket) or a second active
    # registration of one child (the partial unique index) inserts nothing.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


@batch_handler("registration.submit")
def handle_registration_submit(session: Session, items: list[tuple[str, dict[str, Any]]],
                               effects: Effects) -> None:
    """Re-check a batch of submissions, write them with history and notice, in one go."""
    # A redelivery may put one ticket in a batch twice: handle it once.
    payloads = list({payload["ticket"]: payload for _mid, payload in reversed(items)}.values())
    payloads.reverse()
    owners = dict(session.execute(
        select(Child.id, Guardian.user_id).join(Guardian, Child.guardian_id == Guardian.id)
        .where(Child.id.in_({p["child_id"] for p in payloads}))).all())
    upload_owners = dict(session.execute(
        select(Upload.id, Upload.owner_user_id).where(
            Upload.id.in_({u for p in payloads for u in p["upload_ids"]}),
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
        rows = [{
            "season_id": p["season_id"], "child_id": p["child_id"], "school_id": p["school_id"],
            "submitted_by_user_id": p["user_id"], "basis": Basis(p["basis"]),
            "status": RegistrationStatus.SUBMITTED, "out_of_zone": bool(p["out_of_zone"]),
            "ticket": p["ticket"], "created_at": now, "updated_at": now,
        } for p in candidates]
        for registration_id, ticket in _insert_registrations(session, rows):
            accepted[ticket] = registration_id
            fresh.add(ticket)
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

    new = [p for p in candidates if p["ticket"] in fresh]
    if new:
        events = [{
            "registration_id": accepted[p["ticket"]], "status": RegistrationStatus.SUBMITTED,
            "occurred_at": now, "actor_user_id": p["user_id"], "actor_role": "parent",
        } for p in new]
        links = [{"registration_id": accepted[p["ticket"]], "upload_id": u}
                 for p in new for u in p["upload_ids"]]
        # The "registration received" notice, in the same transaction as the registration.
        notices = [{
            "user_id": p["user_id"], "template_key": "registration_received",
            "data": {"school": schools[p["school_id"]], "ticket": p["ticket"],
                     "submitted_at": p["submitted_at"], "status": "已受理"},
            "page": f"pages/registrations/detail?id={accepted[p['ticket']]}",
            "dedupe_key": f"registration.received:{accepted[p['ticket']]}",
            "status": NoticeStatus.PENDING, "attempts": 0, "created_at": now,
        } for p in new]
        for table, rows in ((EVENTS, events), (registration_uploads, links),
                            (NOTICES, notices)):
            _bulk_insert(session, table, rows)

    outcomes = [(p["ticket"], accepted[p["ticket"]]) for p in candidates
                if p["ticket"] in accepted]

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
