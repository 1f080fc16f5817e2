"""What the intake needs about a child and its documents, readable without the database.

At the opening minute, and while PostgreSQL is unavailable for a while, submissions must
still be taken: the intake reads these facts from Redis, filling them from the database
on a miss (cache-aside). Anything that changes them forgets the cached copy.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from backend.core.db import db
from backend.core.errors import ApiError
from backend.core.jobs import INTAKE
from backend.core.redis import redis_store
from backend.identity.models import Child, Guardian
from backend.schools.models import Region
from backend.uploads.models import Upload
from backend.verification.services import DocumentStates, document_states

TTL = 30 * 24 * 3600


@dataclass(frozen=True)
class ChildFacts:
    """Who owns the child, and what the intake checks about it."""

    owner_user_id: int
    authority_id: int  # of the household region: private schools admit county-wide only
    birth_date: dt.date
    hukou_region_id: int
    residence_region_id: int | None
    has_residence_permit: bool
    categories: list[str]
    # Documents government data confirmed (upload kinds), and why the failed checks failed
    # (kind → message): they ride here so the intake needs no other round trip.
    verified: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _key(kind: str, ident: object) -> str:
    return redis_store.key(INTAKE, kind, ident)


def _redis() -> Any:
    return redis_store.client


def _database_down() -> ApiError:
    return ApiError(503, "SERVICE_UNAVAILABLE", "系统繁忙，请稍后再试",
                    headers={"Retry-After": "10"})


def child_key(child_id: int) -> str:
    """Where a child's facts are cached (for callers reading them in their own pipeline)."""
    return _key("facts-child", child_id)


def upload_key(upload_id: str) -> str:
    """Where a document's facts are cached."""
    return _key("facts-upload", upload_id)


def child(child_id: int) -> ChildFacts | None:
    """The child's facts (None when there is no such child)."""
    return child_from(child_id, _redis().get(child_key(child_id)))


def child_from(child_id: int, cached: Any) -> ChildFacts | None:
    """The child's facts from the value read at `child_key`, else from the database."""
    if cached is not None:
        data = json.loads(cached)
        if set(data) == set(ChildFacts.__dataclass_fields__):  # an older shape: refetch
            return ChildFacts(**{**data,
                                 "birth_date": dt.date.fromisoformat(data["birth_date"])})
        _redis().delete(_key("facts-child", child_id))
    try:
        text = _read_child_json(child_id)
        if text is None:
            return None
    except (OperationalError, InterfaceError) as exc:
        raise _database_down() from exc
    # NX: a writer that committed meanwhile has already stored fresher facts; never
    # overwrite them with what this reader saw before that commit.
    _redis().set(_key("facts-child", child_id), text, ex=TTL, nx=True)
    return _facts_of(text)


def read_child(child_id: int) -> ChildFacts | None:
    """The child's facts as this transaction sees them, leaving the cache alone."""
    text = _read_child_json(child_id)
    return None if text is None else _facts_of(text)


def read_uploads(upload_ids: list[str]) -> dict[str, tuple[int, str]]:
    """Owner and kind of each unpurged upload as this transaction sees them (no cache)."""
    if not upload_ids:
        return {}
    return {upload_id: (owner, kind.value) for upload_id, owner, kind in db.session.execute(
        select(Upload.id, Upload.owner_user_id, Upload.kind).where(
            Upload.id.in_(upload_ids), Upload.purged_at.is_(None)))}


def _facts_of(text: str) -> ChildFacts:
    data = json.loads(text)
    return ChildFacts(**{**data, "birth_date": dt.date.fromisoformat(data["birth_date"])})


def _child_query() -> Any:
    return (select(Child, Guardian.user_id, Region.authority_id)
            .join(Guardian, Child.guardian_id == Guardian.id)
            .join(Region, Child.hukou_region_id == Region.id))


def refresh_children(child_ids: list[int]) -> None:
    """After a committed change (owner, address, groups): store the facts as they are now."""
    if not child_ids:
        return
    rows = db.session.execute(_child_query().where(Child.id.in_(child_ids))).all()
    states = _states(child_ids)
    with _redis().pipeline(transaction=False) as pipe:
        for found, owner, authority_id in rows:
            pipe.set(_key("facts-child", found.id),
                     _child_json(found, owner, authority_id, states.get(found.id)), ex=TTL)
        pipe.execute()


def uploads(upload_ids: list[str]) -> dict[str, tuple[int, str]]:
    """Owner and kind of each known, unpurged upload."""
    if not upload_ids:
        return {}
    return uploads_from(upload_ids, _redis().mget([upload_key(u) for u in upload_ids]))


def uploads_from(upload_ids: list[str], values: list[Any]) -> dict[str, tuple[int, str]]:
    """Owner and kind of each upload, from the values read at `upload_key`, else the database."""
    known = {u: tuple(json.loads(v)) for u, v in zip(upload_ids, values, strict=True)
             if v is not None}
    missing = [u for u in upload_ids if u not in known]
    if missing:
        try:
            rows = db.session.execute(select(Upload.id, Upload.owner_user_id, Upload.kind).where(
                Upload.id.in_(missing), Upload.purged_at.is_(None))).all()
        except (OperationalError, InterfaceError) as exc:
            raise _database_down() from exc
        with _redis().pipeline() as pipe:
            for upload_id, owner, kind in rows:
                known[upload_id] = (owner, kind.value)
                # NX as for children: never overwrite what a committed change stored.
                pipe.set(_key("facts-upload", upload_id), json.dumps([owner, kind.value]),
                         ex=TTL, nx=True)
            pipe.execute()
    return known


def _states(child_ids: list[int]) -> dict[int, DocumentStates]:
    return document_states(child_ids, db.session)


def _read_child_json(child_id: int) -> str | None:
    """One child's facts as this transaction sees them, as cached (None: no such child)."""
    row = db.session.execute(_child_query().where(Child.id == child_id)).first()
    if row is None:
        return None
    found, owner, authority_id = row
    return _child_json(found, owner, authority_id, _states([child_id]).get(child_id))


def _child_json(found: Child, owner: int, authority_id: int,
                states: DocumentStates | None) -> str:
    return json.dumps({
        "owner_user_id": owner, "authority_id": authority_id,
        "birth_date": found.birth_date.isoformat(),
        "hukou_region_id": found.hukou_region_id,
        "residence_region_id": found.residence_region_id,
        "has_residence_permit": bool(found.residence_permit),
        "categories": list(found.categories),
        "verified": states.verified if states else [],
        "refused": states.refused if states else {}}, ensure_ascii=False)


def warm_all(batch: int = 2000) -> tuple[int, int]:
    """Fill the cache for every child and unpurged upload (before the window opens)."""
    children = uploads_done = 0
    last = 0
    while True:
        rows = db.session.execute(
            _child_query().where(Child.id > last).order_by(Child.id).limit(batch)).all()
        if not rows:
            break
        states = _states([found.id for found, _owner, _authority in rows])
        with _redis().pipeline(transaction=False) as pipe:
            for found, owner, authority_id in rows:
                pipe.set(_key("facts-child", found.id),
                         _child_json(found, owner, authority_id, states.get(found.id)),
                         ex=TTL, nx=True)
            pipe.execute()
        children += len(rows)
        last = rows[-1][0].id
        db.session.expunge_all()
    last_upload = ""
    while True:
        upload_rows = db.session.execute(
            select(Upload.id, Upload.owner_user_id, Upload.kind)
            .where(Upload.purged_at.is_(None), Upload.id > last_upload)
            .order_by(Upload.id).limit(batch)).all()
        if not upload_rows:
            break
        with _redis().pipeline(transaction=False) as pipe:
            for upload_id, owner, kind in upload_rows:
                pipe.set(_key("facts-upload", upload_id), json.dumps([owner, kind.value]),
                         ex=TTL)
            pipe.execute()
        uploads_done += len(upload_rows)
        last_upload = upload_rows[-1][0]
    return children, uploads_done


def refresh_uploads(upload_ids: list[str]) -> None:
    """After a committed change of owner: store the documents' facts as they are now."""
    if not upload_ids:
        return
    rows = db.session.execute(select(Upload.id, Upload.owner_user_id, Upload.kind).where(
        Upload.id.in_(upload_ids), Upload.purged_at.is_(None))).all()
    with _redis().pipeline(transaction=False) as pipe:
        for upload_id, owner, kind in rows:
            pipe.set(_key("facts-upload", upload_id), json.dumps([owner, kind.value]), ex=TTL)
        pipe.execute()


def forget_uploads(upload_ids: list[str]) -> None:
    """Drop cached upload facts after a delete or purge."""
    if upload_ids:
        _redis().delete(*[_key("facts-upload", u) for u in upload_ids])
