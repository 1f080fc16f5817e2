"""The guardian's consent before a child's data is saved (《个人信息保护法》第三十一条): the
text and version come from one public endpoint, POST /me/children refuses without a consent
to that version, the consent is recorded with its time, version and channel, /me shows it,
and the database itself refuses a child without one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from backend.core.db import db, utcnow
from backend.identity.consent import CONSENT_TEXT, CONSENT_VERSION
from backend.identity.models import (
    Child,
    ConsentChannel,
    DocumentType,
    GuardianConsent,
    Sex,
)
from backend.identity.services import ConsentGiven
from backend.schools.models import Region, RegionLevel
from tests.conftest import bearer
from tests.factories import (
    make_authority,
    make_guardian,
    make_id_number,
    make_region,
    make_season,
)

Login = Callable[..., dict[str, Any]]
URL = "/api/v1/me/children"
AGREED = {"version": CONSENT_VERSION, "agreed": True}


@pytest.fixture()
def village(session: Any) -> Region:
    """A village of a county with a current season whose purge date is set."""
    authority = make_authority()
    town = make_region(authority, name="临泉镇")
    season = make_season(authority, year=utcnow().year + 1)
    season.purge_personal_data_after = dt.date(utcnow().year + 1, 12, 31)
    db.session.flush()
    return make_region(authority, level=RegionLevel.VILLAGE, parent=town, name="示例一村")


@pytest.fixture()
def parent(client: FlaskClient, login_parent: Login, session: Any) -> dict[str, str]:
    """A parent whose real-name binding is done."""
    token = login_parent()["token"]
    bound = client.post("/api/v1/me/identity", headers=bearer(token), json={
        "name": "王示例", "relation": "mother",
        "id_number": make_id_number(dt.date(1988, 6, 15), 913, male=False)})
    assert bound.status_code == 201, bound.get_json()
    return {"token": token}


def _child_body(village: Region, **extra: Any) -> dict[str, Any]:
    return {"name": "王小示", "id_number": make_id_number(dt.date(2018, 8, 1), 923),
            "hukou": {"region_code": village.code, "address": "示例路 1 号"}, **extra}


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_consent_text_is_public_cacheable_and_names_its_version(
        client: FlaskClient, village: Region) -> None:
    response = client.get("/api/v1/privacy/consent-text",
                          query_string={"authority": village.authority.code})
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    body = response.get_json()
    assert body["version"] == CONSENT_VERSION and body["text"] == CONSENT_TEXT
    assert "第三十一条" in body["text"] and body["title"] == "儿童个人信息处理监护人同意书"
    assert body["purge_personal_data_after"] == f"{utcnow().year + 1}-12-31"


def test_the_consent_text_without_a_season_has_no_purge_date(
        client: FlaskClient, session: Any) -> None:
    authority = make_authority()
    response = client.get("/api/v1/privacy/consent-text",
                          query_string={"authority": authority.code})
    assert response.status_code == 200
    assert response.get_json()["purge_personal_data_after"] is None


@pytest.mark.parametrize(("consent", "code", "field"), [
    (None, "VALIDATION_FAILED", "guardian_consent"),
    ({"version": CONSENT_VERSION, "agreed": False}, "GUARDIAN_CONSENT_REQUIRED",
     "guardian_consent"),
    ({"version": "2000-1", "agreed": True}, "GUARDIAN_CONSENT_OUTDATED", "guardian_consent"),
    ({"agreed": True}, "VALIDATION_FAILED", "guardian_consent.version"),
])
def test_a_child_is_not_saved_without_consent_to_the_current_text(
        client: FlaskClient, parent: dict[str, str], village: Region,
        consent: dict[str, Any] | None, code: str, field: str) -> None:
    body = _child_body(village, **({"guardian_consent": consent} if consent else {}))
    response = client.post(URL, json=body, headers=bearer(parent["token"]))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert [f["field"] for f in error["details"]["fields"]] == [field]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in error["message"][:2])
    assert _count(Child) == 0 and _count(GuardianConsent) == 0


def test_with_consent_the_child_and_its_consent_are_recorded_and_me_shows_them(
        client: FlaskClient, parent: dict[str, str], village: Region) -> None:
    before = utcnow()
    response = client.post(URL, json=_child_body(village, guardian_consent=AGREED),
                           headers=bearer(parent["token"]))
    assert response.status_code == 201, response.get_json()
    child = db.session.get(Child, response.get_json()["id"])
    assert child is not None
    consent = child.consent
    assert consent.version == CONSENT_VERSION
    assert consent.channel is ConsentChannel.MINI_PROGRAM
    assert consent.guardian_id == child.guardian_id and consent.recorded_by_user_id is None
    assert consent.agreed_at is not None and before <= consent.agreed_at <= utcnow()

    me = client.get("/api/v1/me", headers=bearer(parent["token"])).get_json()
    assert len(me["consents"]) == 1
    shown = me["consents"][0]
    assert shown["child_id"] == child.id and shown["version"] == CONSENT_VERSION
    assert shown["channel"] == "mini_program"
    agreed_at = dt.datetime.fromisoformat(shown["agreed_at"])
    assert agreed_at.utcoffset() == dt.timedelta(hours=8)  # Beijing time
    assert abs(agreed_at - consent.agreed_at) < dt.timedelta(seconds=1)


def test_each_child_gets_its_own_consent(
        client: FlaskClient, parent: dict[str, str], village: Region) -> None:
    for n in (925, 927):
        body = _child_body(village, guardian_consent=AGREED,
                           id_number=make_id_number(dt.date(2018, 7, 1), n))
        assert client.post(URL, json=body, headers=bearer(parent["token"])).status_code == 201
    me = client.get("/api/v1/me", headers=bearer(parent["token"])).get_json()
    assert sorted(c["child_id"] for c in me["consents"]) == sorted(
        c["id"] for c in me["children"])
    assert _count(GuardianConsent) == 2


# --- the database enforces it ---------------------------------------------------------------


def _child_row(guardian_id: int, village: Region, **extra: Any) -> dict[str, Any]:
    return {"guardian_id": guardian_id, "name": "王小示",
            "document_type": DocumentType.RESIDENT_ID, "birth_date": dt.date(2018, 3, 1),
            "sex": Sex.MALE, "hukou_region_id": village.id, "hukou_address": "",
            "categories": [], **extra}


def test_the_database_refuses_a_child_without_a_consent(village: Region) -> None:
    guardian = make_guardian()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Child).values(**_child_row(guardian.id, village)))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Child).values(**_child_row(guardian.id, village,
                                                            consent_id=None)))


def test_the_database_refuses_another_guardians_or_a_shared_consent(village: Region) -> None:
    guardian, other = make_guardian(), make_guardian()
    consent = ConsentGiven(ConsentChannel.MINI_PROGRAM).record(guardian.id)
    db.session.add(consent)
    db.session.flush()
    # Given by someone else than the child's guardian.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Child).values(**_child_row(other.id, village,
                                                            consent_id=consent.id)))
    db.session.execute(insert(Child).values(**_child_row(guardian.id, village,
                                                        consent_id=consent.id)))
    # One consent, one child.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Child).values(**_child_row(guardian.id, village,
                                                            consent_id=consent.id)))


@pytest.mark.parametrize("row", [
    {"channel": ConsentChannel.COUNTER, "version": CONSENT_VERSION},  # counter without staff
    {"channel": ConsentChannel.MINI_PROGRAM, "version": ""},
    {"channel": ConsentChannel.MINI_PROGRAM, "version": "legacy"},
    {"channel": ConsentChannel.LEGACY, "version": "legacy"},  # legacy with a time
])
def test_the_database_refuses_an_inconsistent_consent(village: Region,
                                                      row: dict[str, Any]) -> None:
    guardian = make_guardian()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(GuardianConsent).values(
            guardian_id=guardian.id, agreed_at=utcnow(), created_at=utcnow(), **row))
