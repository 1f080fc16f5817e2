"""Alembic migrations are the schema: upgrading an empty database gives what the models say."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from backend.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff: list[Any] = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_model_table_exists_with_named_constraints(engine: Engine) -> None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    # Naming conventions: constraints have stable names on every backend.
    uniques = inspector.get_unique_constraints("schools")
    assert {"uq_schools_code"} <= {u["name"] for u in uniques}
    checks = {c["name"] for c in inspector.get_check_constraints("seat_plans")}
    assert "ck_seat_plans_class_size_range" in checks
