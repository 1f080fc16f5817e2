"""Database base classes, the engine/session manager and after-commit hooks."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from flask import Flask, g, has_app_context, has_request_context
from flask.globals import app_ctx, request_ctx
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

# Stable constraint names so Alembic migrations are reproducible on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        value = value.astimezone(dt.UTC)
        # SQLite has no timezone type: store naive UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    """The current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class TimestampMixin:
    """created_at / updated_at columns kept in UTC."""

    created_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.current_timestamp()
    )


def normalize_database_url(url: str) -> str:
    """postgresql:// URLs (as in DATABASE_URL conventions) use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with per-backend settings (SQLite: FKs on, WAL, real savepoints)."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        in_memory = url in {"sqlite://", "sqlite:///:memory:"}
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if in_memory else None,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy drive it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    # hide_parameters: personal data in a failed statement must never reach a log.
    return create_engine(
        url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20
    )


def _session_scope() -> Hashable:
    # Each request gets its own session (its rollback never touches anyone else's work);
    # outside requests the app context (CLI) or the thread (worker) is the scope.
    if has_request_context():
        return ("request", id(request_ctx._get_current_object()))  # type: ignore[attr-defined]
    if has_app_context():
        return ("app", id(app_ctx._get_current_object()))  # type: ignore[attr-defined]
    return ("thread", threading.get_ident())


class Database:
    """Engine and request-scoped session, bound to the app by init_app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(
            self.session_factory, scopefunc=_session_scope
        )

    def init_app(self, app: Flask) -> None:
        """Create the engine from DATABASE_URL and remove the session after each request."""
        self.engine = make_engine(app.config["DATABASE_URL"], echo=app.config["DATABASE_ECHO"])
        self.session_factory.configure(bind=self.engine)
        app.extensions["database"] = self

        @app.teardown_request
        def _remove_request_session(_exc: BaseException | None) -> None:
            self.session.remove()

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def bind_to(self, bind: Any) -> None:
        """Point new sessions at another engine or connection (tests use one transaction)."""
        self.session.remove()
        if isinstance(bind, Engine):
            self.session_factory.configure(
                bind=bind, join_transaction_mode="conditional_savepoint"
            )
        else:
            self.session_factory.configure(bind=bind, join_transaction_mode="create_savepoint")


db = Database()


def after_commit(callback: Callable[[], object], *, essential: bool = False) -> None:
    """Run a side effect (queue push, notice) only after the request's transaction commits.

    A failing non-essential effect is logged and the request still succeeds (its work is
    committed); an essential one (e.g. storing the session a login returns) fails it.
    """
    if not has_app_context():
        raise RuntimeError("after_commit needs an app context")
    g.setdefault("_after_commit", []).append((callback, essential))


def run_after_commit() -> None:
    """Run the side effects queued for the transaction that just committed."""
    callbacks: list[tuple[Callable[[], object], bool]] = g.pop("_after_commit", [])
    for callback, essential in callbacks:
        try:
            callback()
        except Exception:
            if essential:
                raise
            logger.exception("after-commit effect failed request_id=%s",
                             g.get("request_id", "-"))


def commit() -> None:
    """Commit the request's transaction, then run the side effects queued for it."""
    if db.session.registry.has():  # a request that never used the database has no transaction
        db.session.commit()
    run_after_commit()


def discard_after_commit() -> None:
    """Forget queued side effects (the transaction was rolled back)."""
    if has_app_context():
        g.pop("_after_commit", None)
