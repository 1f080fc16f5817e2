"""The Lin County demo data: idempotent, the real 2024 timeline, an open sample season."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.accounts.models import Role, User
from backend.authorities.models import EducationAuthority
from backend.core.db import Base, db
from backend.demo.data_checks import MISMATCH_OPENID, VERIFIED_OPENID
from backend.demo.seed import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    load_demo_data,
    sample_season_year,
    staff_password,
    staff_username,
)
from backend.identity.models import Child, Guardian
from backend.registrations.models import Registration
from backend.schools.models import Region, RegionLevel, School, SchoolType, SchoolZone, SeatPlan
from backend.seasons.models import Season, SeasonPhase, SeasonStatus
from backend.seasons.services import current_season, season_state
from backend.verification.consent import DATA_CHECK_CONSENT_VERSION
from tests.conftest import bearer
from tests.govdata.conftest import _reset_gov_sim, gov_sim, govdata_config  # noqa: F401

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MODELS: tuple[type[Base], ...] = (
    EducationAuthority, Region, School, SchoolZone, Season, SeasonPhase, SeatPlan, User,
)


# Cheap Argon2 parameters keep each load fast; the hashes still verify like real ones (the
# parameters travel inside the hash), so the login tests stay honest.
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backend.demo.seed.hash_password", _FAST_HASHER.hash)


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) or 0
            for m in MODELS}


def _authority() -> EducationAuthority:
    authority = db.session.scalar(
        select(EducationAuthority).where(EducationAuthority.code == "linxian"))
    assert authority is not None
    return authority


def _season(year: int) -> Season:
    season = db.session.scalar(select(Season).where(
        Season.authority_id == _authority().id, Season.stage == "primary", Season.year == year))
    assert season is not None
    return season


def _sample_season() -> Season:
    return current_season(_authority().id)


def _local(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def test_loading_twice_changes_nothing(session: Any) -> None:
    now = _local(2030, 3, 10, 9)
    first = load_demo_data(now)
    db.session.flush()
    after_first = _counts()
    admin_hash = db.session.scalar(select(User.password_hash)
                                   .where(User.username == ADMIN_USERNAME))

    second = load_demo_data(now)
    db.session.flush()

    assert _counts() == after_first
    assert second.created == {}
    assert second.updated == {}
    assert first.created["schools"] == 10
    assert first.created["accounts"] == 11
    assert db.session.scalar(select(User.password_hash)
                             .where(User.username == ADMIN_USERNAME)) == admin_hash
    assert all(a.created for a in first.accounts)
    assert not any(a.created for a in second.accounts)
    assert "password unchanged if you changed it" in second.describe()


def test_existing_password_is_not_reset(session: Any) -> None:
    load_demo_data()
    admin = db.session.scalar(select(User).where(User.username == ADMIN_USERNAME))
    assert admin is not None
    admin.password_hash = "changed-by-someone"
    db.session.flush()

    load_demo_data()
    db.session.flush()

    assert admin.password_hash == "changed-by-someone"


def test_2024_season_is_the_plan(session: Any) -> None:
    load_demo_data(_local(2031, 5, 1, 12))
    db.session.flush()
    season = _season(2024)

    assert season.name == "2024年小学招生"
    assert season.status is SeasonStatus.ARCHIVED
    assert season.is_sample is False
    assert season.age_cutoff == dt.date(2018, 8, 31)
    assert season.registration_opens_at == _local(2024, 8, 5, 8)
    assert season.registration_closes_at == _local(2024, 8, 9, 18)
    phases = {p.key: (p.name, p.starts_at, p.ends_at) for p in season.phases}
    assert phases == {
        "publicity": ("招生宣传", _local(2024, 7, 30), _local(2024, 8, 5)),
        "plan_drafting": ("制定方案", _local(2024, 7, 30), _local(2024, 8, 1)),
        "county_plan_published": ("平台发布县级实施方案", _local(2024, 8, 1), _local(2024, 8, 2)),
        "school_plans_published": ("各学校发布实施办法", _local(2024, 8, 2), _local(2024, 8, 3)),
        "registration": ("平台报名", _local(2024, 8, 5, 8), _local(2024, 8, 9, 18)),
    }


@pytest.mark.parametrize(("now", "year"), [
    (_local(2030, 3, 10, 9), 2030),
    (_local(2030, 11, 20, 23), 2031),
    (_local(2030, 8, 31, 0), 2030),
    (_local(2030, 9, 1, 12), 2030),     # registration opened on 31 August
    (_local(2030, 9, 2, 7), 2031),      # registration opened on 1 September
    (_local(2030, 1, 1, 0), 2030),      # yesterday was 31 December 2029
    # 2024 belongs to the real plan's season: the sample moves to 2025.
    (_local(2024, 3, 1, 10), 2025),
])
def test_sample_season_window_is_open_at_now(session: Any, now: dt.datetime,
                                             year: int) -> None:
    load_demo_data(now)
    db.session.flush()
    season = current_season(_authority().id, now)

    assert season.is_sample is True
    assert season.status is SeasonStatus.PUBLISHED
    assert season.year == year
    assert season.name == f"{year}年小学招生（示例）"
    assert season.age_cutoff == dt.date(year - 6, 8, 31)
    assert season.registration_opens_at <= now < season.registration_closes_at
    assert season_state(season, now)[0] == "registration_open"
    opens = season.registration_opens_at.astimezone(SHANGHAI)
    closes = season.registration_closes_at.astimezone(SHANGHAI)
    assert opens.date() == now.date() - dt.timedelta(days=1)
    assert (opens.hour, opens.minute) == (8, 0)
    assert closes.date() == opens.date() + dt.timedelta(days=4)
    assert (closes.hour, closes.minute) == (18, 0)
    # The other phases keep the plan's offsets from the first registration day.
    day0 = dt.datetime.combine(opens.date(), dt.time(), SHANGHAI)
    phases = {p.key: (p.starts_at, p.ends_at) for p in season.phases}
    assert phases["publicity"] == (day0 - dt.timedelta(days=6), day0)
    assert phases["plan_drafting"] == (day0 - dt.timedelta(days=6), day0 - dt.timedelta(days=4))
    assert phases["school_plans_published"] == (day0 - dt.timedelta(days=3),
                                                day0 - dt.timedelta(days=2))
    assert len(phases) == 5


def test_sample_season_year_rule() -> None:
    assert sample_season_year(dt.date(2027, 8, 31)) == 2027
    assert sample_season_year(dt.date(2027, 9, 1)) == 2028
    assert sample_season_year(dt.date(2024, 8, 4)) == 2025
    assert sample_season_year(dt.date(2023, 9, 1)) == 2025


def test_rerun_later_reopens_the_window(session: Any) -> None:
    load_demo_data(_local(2030, 3, 10, 9))
    db.session.flush()
    later = _local(2030, 6, 20, 15)
    summary = load_demo_data(later)
    db.session.flush()

    season = _season(2030)
    assert season.registration_opens_at <= later < season.registration_closes_at
    assert summary.updated["seasons"] == 1
    assert db.session.scalar(select(func.count()).select_from(Season)) == 2


def test_rerun_in_the_next_season_year_archives_the_old_sample(session: Any) -> None:
    load_demo_data(_local(2030, 8, 30, 9))
    db.session.flush()
    later = _local(2030, 9, 3, 9)
    load_demo_data(later)
    db.session.flush()

    assert _season(2030).status is SeasonStatus.ARCHIVED
    assert current_season(_authority().id, later).year == 2031
    assert _season(2024).status is SeasonStatus.ARCHIVED


def test_every_school_has_a_seat_plan_within_the_cap(session: Any) -> None:
    load_demo_data()
    db.session.flush()
    schools = list(db.session.scalars(select(School)))
    seasons = [_season(2024), _sample_season()]

    assert len(schools) == 10
    for season in seasons:
        plans = {p.school_id: p for p in db.session.scalars(
            select(SeatPlan).where(SeatPlan.season_id == season.id))}
        assert set(plans) == {s.id for s in schools}
        for plan in plans.values():
            assert 1 <= plan.classes <= 6
            assert 30 <= plan.class_size <= 45


def test_catalogue_is_sample_and_zoned(session: Any) -> None:
    load_demo_data()
    db.session.flush()
    towns = list(db.session.scalars(select(Region).where(Region.level == RegionLevel.TOWN)))
    villages = list(db.session.scalars(select(Region).where(Region.level != RegionLevel.TOWN)))
    schools = list(db.session.scalars(select(School)))

    assert 6 <= len(towns) <= 7
    assert {"临泉镇", "白文镇", "碛口镇"} <= {t.name for t in towns}
    assert all(r.is_sample for r in towns + villages)
    assert all("示例" in v.name for v in villages)
    assert any(v.level is RegionLevel.COMMUNITY for v in villages)
    for town in towns:
        assert 3 <= len(town.children) <= 5
    assert all(s.is_sample and s.name.endswith("（示例）") for s in schools)
    assert all(s.code.isalnum() and len(s.code) <= 8 for s in schools)
    for school in schools:
        assert school.contacts and school.contacts[0]["phone"].startswith("0358-000")
        assert set(school.required_materials) == {"hukou", "residence", "residence_permit"}
        assert "居住证" in school.required_materials["residence_permit"]
        assert "示例" in school.implementation_plan
        assert "免试就近入学" in school.implementation_plan
        assert "报名先后不影响录取" in school.implementation_plan

    # Each village/community is in exactly one public school's zone.
    public_zones: dict[int, int] = {}
    for zone_row in db.session.scalars(select(SchoolZone).join(School)
                                       .where(School.type == SchoolType.PUBLIC)):
        public_zones[zone_row.region_id] = public_zones.get(zone_row.region_id, 0) + 1
    assert public_zones == {v.id: 1 for v in villages}

    # 公民同招: the private school in 临泉镇 shares regions with a public school.
    private = [s for s in schools if s.type is SchoolType.PRIVATE]
    assert len(private) == 1
    assert private[0].town is not None and private[0].town.name == "临泉镇"
    private_regions = {z.region_id for z in private[0].zones}
    assert private_regions and private_regions <= set(public_zones)

    authority = _authority()
    assert authority.is_sample is True
    assert authority.division_code == "141124"
    assert authority.timezone == "Asia/Shanghai"
    assert authority.portal_url == "http://www.linxian.gov.cn/"
    for text in (authority.consultation_phone, authority.complaint_channel,
                 authority.petition_address):
        assert text and "示例" in text


def test_accounts_and_describe(session: Any) -> None:
    summary = load_demo_data(_local(2030, 3, 10, 9))
    db.session.flush()

    staff = list(db.session.scalars(select(User).where(User.role == Role.SCHOOL_STAFF)))
    assert len(staff) == 10
    assert all(u.school is not None and u.username == staff_username(u.school.code)
               for u in staff)
    admin = db.session.scalar(select(User).where(User.username == ADMIN_USERNAME))
    assert admin is not None and admin.role is Role.BUREAU_ADMIN
    assert admin.authority_id == _authority().id and admin.school_id is None
    for account in summary.accounts:
        assert len(account.password) >= 10
        assert any(c.isalpha() for c in account.password)
        assert any(c.isdigit() for c in account.password)

    text = summary.describe()
    assert "SAMPLE DATA" in text
    assert "临县教育局 (linxian)" in text
    assert "2024-08-05 08:00 → 2024-08-09 18:00" in text
    assert "2030-03-09 08:00 → 2030-03-13 18:00" in text
    assert "2030年小学招生（示例）" in text
    assert f"{ADMIN_USERNAME} [bureau_admin] password: {ADMIN_PASSWORD}" in text
    assert f"lx003-staff [school_staff school LX003] password: {staff_password('LX003')}" in text


def test_production_refuses_to_load(session: Any, app: Flask) -> None:
    previous = app.config["APP_ENV"]
    app.config["APP_ENV"] = "production"
    try:
        with pytest.raises(RuntimeError, match="production"):
            load_demo_data()
    finally:
        app.config["APP_ENV"] = previous
    assert db.session.scalar(select(func.count()).select_from(EducationAuthority)) == 0


def test_real_authority_is_not_taken_over(session: Any) -> None:
    db.session.add(EducationAuthority(code="linxian", name="临县教育局", division_code="141124",
                                      is_sample=False))
    db.session.flush()

    with pytest.raises(RuntimeError, match="non-sample"):
        load_demo_data()


def test_demo_admin_logs_in_and_sees_the_open_season(
    session: Any, client: FlaskClient, login_staff: Callable[[str, str], dict[str, Any]],
) -> None:
    summary = load_demo_data()
    db.session.flush()
    sample = next(s for s in summary.seasons if s.is_sample)

    body = login_staff(ADMIN_USERNAME, ADMIN_PASSWORD)
    assert body["user"]["role"] == "bureau_admin"
    assert body["user"]["authority"] == "linxian"
    accounts = client.get("/api/v1/admin/staff-accounts", headers=bearer(body["token"]))
    assert accounts.status_code == 200
    assert len(accounts.get_json()["items"]) == 11

    staff = login_staff(staff_username("LX003"), staff_password("LX003"))
    assert staff["user"]["school"] == "LX003"

    response = client.get("/api/v1/seasons/current?authority=linxian")
    assert response.status_code == 200
    season = response.get_json()
    assert season["name"] == sample.name
    assert season["is_sample"] is True
    assert season["state"] == "registration_open"
    assert season["current_phase"] == "registration"
    assert season["registration_opens_at"].endswith("08:00:00+08:00")
    assert season["registration_closes_at"].endswith("18:00:00+08:00")


def test_school_catalogue_over_http(session: Any, client: FlaskClient) -> None:
    summary = load_demo_data()
    db.session.flush()
    year = next(s.year for s in summary.seasons if s.is_sample)

    response = client.get("/api/v1/schools?authority=linxian")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [s["code"] for s in items] == [f"LX{n:03d}" for n in range(1, 11)]
    for item in items:
        assert item["is_sample"] is True
        assert item["plan"]["season_year"] == year
        assert item["plan"]["class_size"] <= 45
        assert item["plan"]["seats"] == item["plan"]["classes"] * item["plan"]["class_size"]

    detail = client.get("/api/v1/schools/LX003").get_json()
    assert detail["type"] == "private"
    assert {z["code"] for z in detail["zone"]} == {"141124100001", "141124100003"}

    regions = client.get("/api/v1/regions?authority=linxian").get_json()["items"]
    assert regions[0]["code"] == "141124100000"
    assert sum(len(t["villages"]) for t in regions) == summary.villages


def test_every_demo_village_finds_its_zoned_school(session: Any, client: FlaskClient) -> None:
    load_demo_data()
    db.session.flush()
    villages = db.session.scalars(
        select(Region).where(Region.level != RegionLevel.TOWN).order_by(Region.code)).all()
    assert len(villages) >= 20
    shared = 0
    for village in villages:
        response = client.get(f"/api/v1/zones/lookup?region_code={village.code}")
        assert response.status_code == 200, village.code
        schools = response.get_json()["schools"]
        assert any(s["type"] == "public" for s in schools), village.code
        assert all(s["plan"] is not None for s in schools)
        shared += len(schools) > 1
    # 公民同招: somewhere a family can choose the private school as well.
    assert shared >= 1


# --- the families whose documents government data checked ---------------------------------


@pytest.fixture()
def gov_sources(app: Flask, govdata_config: Callable[..., dict[str, str]],  # noqa: F811
                monkeypatch: pytest.MonkeyPatch) -> None:
    """GOVDATA_SOURCES points the demo county at the simulator, as scripts/server sets it."""
    monkeypatch.setitem(app.config, "GOVDATA_SOURCES", govdata_config()["GOVDATA_SOURCES"])


def _registration_of(openid: str) -> Registration | None:
    return db.session.scalar(select(Registration).join(Child).join(Guardian).join(
        User, User.id == Guardian.user_id).where(User.openid == openid))


def _checks_view(client: FlaskClient, login_parent: Callable[..., dict[str, Any]],
                 openid: str) -> dict[str, Any]:
    login = login_parent(openid)
    children = client.get("/api/v1/me/children", headers=bearer(login["token"])).get_json()
    child_id = children["items"][0]["id"]
    response = client.get(f"/api/v1/me/children/{child_id}/data-checks",
                          headers=bearer(login["token"]))
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_the_demo_family_registered_with_zero_uploads(
    session: Any, client: FlaskClient, gov_sources: None, gov_sim: Any,  # noqa: F811
    login_parent: Callable[..., dict[str, Any]],
) -> None:
    summary = load_demo_data()
    db.session.flush()

    registration = _registration_of(VERIFIED_OPENID)
    assert registration is not None
    assert registration.uploads == []
    assert registration.status.value == "submitted"
    assert registration.school.code == "LX001"  # 城关社区, the record's region, is its zone
    view = _checks_view(client, login_parent, VERIFIED_OPENID)
    assert view["consent"]["version"] == DATA_CHECK_CONSENT_VERSION
    assert {c["fact"]: c["status"] for c in view["checks"]} == {
        "household": "confirmed", "birth": "confirmed", "property": "confirmed"}
    assert "LX001" in {s["code"] for p in view["zoning"] for s in p["schools"]}
    # Asked over HTTP, through the same service the worker uses.
    assert {q["endpoint"] for q in gov_sim.queries()} == {"household", "birth", "property"}
    assert any("0 upload(s)" in note for note in summary.data_checks)

    mismatch = _registration_of(MISMATCH_OPENID)
    assert mismatch is not None
    assert [u.kind.value for u in mismatch.uploads] == ["hukou_book"]
    view = _checks_view(client, login_parent, MISMATCH_OPENID)
    household = next(c for c in view["checks"] if c["fact"] == "household")
    assert household["status"] == "mismatch"
    assert "姓名" in household["message"] and "请上传户口簿" in household["message"]

    # A second run asks nothing again and registers nobody twice.
    asked = len(gov_sim.queries())
    again = load_demo_data()
    db.session.flush()
    assert len(gov_sim.queries()) == asked
    assert "registrations" not in again.created


def test_without_a_source_the_seed_says_the_checks_were_not_asked(session: Any) -> None:
    summary = load_demo_data()
    db.session.flush()

    assert _registration_of(VERIFIED_OPENID) is None
    mismatch = _registration_of(MISMATCH_OPENID)
    assert mismatch is not None and len(mismatch.uploads) == 1
    assert any("NOT registered" in note and "not asked" in note
               for note in summary.data_checks)
    assert "seed-demo again" in summary.describe()


def test_the_bureau_batch_approves_the_verified_demo_family_only(
    session: Any, client: FlaskClient, gov_sources: None, gov_sim: Any,  # noqa: F811
    login_staff: Callable[[str, str], dict[str, Any]],
) -> None:
    load_demo_data()
    db.session.flush()
    verified, mismatch = _registration_of(VERIFIED_OPENID), _registration_of(MISMATCH_OPENID)
    assert verified is not None and mismatch is not None
    admin = bearer(login_staff(ADMIN_USERNAME, ADMIN_PASSWORD)["token"])

    detail = client.get(f"/api/v1/staff/registrations/{mismatch.id}", headers=admin).get_json()
    hukou = next(r for r in detail["requirements"] if r["kind"] == "hukou_book")
    assert hukou["state"] == "uploaded"
    assert "姓名" in hukou["verification"]["reason"]

    response = client.post("/api/v1/admin/registrations/batch-approve",
                           json={"verified": "all"}, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["approved_ids"] == [verified.id]
    db.session.expire_all()
    assert verified.status.value == "approved"
    assert mismatch.status.value == "submitted"


def test_regions_loaded_under_their_earlier_codes_are_renamed(session: Any) -> None:
    load_demo_data()
    db.session.flush()
    town = db.session.scalar(select(Region).where(Region.code == "141124100000"))
    village = db.session.scalar(select(Region).where(Region.code == "141124100201"))
    assert town is not None and village is not None
    # As a database seeded before the codes changed holds them.
    town.code, village.code = "LX-LQ", "LX-LQ-005"
    db.session.flush()
    before = _counts()

    load_demo_data()
    db.session.flush()
    assert _counts() == before
    assert (town.code, village.code) == ("141124100000", "141124100201")
    assert db.session.scalar(select(func.count()).select_from(Region).where(
        Region.code.like("LX-%"))) == 0
