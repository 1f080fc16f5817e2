"""Databases of a test's own, for tests where other connections or processes commit rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from backend.core.db import db, make_engine
from backend.migrations.runner import upgrade


@contextmanager
def private_database(tmp_path: Path, name: str = "private",
                     revision: str = "head") -> Iterator[tuple[str, Engine]]:
    """A migrated database of our own (at `revision`), for tests where another process
    commits rows or a migration is run on rows written before it.

    Such tests cannot run in the per-test transaction that is rolled back, and must not
    leave committed rows where other tests count them. PostgreSQL: a fresh schema in
    TEST_DATABASE_URL, dropped afterwards; otherwise a SQLite file in `tmp_path`.
    """
    base = os.environ.get("TEST_DATABASE_URL", "")
    schema = None
    if base:
        schema = f"{name}_{uuid.uuid4().hex[:12]}"
        admin = make_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
    try:
        with bound_database(url, revision) as engine:
            yield url, engine
    finally:
        if schema is not None:
            admin = make_engine(base)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


@contextmanager
def bound_database(url: str, revision: str = "head") -> Iterator[Engine]:
    """Migrate the database at `url` and make it the app's (`db.session`) for a while."""
    upgrade(url, revision)
    engine = make_engine(url)
    saved = db.session_factory.kw.get("bind")
    db.bind_to(engine)
    try:
        yield engine
    finally:
        db.session.remove()
        db.bind_to(saved)
        engine.dispose()
