"""Migration 0013 on a database that already has children: each gets a consent record of
its own labelled legacy (no agreed_at), new consents are numbered after them, and from then
on the database refuses a child without a consent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, insert, text
from sqlalchemy.exc import IntegrityError

from backend.migrations.runner import upgrade
from tests.databases import private_database

NOW = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


def _insert(engine: Engine, table: str, **row: Any) -> int:
    """A row written as the schema stands (reflected, not the current models); its id."""
    reflected = Table(table, MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        return int(conn.execute(
            insert(reflected).values(**row).returning(reflected.c.id)).scalar_one())


def _family(engine: Engine, n: int, region_id: int) -> tuple[int, int]:
    """A parent, their binding and a child, as rows written before revision 0013."""
    user = _insert(engine, "users", role="parent", openid=f"o-legacy-{n}", is_active=True,
                   created_at=NOW, updated_at=NOW)
    guardian = _insert(engine, "guardians", user_id=user, name="王示例",
                       document_type="resident_id", relation="mother",
                       verification="self_declared", created_at=NOW, updated_at=NOW)
    child = _insert(engine, "children", guardian_id=guardian, name="王小示",
                    document_type="resident_id", birth_date=dt.date(2018, 3, 1), sex="male",
                    hukou_region_id=region_id, hukou_address="", residence_address="",
                    categories=[], created_at=NOW, updated_at=NOW)
    return guardian, child


def test_existing_children_get_a_legacy_consent_and_new_ones_need_a_real_one(
        tmp_path: Path) -> None:
    with private_database(tmp_path, "consent", revision="0012") as (url, engine):
        authority = _insert(engine, "education_authorities", code="legacy", name="示例县教育局",
                            division_code="141124", timezone="Asia/Shanghai", is_sample=False,
                            created_at=NOW, updated_at=NOW)
        region = _insert(engine, "regions", authority_id=authority, code="LG-001",
                         name="示例镇", level="town", is_sample=False, created_at=NOW,
                         updated_at=NOW)
        families = [_family(engine, n, region) for n in range(3)]

        upgrade(url, "0013")

        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c.id, c.guardian_id, g.guardian_id, g.version, g.channel, g.agreed_at "
                "FROM children c JOIN guardian_consents g ON g.id = c.consent_id "
                "ORDER BY c.id")).all()
        assert [(r[0], r[1]) for r in rows] == [(child, guardian) for guardian, child in families]
        assert all(r[1] == r[2] and r[3] == "legacy" and r[4] == "legacy" and r[5] is None
                   for r in rows)

        # A new consent gets a fresh number; a child with it is accepted, one without is not.
        guardian, _child = families[0]
        consent = _insert(engine, "guardian_consents", guardian_id=guardian, version="2025-1",
                          agreed_at=NOW, channel="mini_program", created_at=NOW)
        assert consent > max(child for _guardian, child in families)
        row = {"guardian_id": guardian, "name": "王小二", "document_type": "resident_id",
               "birth_date": dt.date(2018, 4, 1), "sex": "female", "hukou_region_id": region,
               "hukou_address": "", "residence_address": "", "categories": [],
               "created_at": NOW, "updated_at": NOW}
        _insert(engine, "children", consent_id=consent, **row)
        with pytest.raises(IntegrityError):
            _insert(engine, "children", **row)
