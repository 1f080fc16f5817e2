"""Writing notices to the outbox (in the caller's transaction), credits, the inbox, and the
bureau's view of how delivery went."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, Insert, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.accounts import scope
from backend.accounts.models import User
from backend.core.db import db, utcnow
from backend.core.errors import ApiError
from backend.core.timeutil import local_day_end, local_day_start, zone
from backend.identity.models import Guardian
from backend.notices.models import Notice, NoticeStatus, SubscriptionCredit
from backend.notices.templates import TEMPLATE_KEYS, Template, templates_from_config
from backend.registrations import access

logger = logging.getLogger(__name__)

NOTICES = cast(Table, Notice.__table__)
CREDITS = cast(Table, SubscriptionCredit.__table__)
BULK_CHUNK = 1000


def _check_key(template_key: str) -> None:
    if template_key not in TEMPLATE_KEYS:
        raise ValueError(f"unknown notice template key {template_key!r}")


def add_notice(session: Session, *, user_id: int, template_key: str, data: dict[str, Any],
               dedupe_key: str, page: str | None = None) -> Notice:
    """Queue one notice for a user; it is sent after the caller's transaction commits."""
    _check_key(template_key)
    notice = Notice(user_id=user_id, template_key=template_key, data=data, page=page,
                    dedupe_key=dedupe_key, status=NoticeStatus.PENDING, attempts=0)
    session.add(notice)
    return notice


def _insert_ignoring_duplicates(session: Session, table: Table) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    raise RuntimeError(f"unsupported database {dialect}")


def add_notices_bulk(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Queue many notices (e.g. an announcement's fan-out); returns how many are new.

    Each row: user_id, template_key, data, dedupe_key and optionally page. A row whose
    dedupe_key is already in the outbox is skipped, so a fan-out job may run twice.
    """
    now = utcnow()
    written = 0
    chunk: list[dict[str, Any]] = []

    def flush() -> int:
        if not chunk:
            return 0
        statement = _insert_ignoring_duplicates(session, NOTICES).returning(NOTICES.c.id)
        inserted = len(session.execute(statement, chunk).all())
        chunk.clear()
        return inserted

    for row in rows:
        _check_key(row["template_key"])
        chunk.append({
            "user_id": row["user_id"], "template_key": row["template_key"],
            "data": dict(row["data"]), "page": row.get("page"),
            "dedupe_key": row["dedupe_key"], "status": NoticeStatus.PENDING, "attempts": 0,
            "created_at": now,
        })
        if len(chunk) >= BULK_CHUNK:
            written += flush()
    written += flush()
    return written


# --- templates and subscription credits -------------------------------------------------------


def current_templates() -> dict[str, Template]:
    """This deployment's notice templates (NOTICE_TEMPLATES)."""
    return templates_from_config(current_app.config)


def list_credits(user_id: int) -> list[tuple[Template, int]]:
    """Each template with the user's remaining one-time credits."""
    held: dict[str, int] = {key: count for key, count in db.session.execute(
        select(SubscriptionCredit.template_key, SubscriptionCredit.credits)
        .where(SubscriptionCredit.user_id == user_id))}
    return [(template, held.get(key, 0)) for key, template in current_templates().items()]


def _add_credit(session: Session, user_id: int, template_key: str, amount: int) -> None:
    """credits += amount for one user and key, creating the row when needed."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    values = {"user_id": user_id, "template_key": template_key, "credits": amount,
              "updated_at": now}
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(CREDITS).values(values)
    else:
        statement = sqlite.insert(CREDITS).values(values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "template_key"],
        set_={"credits": CREDITS.c.credits + amount, "updated_at": now}))


def record_subscriptions(user_id: int, results: Mapping[str, str]) -> list[tuple[Template, int]]:
    """Record wx.requestSubscribeMessage's answer: one one-time credit per "accept"."""
    for template_key, result in results.items():
        _check_key(template_key)
        # One-time subscription: every accept allows exactly one message; reject, ban and
        # filter grant nothing and leave earlier credits alone.
        if result == "accept":
            _add_credit(db.session(), user_id, template_key, 1)
    accepted = sorted(k for k, r in results.items() if r == "accept")
    logger.info("subscriptions recorded user_id=%s accepted=%s", user_id, ",".join(accepted))
    return list_credits(user_id)


def return_credit(session: Session, user_id: int, template_key: str) -> None:
    """Give back a credit WeChat did not use (the message was refused before sending)."""
    _add_credit(session, user_id, template_key, 1)


def take_credit(session: Session, user_id: int, template_key: str) -> bool:
    """Use one credit for a message about to be sent; False when there is none."""
    result = cast(CursorResult[Any], session.execute(
        update(CREDITS).where(CREDITS.c.user_id == user_id,
                              CREDITS.c.template_key == template_key, CREDITS.c.credits > 0)
        .values(credits=CREDITS.c.credits - 1, updated_at=utcnow())))
    return result.rowcount > 0


def clear_credits(session: Session, user_id: int, template_key: str) -> None:
    """WeChat says the user has no credit left (43101): believe it."""
    session.execute(update(CREDITS).where(CREDITS.c.user_id == user_id,
                                          CREDITS.c.template_key == template_key)
                    .values(credits=0, updated_at=utcnow()))


# --- the in-app inbox ------------------------------------------------------------------------


def list_notices(user_id: int, page: int, page_size: int) -> tuple[list[Notice], int, int]:
    """A page of the user's notices, newest first, with the total and unread counts."""
    mine = select(Notice).where(Notice.user_id == user_id)
    total = db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user_id))
    unread = db.session.scalar(select(func.count(Notice.id)).where(
        Notice.user_id == user_id, Notice.read_at.is_(None)))
    notices = list(db.session.scalars(mine.order_by(Notice.id.desc())
                                      .offset((page - 1) * page_size).limit(page_size)))
    return notices, total or 0, unread or 0


def mark_read(user_id: int, notice_id: int) -> Notice:
    """Mark one of the user's notices read (again is fine); someone else's is 404."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.user_id != user_id:
        raise ApiError(404, "NOTICE_NOT_FOUND", "未找到该通知")
    if notice.read_at is None:
        notice.read_at = utcnow()
    return notice


def display_zone() -> ZoneInfo:
    """The zone notices are shown in (DISPLAY_TIMEZONE, Asia/Shanghai by default)."""
    return zone(current_app.config.get("DISPLAY_TIMEZONE"))


@dataclass(frozen=True)
class DeliveryFilters:
    """What the bureau's delivery view is filtered by (None: any)."""

    status: str | None = None
    template: str | None = None
    school_code: str | None = None
    reference: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def staff_notices(viewer: User, filters: DeliveryFilters, page: int, page_size: int,
                  ) -> tuple[list[tuple[Notice, Guardian | None]], int, dict[str, int]]:
    """A page of the notices sent to families with a registration in the viewer's scope,
    newest first, each with the family's guardian; the total; the count per status."""
    school_id = scope.school(viewer, code=filters.school_code).id \
        if filters.school_code else None
    conditions: list[ColumnElement[bool]] = [
        Notice.user_id.in_(access.families_in_scope(viewer, school_id))]
    if filters.reference:
        family = access.registration_by_reference(viewer, filters.reference)
        conditions.append(Notice.user_id == family.submitted_by_user_id)
    if filters.template:
        conditions.append(Notice.template_key == filters.template)
    if filters.date_from:
        conditions.append(Notice.created_at >= local_day_start(filters.date_from))
    if filters.date_to:
        conditions.append(Notice.created_at < local_day_end(filters.date_to))
    counts = {status.value: 0 for status in NoticeStatus}
    for status, count in db.session.execute(
            select(Notice.status, func.count()).where(*conditions).group_by(Notice.status)):
        counts[status.value] = count
    if filters.status:
        conditions.append(Notice.status == NoticeStatus(filters.status))
    total = db.session.scalar(select(func.count()).select_from(Notice).where(*conditions)) or 0
    rows = db.session.execute(
        select(Notice, Guardian).outerjoin(Guardian, Guardian.user_id == Notice.user_id)
        .where(*conditions).order_by(Notice.id.desc())
        .offset((page - 1) * page_size).limit(page_size))
    return [(notice, guardian) for notice, guardian in rows], total, counts
