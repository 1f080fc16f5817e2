"""Exports: an .xlsx of the staff list, masked; the bureau's full export is audited."""

from __future__ import annotations

import gc
import io
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.core import pii
from backend.core.db import db
from backend.identity.models import Child
from backend.registrations.models import Registration, RegistrationStatus
from tests.conftest import FULL_ID_NUMBER, FULL_PHONE
from tests.reviews._support import (
    County,
    add_registration,
    build_county,
    make_family,
    submit,
    upload,
)

EXPORT = "/api/v1/staff/registrations/export.xlsx"


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """A county with an open window, schools A and B and their reviewers."""
    return build_county(login_staff)


def _sheet(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.get_data()[:200]
    assert response.mimetype == ("application/vnd.openxmlformats-officedocument"
                                 ".spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in workbook["报名名单"].iter_rows(values_only=True)]


def _column(rows: list[list[Any]], header: str) -> list[Any]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def _child_id_number(registration_id: int) -> str:
    registration = db.session.get(Registration, registration_id)
    assert registration is not None
    child = db.session.get(Child, registration.child_id)
    assert child is not None and child.id_number_enc
    return pii.decrypt(child.id_number_enc, "child.id_number")


def test_a_school_exports_its_own_registrations_masked(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county, name="李小明")
    ours = submit(client, family, county.school_a, [upload(client, family)])
    also_ours = add_registration(county, county.school_a, name="王芳").id
    theirs = add_registration(county, county.school_b).id

    response = client.get(EXPORT, headers=county.auth("a"))
    rows = _sheet(response)
    assert rows[0][:6] == ["报名编号", "回执号", "学年", "学校", "审核状态", "儿童姓名"]
    assert "出生日期" not in rows[0]
    assert _column(rows, "报名编号") == [ours, also_ours]
    assert theirs not in _column(rows, "报名编号")
    assert _column(rows, "儿童姓名") == ["李*明", "王*"]
    assert _column(rows, "监护人电话")[0] == "138****0042"
    assert _column(rows, "审核状态") == ["已受理", "已受理"]
    assert _column(rows, "户籍地")[0] == "北镇 北村"
    masked_id = _column(rows, "儿童证件号码")[0]
    assert masked_id.count("*") == 8 and masked_id != _child_id_number(ours)
    cells = " ".join(str(c) for row in rows for c in row if c is not None)
    assert not FULL_ID_NUMBER.search(cells) and not FULL_PHONE.search(cells)

    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert re.search(rf'filename="registrations-{county.school_a.code}-\d{{8}}-\d{{4}}'
                     r'-masked\.xlsx"', disposition)
    assert "报名名单-示例甲小学-" in unquote(disposition.split("filename*=UTF-8''")[1])
    assert response.headers["Cache-Control"] == "private, no-store"
    assert int(response.headers["Content-Length"]) == len(response.get_data())

    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "registrations.export")).all()
    assert len(audit) == 1 and audit[0].details == {"filters": {}, "full": False, "rows": 2}
    assert audit[0].object_type == "school" and audit[0].object_id == str(county.school_a.id)


def test_exports_use_the_lists_filters(client: FlaskClient, county: County) -> None:
    add_registration(county, county.school_a)
    returned = add_registration(county, county.school_a, status=RegistrationStatus.RETURNED).id
    rows = _sheet(client.get(EXPORT, query_string={"status": "returned"},
                             headers=county.auth("a")))
    assert _column(rows, "报名编号") == [returned]
    assert _column(rows, "审核状态") == ["退回修改"]
    empty = _sheet(client.get(EXPORT, query_string={"q": "张*明"}, headers=county.auth("a")))
    assert len(empty) == 1  # the header only


def test_school_staff_cannot_export_another_school_or_in_full(client: FlaskClient,
                                                              county: County) -> None:
    add_registration(county, county.school_b)
    other = client.get(EXPORT, query_string={"school": county.school_b.code},
                       headers=county.auth("a"))
    assert other.status_code == 404
    full = client.get(EXPORT, query_string={"full": "1"}, headers=county.auth("a"))
    assert full.status_code == 403
    assert full.get_json()["error"]["code"] == "FULL_EXPORT_FORBIDDEN"
    assert _sheet(client.get(EXPORT, headers=county.auth("other_bureau"))) == [
        _sheet(client.get(EXPORT, headers=county.auth("a")))[0]]
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "registrations.export", AuditEvent.details["full"].as_boolean()
    )).all() == []


def test_the_bureau_full_export_is_complete_and_audited(
    client: FlaskClient, county: County, login_parent: Callable[..., dict[str, Any]]
) -> None:
    family = make_family(client, login_parent, county, name="李小明")
    at_a = submit(client, family, county.school_a, [upload(client, family)])
    at_b = add_registration(county, county.school_b, name="王芳",
                            categories=["military_child"]).id

    masked = _sheet(client.get(EXPORT, headers=county.auth("bureau")))
    assert _column(masked, "报名编号") == [at_a, at_b]
    assert _column(masked, "儿童姓名") == ["李*明", "王*"]

    response = client.get(EXPORT, query_string={"full": "1", "category": "preferential"},
                          headers=county.auth("bureau"))
    rows = _sheet(response)
    assert _column(rows, "报名编号") == [at_b]
    assert _column(rows, "儿童姓名") == ["王芳"]
    assert _column(rows, "儿童证件号码") == [_child_id_number(at_b)]
    assert _column(rows, "特殊群体") == ["现役军人子女"]
    assert "出生日期" in rows[0]
    assert "-full.xlsx" in response.headers["Content-Disposition"]

    everyone = _sheet(client.get(EXPORT, query_string={"full": "true"},
                                 headers=county.auth("bureau")))
    assert _column(everyone, "儿童姓名") == ["李小明", "王芳"]
    assert _column(everyone, "监护人电话")[0] == "13800000042"
    assert _column(everyone, "儿童证件号码")[0] == _child_id_number(at_a)

    audits = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "registrations.export").order_by(AuditEvent.id)).all()
    assert [(a.details["full"], a.details["filters"], a.details["rows"]) for a in audits] == [
        (False, {}, 2), (True, {"category": "preferential"}, 1), (True, {}, 2)]
    assert all(a.actor_role == "bureau_admin" and a.object_type == "authority"
               for a in audits)


def test_rows_that_fail_midway_leave_no_half_written_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. a school filter naming another county's school, resolved while the rows are read:
    # the sheet's writer must be finished, not left to fail when it is garbage-collected.
    from backend.exports.services import write_sheet

    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def rows() -> Any:
        yield {"name": "张小示"}
        raise LookupError("refused filter")

    for _ in range(3):
        with pytest.raises(LookupError):
            write_sheet("报名名单", [("姓名", "name")], rows())
    gc.collect()
    assert unraisable == []
