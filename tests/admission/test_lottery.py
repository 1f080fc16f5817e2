"""Freeze → commitment → draw through the API: tiers, evidence, the verifier, the family's view."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.admission import lottery as algo
from backend.admission.services import pseudonym
from backend.core.db import db
from backend.registrations.models import RegistrationStatus
from tests.admission._support import (
    PUBLIC_VALUE,
    PUBLIC_VALUE_SOURCE,
    County,
    applicant,
    build_county,
    child_of,
    draw,
    freeze,
    frozen_and_drawn,
    offers_of,
    run_verifier,
    write_json,
)
from tests.conftest import bearer


@pytest.fixture()
def county(session: Any, login_staff: Callable[[str, str], dict[str, Any]]) -> County:
    """School A with 1 × 6 seats, school B with 1 × 4."""
    return build_county(login_staff)


def _oversubscribed(county: County) -> dict[str, list[Any]]:
    """School A: 2 preferential, 6 living in the zone, 1 residence-permit holder, 2 others."""
    return {
        "preferential": [applicant(county, county.school_a, hukou=county.village_out,
                                   categories=["military_child"]),
                         applicant(county, county.school_a, hukou=county.village_out,
                                   categories=["martyr_child"])],
        "zone": [applicant(county, county.school_a) for _ in range(6)],
        "permit": [applicant(county, county.school_a, hukou=county.village_out,
                             residence=county.village_in, permit=True)],
        "others": [applicant(county, county.school_a, hukou=county.village_out)
                   for _ in range(2)],
    }


def test_the_draw_fills_tiers_in_order_and_the_lottery_decides_inside_the_cut_tier(
        client: FlaskClient, county: County) -> None:
    groups = _oversubscribed(county)
    frozen = freeze(client, county, county.school_a)
    assert frozen.status_code == 201, frozen.get_json()
    body = frozen.get_json()
    assert body["status"] == "frozen" and body["practice"] is False
    assert body["seats"] == 6 and body["applicant_count"] == 11 and body["oversubscribed"]
    assert body["public_value_source"] == PUBLIC_VALUE_SOURCE and body["seed"] is None
    assert len(body["commitment"]) == 64
    assert [t["key"] for t in body["tiers"]] == [
        "preferential", "hukou_and_residence", "hukou", "residence_permit", "others"]
    # Before the draw: the committed list, by pseudonymous id, no positions.
    assert [r["pseudonym"] for r in body["result"]] == sorted(r["pseudonym"]
                                                               for r in body["result"])
    assert all(r["position"] is None and r["lottery_number"] is None for r in body["result"])
    assert offers_of(county.school_a) == []

    drawn = draw(client, county, body["id"])
    assert drawn.status_code == 200, drawn.get_json()
    result = drawn.get_json()
    assert result["status"] == "drawn" and result["public_value"] == PUBLIC_VALUE
    assert result["seed"] == algo.seed_of(body["commitment"], PUBLIC_VALUE)
    rows = result["result"]
    by_id = {pseudonym(county.season.id, r.child_id): name
             for name, regs in groups.items() for r in regs}
    assert [by_id[r["pseudonym"]] for r in rows[:2]] == ["preferential", "preferential"]
    assert [by_id[r["pseudonym"]] for r in rows[2:8]] == ["zone"] * 6
    assert [by_id[r["pseudonym"]] for r in rows[8:]] == ["permit", "others", "others"]
    assert [r["outcome"] for r in rows] == ["admitted"] * 6 + ["waitlisted"] * 5
    assert [r["tier"] for r in rows] == [1, 1, 2, 2, 2, 2, 2, 2, 4, 5, 5]
    # Inside the zone tier, the four admitted have the four smallest lottery numbers.
    zone_numbers = [r["lottery_number"] for r in rows[2:8]]
    assert zone_numbers == sorted(zone_numbers)
    assert result["admitted_count"] == 6 and result["waitlist_count"] == 5
    offers = offers_of(county.school_a)
    assert len(offers) == 6 and {o.status.value for o in offers} == {"offered"}
    assert all(o.source.value == "lottery" for o in offers)


def test_a_lottery_is_frozen_only_after_review_and_with_a_named_public_value(
        client: FlaskClient, county: County) -> None:
    _oversubscribed(county)
    waiting = applicant(county, county.school_a, status=RegistrationStatus.UNDER_REVIEW)
    response = freeze(client, county, county.school_a)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "REVIEW_NOT_FINISHED"
    assert response.get_json()["error"]["details"] == {"pending": 1}
    waiting.status = RegistrationStatus.REJECTED
    db.session.flush()

    response = freeze(client, county, county.school_a, source="")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "PUBLIC_VALUE_SOURCE_REQUIRED"
    assert client.post("/api/v1/admin/lotteries", headers=county.auth("a"), json={
        "season_id": county.season.id, "school_id": county.school_a.id}).status_code == 403
    assert client.post("/api/v1/admin/lotteries", headers=county.auth("other_bureau"), json={
        "season_id": county.season.id, "school_id": county.school_a.id}).status_code == 404

    lottery_id = freeze(client, county, county.school_a).get_json()["id"]
    again = freeze(client, county, county.school_a)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "LOTTERY_EXISTS"
    assert draw(client, county, lottery_id).status_code == 200
    twice = draw(client, county, lottery_id, "01 02 03")
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "LOTTERY_NOT_FROZEN"


def test_registration_still_open_refuses_a_real_freeze(client: FlaskClient,
                                                       county: County) -> None:
    county.season.registration_closes_at = county.season.registration_opens_at.replace(
        year=county.season.year + 1)
    db.session.flush()
    response = freeze(client, county, county.school_a)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "REGISTRATION_STILL_OPEN"


def test_a_school_that_is_not_oversubscribed_admits_everyone_and_still_publishes(
        client: FlaskClient, county: County, tmp_path: Path) -> None:
    registrations = [applicant(county, county.school_b) for _ in range(3)]
    response = freeze(client, county, county.school_b, source="")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "settled" and not body["oversubscribed"]
    assert body["seed"] is None and body["admitted_count"] == 3
    assert {o.registration_id for o in offers_of(county.school_b)} == {
        r.id for r in registrations}
    public = client.get(f"/api/v1/lotteries/{body['id']}")
    assert public.status_code == 200 and public.get_json()["status"] == "settled"
    evidence = client.get(f"/api/v1/lotteries/{body['id']}/evidence.json").get_json()
    result = run_verifier(write_json(tmp_path / "evidence.json", evidence))
    assert result.returncode == 0, result.stderr
    assert "without a draw" in result.stdout


def _evidence(client: FlaskClient, lottery_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/lotteries/{lottery_id}/evidence.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    return json.loads(response.get_data(as_text=True))  # type: ignore[no-any-return]


def _recommit(evidence: dict[str, Any]) -> None:
    """What a forger would do: make the commitment match the altered document."""
    evidence["commitment"] = hashlib.sha256(algo.canonical_bytes(evidence["committed"])
                                            ).hexdigest()


def test_verify_lottery_reproduces_a_published_draw_from_the_public_files_only(
        client: FlaskClient, county: County, tmp_path: Path) -> None:
    _oversubscribed(county)
    frozen = freeze(client, county, county.school_a).get_json()
    published_commitment = client.get(f"/api/v1/lotteries/{frozen['id']}").get_json()[
        "commitment"]
    # Before the draw the file already verifies against the commitment.
    early = run_verifier(write_json(tmp_path / "frozen.json", _evidence(client, frozen["id"])),
                         "--commitment", published_commitment)
    assert early.returncode == 0, early.stderr
    assert "no result to check yet" in early.stdout

    draw(client, county, frozen["id"])
    evidence = _evidence(client, frozen["id"])
    path = write_json(tmp_path / "evidence.json", evidence)
    ok = run_verifier(path, "--commitment", published_commitment,
                      "--applicant", evidence["result"][3]["pseudonym"])
    assert ok.returncode == 0, ok.stderr
    assert "验证通过 VERIFIED" in ok.stdout
    assert "6 admitted, 5 on the waitlist" in ok.stdout
    assert "position 4, admitted" in ok.stdout


@pytest.mark.parametrize("tamper", ["add", "remove", "move", "outcome", "tier", "seed"])
def test_verify_lottery_fails_loudly_when_one_applicant_is_added_removed_or_moved(
        client: FlaskClient, county: County, tmp_path: Path, tamper: str) -> None:
    _oversubscribed(county)
    frozen = freeze(client, county, county.school_a).get_json()
    draw(client, county, frozen["id"])
    evidence = _evidence(client, frozen["id"])
    forged = copy.deepcopy(evidence)
    rows = forged["result"]
    if tamper == "add":
        # A late applicant slipped into the list and the result, commitment recomputed.
        forged["committed"]["applicants"].append(["ZZZZ-0000-0000-0001", 1])
        forged["committed"]["applicants"].sort()
        forged["applicant_count"] += 1
        _recommit(forged)
        rows.insert(0, {"position": 1, "pseudonym": "ZZZZ-0000-0000-0001", "tier": 1,
                        "lottery_number": None, "outcome": "admitted", "masked_name": "张*"})
    elif tamper == "remove":
        del rows[4]
    elif tamper == "move":
        rows[5], rows[7] = rows[7], rows[5]  # the 6th admitted swaps with the 2nd waitlisted
        rows[5]["position"], rows[7]["position"] = 6, 8
        rows[5]["outcome"], rows[7]["outcome"] = "admitted", "waitlisted"
    elif tamper == "outcome":
        rows[6]["outcome"] = "admitted"
    elif tamper == "tier":
        # Wrong priority settings after the fact: one applicant promoted to tier 1.
        target = rows[9]["pseudonym"]
        forged["committed"]["applicants"] = [
            [p, 1 if p == target else t] for p, t in forged["committed"]["applicants"]]
        _recommit(forged)
    elif tamper == "seed":
        forged["public_value"] = "03 07 12 19 25 32 + 09"
    path = write_json(tmp_path / f"{tamper}.json", forged)
    result = run_verifier(path, "--commitment", evidence["commitment"])
    assert result.returncode == 1, result.stdout
    assert "VERIFICATION FAILED" in result.stderr
    assert "验证通过" not in result.stdout
    # Without the commitment published at freeze time the file alone still fails, except
    # for a forger who recomputed the commitment: then only the published one catches it.
    alone = run_verifier(path)
    if tamper in ("add", "tier"):
        assert "commitment mismatch" in result.stderr
    else:
        assert alone.returncode == 1, alone.stdout


def test_a_tampered_file_is_also_caught_without_the_published_commitment(
        client: FlaskClient, county: County, tmp_path: Path) -> None:
    _oversubscribed(county)
    frozen = freeze(client, county, county.school_a).get_json()
    draw(client, county, frozen["id"])
    evidence = _evidence(client, frozen["id"])
    evidence["committed"]["applicants"].pop()  # removed from the list, commitment not fixed
    result = run_verifier(write_json(tmp_path / "removed.json", evidence))
    assert result.returncode == 1
    assert "commitment mismatch" in result.stderr
    unreadable = run_verifier(write_json(tmp_path / "garbage.json", {"hello": 1}))
    assert unreadable.returncode == 1
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert run_verifier(tmp_path / "broken.json").returncode == 2


def test_a_family_sees_its_pseudonymous_id_and_that_it_was_committed(
        client: FlaskClient, county: County, tmp_path: Path,
        login_parent: Callable[..., dict[str, Any]]) -> None:
    login = login_parent()
    from backend.accounts.models import User

    parent = db.session.get(User, login["user"]["id"])
    ours = applicant(county, county.school_a, user=parent, name="赵小明")
    _oversubscribed(county)
    headers = bearer(login["token"])
    before = client.get(f"/api/v1/registrations/{ours.id}/admission", headers=headers)
    assert before.status_code == 200
    our_id = before.get_json()["pseudonym"]
    assert our_id == pseudonym(county.season.id, ours.child_id)
    assert before.get_json()["lotteries"] == []

    drawn = frozen_and_drawn(client, county, county.school_a)
    view = client.get(f"/api/v1/registrations/{ours.id}/admission", headers=headers).get_json()
    [mine] = view["lotteries"]
    assert mine["lottery_id"] == drawn["id"] and mine["in_committed_list"] is True
    assert mine["commitment"] == drawn["commitment"] and mine["tier"] == 2
    row = next(r for r in drawn["result"] if r["pseudonym"] == our_id)
    assert mine["position"] == row["position"] and mine["lottery_number"] == row["lottery_number"]
    assert row["masked_name"] == "赵*明"
    evidence = client.get(mine["evidence_url"]).get_json()
    check = run_verifier(write_json(tmp_path / "e.json", evidence), "--applicant", our_id)
    assert check.returncode == 0, check.stderr
    assert f"{our_id} is in the committed list, tier 2" in check.stdout
    # Someone else's registration is not ours to look at.
    other = applicant(county, county.school_a)
    assert client.get(f"/api/v1/registrations/{other.id}/admission",
                      headers=headers).status_code == 404
    assert child_of(ours).name == "赵小明"


def test_a_frozen_lottery_can_be_cancelled_with_a_reason_and_frozen_again(
        client: FlaskClient, county: County) -> None:
    _oversubscribed(county)
    first = freeze(client, county, county.school_a).get_json()
    assert client.post(f"/api/v1/admin/lotteries/{first['id']}/cancel", headers=county.auth("a"),
                       json={"reason": "名单有误"}).status_code == 403
    cancelled = client.post(f"/api/v1/admin/lotteries/{first['id']}/cancel",
                            headers=county.auth(), json={"reason": "一名儿童的优先档次有误"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    # It stays on the public record, with its reason; a new list may be frozen.
    public = client.get(f"/api/v1/lotteries/{first['id']}").get_json()
    assert public["cancel_reason"] == "一名儿童的优先档次有误"
    again = freeze(client, county, county.school_a)
    assert again.status_code == 201
    assert draw(client, county, first["id"]).status_code == 409


def test_the_confirmation_deadline_is_named_at_freeze_or_counted_from_the_draw(
        client: FlaskClient, county: County) -> None:
    _oversubscribed(county)
    past = freeze(client, county, county.school_a, respond_by="2001-01-01T12:00:00+08:00")
    assert past.status_code == 422
    assert past.get_json()["error"]["code"] == "RESPOND_BY_IN_PAST"
    body = frozen_and_drawn(client, county, county.school_a)
    assert body["respond_by"] is not None and body["respond_by"].endswith("23:59:59+08:00")
    assert {o.respond_by for o in offers_of(county.school_a)} == {
        offers_of(county.school_a)[0].respond_by}
