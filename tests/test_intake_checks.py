"""The intake's checks on facts without Redis, a database or an app: values in, verdicts out."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.core.errors import ApiError
from backend.registrations import checks
from backend.registrations.catalog import SchoolFacts, SeasonFacts
from backend.registrations.facts import ChildFacts

UTC = dt.UTC
OPENS = dt.datetime(2024, 8, 5, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
CLOSES = dt.datetime(2024, 8, 9, 10, 0, tzinfo=UTC)  # 18:00 in Asia/Shanghai
DURING = dt.datetime(2024, 8, 6, 2, 0, tzinfo=UTC)

SEASON = SeasonFacts(id=1, year=2024, opens_at=OPENS, closes_at=CLOSES,
                     age_cutoff=dt.date(2018, 8, 31), timezone="Asia/Shanghai")
PUBLIC = SchoolFacts(id=10, code="S1", name="城关小学", authority_id=1, is_private=False,
                     zone_region_ids=frozenset({100}), bases=None)
PRIVATE = SchoolFacts(id=11, code="S2", name="民办小学", authority_id=1, is_private=True,
                      zone_region_ids=frozenset({200}), bases=None)


def child(**changes: object) -> ChildFacts:
    values: dict[str, object] = {
        "owner_user_id": 7, "authority_id": 1, "birth_date": dt.date(2018, 3, 1),
        "hukou_region_id": 100, "residence_region_id": None, "has_residence_permit": False,
        "categories": []}
    values.update(changes)
    return ChildFacts(**values)  # type: ignore[arg-type]


def run(*, school: SchoolFacts = PUBLIC, kid: ChildFacts | None = None, basis: str = "hukou",
        owned: dict[str, tuple[int, str]] | None = None, now: dt.datetime = DURING,
        user_id: int = 7) -> checks.Checked:
    uploads = owned if owned is not None else {"u1": (7, "hukou_book")}
    return checks.check_submission(
        user_id, school=school, season=SEASON, child_id=1,
        child=kid if kid is not None else child(), basis=basis,
        upload_ids=list(uploads), owned=uploads, now=now)


def code_of(**kwargs: object) -> str:
    with pytest.raises(ApiError) as caught:
        run(**kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_a_complete_submission_in_zone_passes() -> None:
    checked = run()
    assert (checked.school.id, checked.basis.value, checked.out_of_zone) == (10, "hukou", False)


def test_the_window_is_to_the_minute_in_shanghai_time() -> None:
    assert code_of(now=OPENS - dt.timedelta(minutes=1)) == "REGISTRATION_NOT_OPEN"
    assert run(now=OPENS).basis.value == "hukou"
    assert code_of(now=CLOSES) == "REGISTRATION_CLOSED"
    with pytest.raises(ApiError) as caught:
        run(now=OPENS - dt.timedelta(days=1))
    # The opening time in the family's own zone, and the fairness promise.
    assert "8月5日 08:00" in caught.value.message and "报名先后不影响录取" in caught.value.message


def test_someone_elses_child_is_not_found() -> None:
    assert code_of(user_id=8, owned={"u1": (8, "hukou_book")}) == "CHILD_NOT_FOUND"


def test_a_child_born_after_the_cutoff_is_not_eligible() -> None:
    assert code_of(kid=child(birth_date=dt.date(2018, 9, 1))) == "NOT_ELIGIBLE"
    assert run(kid=child(birth_date=dt.date(2018, 8, 31))).basis.value == "hukou"


def test_public_schools_admit_their_zone_private_ones_the_county() -> None:
    outside = child(hukou_region_id=300)
    assert code_of(kid=outside) == "OUT_OF_ZONE"
    assert run(school=PRIVATE, kid=outside).out_of_zone is True
    # 公民同招 is county-wide, not nation-wide.
    assert code_of(school=PRIVATE, kid=child(hukou_region_id=300, authority_id=2)) == "OUT_OF_ZONE"


def test_a_basis_needs_its_facts_and_its_documents() -> None:
    assert code_of(basis="residence") == "RESIDENCE_REQUIRED"
    assert code_of(basis="residence_permit", kid=child(residence_region_id=100)) == \
        "RESIDENCE_PERMIT_REQUIRED"
    assert code_of(owned={}) == "UPLOADS_MISSING"
    assert code_of(owned={"u1": (9, "hukou_book")}) == "UPLOAD_NOT_FOUND"
    renter = child(residence_region_id=100)
    owned = {"u1": (7, "hukou_book"), "u2": (7, "rental_record")}
    assert run(kid=renter, basis="residence", owned=owned).basis.value == "residence"


def test_a_school_may_accept_only_some_bases() -> None:
    strict = SchoolFacts(id=12, code="S3", name="某小学", authority_id=1, is_private=False,
                         zone_region_ids=frozenset({100}), bases=frozenset({"residence"}))
    assert code_of(school=strict) == "BASIS_NOT_ACCEPTED"


def test_a_document_government_data_confirmed_needs_no_upload() -> None:
    checked = run(kid=child(verified=["hukou_book"]), owned={})
    assert checked.basis.value == "hukou" and checked.out_of_zone is False


def test_a_failed_check_says_why_the_document_is_missing() -> None:
    reason = "户籍信息核验未通过：户籍记录中的姓名与申报不一致，请上传户口簿"
    with pytest.raises(ApiError) as caught:
        run(kid=child(refused={"hukou_book": reason}), owned={})
    assert caught.value.code == "UPLOADS_MISSING"
    assert caught.value.details == {"missing": ["hukou_book"],
                                    "reasons": {"hukou_book": reason}}
