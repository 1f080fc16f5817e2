"""Published lists: the admitted list (masked), the yes/no look-up, the registry export."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from backend.accounts.models import User
from backend.admission.models import OfferStatus
from backend.admission.services import pseudonym
from backend.audit.models import AuditEvent
from backend.core import pii
from backend.core.db import db, utcnow
from backend.registrations.models import Registration
from tests.admission._support import (
    County,
    applicant,
    build_county,
    child_of,
    freeze,
    offers_of,
)
from tests.conftest import FULL_ID_NUMBER, bearer


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


@pytest.fixture()
def admitted(client: FlaskClient, county: County,
             login_parent: Callable[..., dict[str, Any]]) -> list[Registration]:
    """School B settled: three admitted, two confirmed (ours through the API), one not yet."""
    login = login_parent()
    parent = db.session.get(User, login["user"]["id"])
    ours = applicant(county, county.school_b, user=parent, name="孙小红",
                     id_number=None)
    other = applicant(county, county.school_b, name="周大伟")
    pending = applicant(county, county.school_b, name="吴小丽")
    assert freeze(client, county, county.school_b, source="").status_code == 201
    offers = {o.registration_id: o for o in offers_of(county.school_b)}
    confirmed = client.post(f"/api/v1/offers/{offers[ours.id].id}/confirm",
                            headers=bearer(login["token"]))
    assert confirmed.status_code == 200
    offers[other.id].status = OfferStatus.CONFIRMED
    offers[other.id].decided_at = utcnow()
    db.session.flush()
    return [ours, other, pending]


def _list_url(county: County) -> str:
    return f"/api/v1/admitted-lists/{county.school_b.code}?season_id={county.season.id}"


def _publish(client: FlaskClient, county: County, who: str = "bureau") -> Any:
    return client.post("/api/v1/admin/admitted-lists", headers=county.auth(who), json={
        "season_id": county.season.id, "school_id": county.school_b.id})


def _lookup(client: FlaskClient, county: County, registration: Registration,
            **override: Any) -> Any:
    child = child_of(registration)
    assert child.id_number_enc
    number = pii.decrypt(child.id_number_enc, "child.id_number")
    body = {"season_id": county.season.id, "school_code": county.school_b.code,
            "id_last4": number[-4:], "birth_date": child.birth_date.isoformat(), **override}
    return client.post("/api/v1/admitted-lists/lookup", json=body)


def test_the_admitted_list_is_public_once_published_with_masked_names(
        client: FlaskClient, county: County, admitted: list[Registration]) -> None:
    assert client.get(_list_url(county)).status_code == 404
    assert _publish(client, county, "a").status_code == 403
    published = _publish(client, county)
    assert published.status_code == 200, published.get_json()
    assert _publish(client, county).get_json() == published.get_json()  # once
    body = client.get(_list_url(county)).get_json()
    assert body["total"] == 2 and body["school"]["code"] == county.school_b.code
    assert sorted(row["masked_name"] for row in body["items"]) == ["周*伟", "孙*红"]
    assert {row["pseudonym"] for row in body["items"]} == {
        pseudonym(county.season.id, r.child_id) for r in admitted[:2]}
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "admission.list_publish")) is not None


def test_the_lookup_answers_yes_or_no_and_nothing_else(
        client: FlaskClient, county: County, admitted: list[Registration]) -> None:
    ours, _other, pending = admitted
    assert _lookup(client, county, ours).status_code == 404  # not published yet
    _publish(client, county)
    found = _lookup(client, county, ours)
    assert found.status_code == 200 and found.get_json()["admitted"] is True
    assert set(found.get_json()) == {"admitted", "message"}
    assert _lookup(client, county, ours, id_last4="0000").get_json()["admitted"] is False
    assert _lookup(client, county, ours, birth_date="2000-01-01").get_json()[
        "admitted"] is False
    # An offer not yet confirmed is not on the list.
    assert _lookup(client, county, pending).get_json()["admitted"] is False
    assert _lookup(client, county, ours, school_code=county.school_a.code).status_code == 404
    assert _lookup(client, county, ours, id_last4="12345").status_code == 422


def test_the_lookup_is_rate_limited_per_address(
        client: FlaskClient, county: County, admitted: list[Registration], app: Flask,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(client, county)
    monkeypatch.setitem(app.config, "ADMISSION_LOOKUP_LIMIT_PER_ADDRESS", "3/minute")
    codes = [_lookup(client, county, admitted[0], id_last4=f"{n:04d}").status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_registry_export_is_the_bureaus_in_full_and_audited(
        client: FlaskClient, county: County, admitted: list[Registration]) -> None:
    url = f"/api/v1/admin/student-registry.xlsx?season_id={county.season.id}"
    assert client.get(url, headers=county.auth("a")).status_code == 403
    assert client.get(url, headers=county.auth("other_bureau")).status_code == 404
    response = client.get(url + f"&school_id={county.school_b.id}", headers=county.auth())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True)["新生学籍"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:4] == ["学校代码", "学校", "个人编号", "儿童姓名"]
    names = sorted(r[header.index("儿童姓名")] for r in rows[1:])
    assert names == ["周大伟", "孙小红"]  # confirmed only, in full
    numbers = [r[header.index("证件号码")] for r in rows[1:]]
    assert all(FULL_ID_NUMBER.fullmatch(n) for n in numbers)
    assert {r[header.index("监护人电话")] for r in rows[1:]} == {"13800000042"}
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "admission.registry_export"))
    assert event is not None and event.details["rows"] == 2
