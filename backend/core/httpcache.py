"""HTTP caching of the public catalogue reads: ETag, Cache-Control and 304.

At the opening hour every family reads the same season, schools and zones; staff change them
rarely. A view wrapped in `public_cache` keeps its last 200 answer in this process, keyed by
path and query string, and answers from it while the catalogue version in Redis is unchanged
and the answer is fresh: no query at all. The version is read from Redis at most once a
second per process (CATALOGUE_VERSION_CHECK_SECONDS), so another process's change shows
within that second; the process that made it sees it at once. The answer carries a
strong ETag (a hash of the body) and `Cache-Control: public, max-age=N`; a client that sends
the ETag back in If-None-Match gets a 304 with no body.

The version changes when a session writes a watched table and again once it has committed:
domains name their catalogue tables with `watch()`. The bump after the commit is the one that
counts (a request between the write and the commit may have kept the old rows under the
first bump's version). The version is a random token, so a Redis that lost its keys
never matches an answer kept from before. An answer also stops being fresh at the time a view
names with `fresh_until()` (a season opening or closing changes what the season endpoint says).

Only for answers that are the same for everyone: never a view that reads the caller.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, current_app, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from backend.core.db import utcnow
from backend.core.redis import redis_store

logger = logging.getLogger(__name__)

_WATCHED: set[str] = set()
_CHANGED = "catalogue_changed"
# At most this many answers per process (paths × query strings); then it starts again.
_MAX_ENTRIES = 2000


def watch(*models: Any) -> None:
    """Name ORM models whose tables the public catalogue answers are built from."""
    _WATCHED.update(m.__table__.name for m in models)


def version_key() -> str:
    """The Redis key holding the catalogue's current version token."""
    return redis_store.key("catalogue", "version")


def bump() -> None:
    """A new catalogue version: every kept answer is stale from now on."""
    redis_store.client.set(version_key(), secrets.token_hex(8))
    if has_app_context() and "httpcache" in current_app.extensions:
        _store().checked = None  # this process sees its own change at once


def fresh_until(moment: dt.datetime | None) -> None:
    """The answer being built stops being fresh at `moment` (e.g. a season's closing)."""
    if moment is None or moment <= utcnow():
        return
    earlier = g.get("_fresh_until")
    g._fresh_until = moment if earlier is None else min(earlier, moment)


@dataclass(frozen=True)
class _Entry:
    version: bytes
    etag: str  # unquoted
    body: bytes
    mimetype: str
    until: dt.datetime
    # The view's own Cache-Control, for answers fixed by the code (e.g. the requirements).
    cache_control: str | None


class _Store:
    """One process's kept answers (per app, so test apps never share them)."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.lock = threading.Lock()
        # The version last read from Redis and when (time.monotonic()).
        self.checked: tuple[bytes, float] | None = None


def _store() -> _Store:
    store: _Store = current_app.extensions["httpcache"]
    return store


def _version() -> bytes | None:
    """The catalogue version (read from Redis at most every CATALOGUE_VERSION_CHECK_SECONDS
    per process), made on first use; None when Redis cannot say."""
    store = _store()
    checked = store.checked
    if checked is not None and time.monotonic() - checked[1] < float(
            current_app.config["CATALOGUE_VERSION_CHECK_SECONDS"]):
        return checked[0]
    version = _read_version()
    store.checked = (version, time.monotonic()) if version is not None else None
    return version


def _read_version() -> bytes | None:
    try:
        version: Any = redis_store.client.get(version_key())
        if version is None:  # a new Redis, or one that lost its keys
            token = secrets.token_hex(8)
            if redis_store.client.set(version_key(), token, nx=True):
                return token.encode()
            version = redis_store.client.get(version_key())
        return version
    except redis.RedisError:
        logger.warning("catalogue cache: Redis unavailable, answering uncached")
        return None


def _answer(entry: _Entry, now: dt.datetime, max_age: int) -> Response:
    seconds = max(0, min(max_age, int((entry.until - now).total_seconds())))
    if request.if_none_match.contains(entry.etag):
        response = Response(status=304)
    else:
        response = Response(entry.body, mimetype=entry.mimetype)
    response.set_etag(entry.etag)
    response.headers["Cache-Control"] = entry.cache_control or f"public, max-age={seconds}"
    return response


def public_cache(view: Callable[..., Response]) -> Callable[..., Response]:
    """Keep and revalidate a public view's 200 answers (above `@api`)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        version = _version()
        if version is None:
            return view(*args, **kwargs)
        max_age = int(current_app.config["CATALOGUE_CACHE_SECONDS"])
        key = request.full_path
        store = _store()
        now = utcnow()
        entry = store.entries.get(key)
        if entry is None or entry.version != version or now >= entry.until:
            g.pop("_fresh_until", None)
            response = view(*args, **kwargs)
            if response.status_code != 200 or response.direct_passthrough:
                return response
            body = response.get_data()
            until = min(now + dt.timedelta(seconds=max_age),
                        g.pop("_fresh_until", None) or now + dt.timedelta(seconds=max_age))
            entry = _Entry(version=version, etag=hashlib.sha256(body).hexdigest()[:32],
                           body=body, mimetype=response.mimetype or "application/json",
                           until=until, cache_control=response.headers.get("Cache-Control"))
            with store.lock:
                if len(store.entries) >= _MAX_ENTRIES:
                    store.entries.clear()
                store.entries[key] = entry
        return _answer(entry, now, max_age)

    return wrapper


# --- invalidation: a commit that wrote a watched table bumps the version ---------------------

def _changed(session: Session) -> None:
    # Bumped now (a later request in the same transaction, or a test's, sees the change at
    # once) and again after the commit, which is the bump that counts: a request between the
    # two may have kept the rows from before the commit.
    session.info[_CHANGED] = True
    _bump_quietly()


def _bump_quietly() -> None:
    try:
        bump()
    except (redis.RedisError, RuntimeError):
        # RuntimeError: no Redis in this process (a migration). The answers stay fresh for
        # at most CATALOGUE_CACHE_SECONDS anyway.
        logger.warning("catalogue cache: could not bump the version after a change")


def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__table__", None)
        if table is not None and table.name in _WATCHED:
            _changed(session)
            return


def _orm_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None) in _WATCHED:
            _changed(state.session)


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _bump_quietly()


def _after_soft_rollback(session: Session, previous: Any) -> None:
    # Only the outermost transaction's rollback undoes the writes; a savepoint's does not
    # undo what the transaction around it wrote before.
    if previous.parent is None:
        session.info.pop(_CHANGED, None)


_listening = False


def init_app(app: Flask) -> None:
    """The per-app store, and (once per process) the session events that bump the version."""
    global _listening
    app.extensions["httpcache"] = _Store()
    if not _listening:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _orm_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        _listening = True
