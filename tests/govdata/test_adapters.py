"""Each adapter against the data-sharing platform simulator, over loopback HTTP."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

import pytest
from flask import Flask

from backend.govdata.client import region_within, signed_headers, sources_for
from backend.govdata.simulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, ENDPOINTS
from backend.govdata.sources import Fact, Outcome, Source, Subject
from tests.conftest import LiveServer
from tests.govdata.conftest import AUTHORITY, GovSimulator

Sources = Callable[..., dict[Fact, Source]]

CHILD_ID = "141124201911050017"  # 王小明, household in 临泉镇, father 王建国
FATHER_ID = "141124198503120034"  # 王建国, owns the home in 141124100001
MOTHER_ID = "141124198807200041"  # 刘芳, household in 白文镇, no property
PERMIT_HOLDER_ID = "142302198709090057"  # 张伟, residence permit 1411242024000123
EXPIRED_HOLDER_ID = "141124199001010075"  # 赵敏, permit expired 2025-12-31
UNKNOWN_ID = "110101201001010019"
PERSONAL = (CHILD_ID, FATHER_ID, MOTHER_ID, PERMIT_HOLDER_ID, EXPIRED_HOLDER_ID, UNKNOWN_ID,
            "王小明", "王建国", "张伟", "赵敏", "王大明")

WANG = Subject(child_id_number=CHILD_ID, child_name="王小明",
               child_birth_date=dt.date(2019, 11, 5), guardian_id_number=FATHER_ID,
               guardian_name="王建国")
ZHANG = Subject(child_id_number="142302202003010069", child_name="张小宇",
                child_birth_date=dt.date(2020, 3, 1), guardian_id_number=PERMIT_HOLDER_ID,
                guardian_name="张伟", residence_permit_number="1411242024000123")


def _with(subject: Subject, **changes: object) -> Subject:
    return Subject(**{**subject.__dict__, **changes})  # type: ignore[arg-type]


def test_household_confirmed_with_reference_address_and_region(sources: Sources) -> None:
    result = sources()[Fact.HOUSEHOLD].verify(WANG)
    assert result.outcome is Outcome.CONFIRMED
    assert result.fact is Fact.HOUSEHOLD and result.source == "公安户籍信息"
    assert result.reference and result.reference.startswith("GX")
    assert result.address == "山西省吕梁市临县临泉镇城关社区东街12号"
    assert result.region_code == "141124100001"
    assert result.checked_at.tzinfo is not None


def test_property_confirmed_with_reference_address_and_region(sources: Sources) -> None:
    result = sources()[Fact.PROPERTY].verify(_with(WANG, declared_region_code="141124100000"))
    assert result.outcome is Outcome.CONFIRMED
    assert result.reference
    assert (result.address, result.region_code) == (
        "山西省吕梁市临县临泉镇城关社区东街12号", "141124100001")


def test_residence_permit_and_birth_certificate_confirmed(sources: Sources,
                                                          gov_sim: GovSimulator) -> None:
    # The demo permit's own dates, but valid whenever this runs.
    gov_sim.add_record("residence_permit", {
        "idNumber": PERMIT_HOLDER_ID, "name": "张伟", "permitNo": "1411242024000123",
        "address": "山西省吕梁市临县临泉镇南关社区新华街3号", "regionCode": "141124100002",
        "validFrom": "2025-03-01", "validUntil": "2999-12-31"})
    configured = sources()
    assert configured[Fact.RESIDENCE_PERMIT].verify(ZHANG).outcome is Outcome.CONFIRMED
    birth = configured[Fact.BIRTH].verify(ZHANG)
    assert (birth.outcome, birth.source) == (Outcome.CONFIRMED, "卫健出生医学证明信息")
    assert birth.reference


@pytest.mark.parametrize("fact", list(Fact))
def test_an_unknown_id_number_is_not_found(sources: Sources, fact: Fact) -> None:
    nobody = Subject(child_id_number=UNKNOWN_ID, child_name="无此人", child_birth_date=None,
                     guardian_id_number=UNKNOWN_ID, guardian_name="无此人")
    result = sources()[fact].verify(nobody)
    assert result.outcome is Outcome.NOT_FOUND
    assert result.reference and result.reason


def test_a_guardian_without_property_is_not_found(sources: Sources) -> None:
    liu = Subject(child_id_number="141124202002140028", child_name="李小红",
                  child_birth_date=None, guardian_id_number=MOTHER_ID, guardian_name="刘芳")
    assert sources()[Fact.PROPERTY].verify(liu).outcome is Outcome.NOT_FOUND


@pytest.mark.parametrize(
    ("fact", "subject", "field"),
    [
        (Fact.HOUSEHOLD, _with(WANG, child_name="王大明"), "姓名"),
        (Fact.HOUSEHOLD, _with(WANG, child_birth_date=dt.date(2019, 11, 6)), "出生日期"),
        (Fact.HOUSEHOLD, _with(WANG, guardian_id_number=MOTHER_ID), "监护人关系"),
        (Fact.HOUSEHOLD, _with(WANG, declared_region_code="141124104201"), "地址所在区划"),
        (Fact.PROPERTY, _with(WANG, guardian_name="王大明"), "姓名"),
        (Fact.PROPERTY, _with(WANG, declared_region_code="141124104000"), "地址所在区划"),
        (Fact.RESIDENCE_PERMIT, _with(ZHANG, residence_permit_number="1411242024999999"),
         "居住证号码"),
        (Fact.RESIDENCE_PERMIT, _with(ZHANG, guardian_id_number=EXPIRED_HOLDER_ID,
                                      guardian_name="赵敏", residence_permit_number=None),
         "居住证有效期"),
        (Fact.BIRTH, _with(WANG, guardian_name="王大明"), "监护人姓名"),
    ],
)
def test_a_mismatch_names_the_field_never_the_value(sources: Sources, fact: Fact,
                                                    subject: Subject, field: str) -> None:
    result = sources()[fact].verify(subject)
    assert result.outcome is Outcome.MISMATCH
    assert result.reason and field in result.reason
    assert result.reference
    assert result.address is None and result.region_code is None
    assert not any(value in result.reason for value in ("王建国", "2019-11-05", "东街"))


def test_a_timeout_is_unavailable(sources: Sources, gov_sim: GovSimulator) -> None:
    gov_sim.fault("household", "timeout", seconds=5)
    result = sources(timeout_seconds=0.3)[Fact.HOUSEHOLD].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "超时" in result.reason


def test_an_answer_that_says_nothing_is_unavailable_not_a_mismatch(
        sources: Sources, gov_sim: GovSimulator) -> None:
    # A success code without `match` (a gateway that changed its format) says nothing about
    # the family: asked again later, never "please upload" on our misreading.
    gov_sim.fault("household", "garbled")
    result = sources()[Fact.HOUSEHOLD].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "无法识别" in result.reason


def test_a_refused_connection_is_unavailable() -> None:
    config = {"GOVDATA_SOURCES": json.dumps({AUTHORITY: {
        "base_url": "http://127.0.0.1:9", "app_key": "k", "app_secret": "s",
        "facts": ["birth"], "timeout_seconds": 1}})}
    result = sources_for(AUTHORITY, config)[Fact.BIRTH].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "无法连接" in result.reason


def test_a_wrong_secret_is_unavailable_with_a_configuration_reason(sources: Sources) -> None:
    result = sources(app_secret="not-the-secret")[Fact.HOUSEHOLD].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "app_secret" in result.reason and "管理员" in result.reason


def test_an_unknown_app_key_is_unavailable_with_a_configuration_reason(
        sources: Sources) -> None:
    result = sources(app_key="someone-else")[Fact.PROPERTY].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "app_key" in result.reason


def test_a_wrong_base_url_is_unavailable_with_a_configuration_reason(
        sources: Sources, gov_sim: GovSimulator) -> None:
    result = sources(base_url=gov_sim.base_url + "/gateway")[Fact.BIRTH].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "base_url" in result.reason


def test_a_refusal_in_front_of_the_gateway_is_unavailable_with_a_configuration_reason(
        ) -> None:
    firewall = Flask("firewall")
    firewall.add_url_rule("/<path:anything>", "deny", lambda anything: ("<html>403</html>", 403),
                          methods=["POST"])
    with LiveServer(firewall) as server:
        result = sources_for(AUTHORITY, {"GOVDATA_SOURCES": json.dumps({AUTHORITY: {
            "base_url": server.url, "app_key": "k", "app_secret": "s",
            "facts": ["household"]}})})[Fact.HOUSEHOLD].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reason and "IP 白名单" in result.reason


def test_rate_limited_is_unavailable_with_retry_after(sources: Sources,
                                                     gov_sim: GovSimulator) -> None:
    gov_sim.fault("property", "rate_limit", seconds=7)
    result = sources()[Fact.PROPERTY].verify(WANG)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.retry_after == 7
    assert result.reason and "限流" in result.reason


def test_the_per_key_rate_limit_answers_429_with_retry_after(
        sources: Sources, gov_sim: GovSimulator) -> None:
    gov_sim.control("POST", "rate-limit", per_second=2)
    source = sources()[Fact.BIRTH]
    outcomes = [source.verify(WANG) for _ in range(3)]
    assert [r.outcome for r in outcomes[:2]] == [Outcome.CONFIRMED] * 2
    assert outcomes[2].outcome is Outcome.UNAVAILABLE and outcomes[2].retry_after == 1


def test_a_server_error_is_unavailable(sources: Sources, gov_sim: GovSimulator) -> None:
    gov_sim.fault("residence_permit", "error", times=1)
    source = sources()[Fact.RESIDENCE_PERMIT]
    failed = source.verify(ZHANG)
    assert failed.outcome is Outcome.UNAVAILABLE
    assert failed.reason and "内部错误" in failed.reason
    assert source.verify(ZHANG).outcome is Outcome.CONFIRMED  # times=1: the next one passes


def test_records_added_through_the_control_surface_are_answered(
        sources: Sources, gov_sim: GovSimulator) -> None:
    gov_sim.add_record("birth", {
        "idNumber": UNKNOWN_ID, "name": "新同学", "birthDate": "2020-05-01",
        "certificateNo": "U110000001", "birthPlace": "北京市某医院",
        "parents": [{"idNumber": FATHER_ID, "name": "王建国", "relation": "父亲"}]})
    newcomer = Subject(child_id_number=UNKNOWN_ID, child_name="新同学",
                       child_birth_date=dt.date(2020, 5, 1), guardian_id_number=None,
                       guardian_name=None)
    assert sources()[Fact.BIRTH].verify(newcomer).outcome is Outcome.CONFIRMED


def test_no_id_number_or_name_reaches_the_log(sources: Sources, gov_sim: GovSimulator,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    configured = sources(timeout_seconds=0.3)
    for fact in Fact:
        configured[fact].verify(WANG)
        configured[fact].verify(_with(WANG, child_name="王大明", guardian_name="王大明"))
    gov_sim.fault("household", "timeout", seconds=5, times=1)
    configured[Fact.HOUSEHOLD].verify(WANG)
    sources(app_secret="wrong")[Fact.HOUSEHOLD].verify(WANG)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "govdata answer fact=household" in text
    assert not [value for value in PERSONAL if value in text]
    # The simulator's own query list masks the ID numbers it received.
    listed = json.dumps(gov_sim.queries("household"), ensure_ascii=False)
    assert "141124********0017" in listed and CHILD_ID not in listed


def test_an_authority_without_sources_gets_none(sources: Sources) -> None:
    assert sources_for("140000", {"GOVDATA_SOURCES": ""}) == {}
    assert set(sources(facts=["household"])) == {Fact.HOUSEHOLD}
    assert sources_for("142302", {"GOVDATA_SOURCES": json.dumps({})}) == {}


def test_a_subject_without_the_needed_id_number_is_the_callers_error(sources: Sources) -> None:
    with pytest.raises(ValueError, match="child's ID number"):
        sources()[Fact.HOUSEHOLD].verify(_with(WANG, child_id_number=None))


def test_a_region_contains_its_villages() -> None:
    assert region_within("141124100000", "141124100001")
    assert region_within("141124000000", "141124104201")
    assert region_within("141124100001", "141124100001")
    assert not region_within("141124100000", "141124104201")
    assert not region_within("141124100001", None)


# --- the simulator's own refusals -------------------------------------------------------


def _signed_post(gov_sim: GovSimulator, body: bytes, **signing: object) -> dict[str, object]:
    path = ENDPOINTS["household"]
    headers = signed_headers(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, "POST", path, body,
                             **signing)  # type: ignore[arg-type]
    response = gov_sim.http.post(gov_sim.base_url + path, data=body, headers=headers,
                                 timeout=5)
    return {"status": response.status_code, **response.json()}


def test_the_simulator_refuses_a_replayed_nonce(gov_sim: GovSimulator) -> None:
    body = json.dumps({"idNumber": CHILD_ID, "name": "王小明"}).encode()
    first = _signed_post(gov_sim, body, nonce="n-0001")
    again = _signed_post(gov_sim, body, nonce="n-0001")
    assert (first["code"], first["msg"]) == ("0000", "成功")
    assert (again["status"], again["code"], again["data"]) == (401, "1003", None)


def test_the_simulator_refuses_a_stale_timestamp(gov_sim: GovSimulator) -> None:
    body = json.dumps({"idNumber": CHILD_ID, "name": "王小明"}).encode()
    stale = int(dt.datetime.now(dt.UTC).timestamp()) - 301
    answer = _signed_post(gov_sim, body, timestamp=stale)
    assert (answer["status"], answer["code"]) == (401, "1002")


def test_the_simulator_refuses_a_body_changed_after_signing(gov_sim: GovSimulator) -> None:
    path = ENDPOINTS["household"]
    headers = signed_headers(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, "POST", path, b"{}")
    response = gov_sim.http.post(gov_sim.base_url + path, headers=headers, timeout=5,
                                 data=json.dumps({"idNumber": CHILD_ID, "name": "x"}))
    assert (response.status_code, response.json()["code"]) == (401, "1001")
