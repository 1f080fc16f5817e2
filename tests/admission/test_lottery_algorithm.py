"""The pure lottery: derived numbers, tiers in order, the same inputs give the same result."""

from __future__ import annotations

import random

import pytest

from backend.admission import lottery as algo


def _applicants(count: int, tiers: tuple[int, ...] = (1, 2, 3)) -> list[algo.Applicant]:
    rng = random.Random(count)
    return [algo.Applicant(f"P{n:05d}", rng.choice(tiers)) for n in range(count)]


def _document(applicants: list[algo.Applicant], seats: int) -> dict[str, object]:
    tiers = [{"rank": n, "key": f"t{n}", "label": f"第{n}档", "rule": {}} for n in (1, 2, 3)]
    return algo.commitment_document(school="S1", season=1, seats=seats, tiers=tiers,
                                    applicants=applicants, public_value_source="双色球",
                                    practice=False)


def test_the_same_inputs_give_the_same_result() -> None:
    applicants = _applicants(300)
    seed = algo.seed_of(algo.commitment_of(_document(applicants, 120)), "01 02 03")
    first = algo.draw(applicants, 120, seed)
    shuffled = list(applicants)
    random.Random(9).shuffle(shuffled)
    assert algo.draw(shuffled, 120, seed) == first
    # The commitment does not depend on the order the applicants arrive in either.
    assert algo.commitment_of(_document(shuffled, 120)) == algo.commitment_of(
        _document(applicants, 120))


def test_another_public_value_gives_another_order() -> None:
    applicants = _applicants(300, tiers=(1,))
    commitment = algo.commitment_of(_document(applicants, 120))
    one = algo.draw(applicants, 120, algo.seed_of(commitment, "01 02 03"))
    two = algo.draw(applicants, 120, algo.seed_of(commitment, "01 02 04"))
    assert [p.pseudonym for p in one] != [p.pseudonym for p in two]


def test_a_lottery_number_depends_on_the_seed_and_the_pseudonym_only() -> None:
    seed = algo.seed_of("ab" * 32, "01")
    alone = algo.draw([algo.Applicant("P1", 2)], 0, seed)[0]
    crowd = {p.pseudonym: p for p in algo.draw([*_applicants(50), algo.Applicant("P1", 2)],
                                               10, seed)}
    assert alone.lottery_number == crowd["P1"].lottery_number == algo.lottery_number(seed, "P1")


def test_whole_tiers_that_fit_are_admitted_and_the_lottery_decides_inside_the_cut_tier() -> None:
    applicants = ([algo.Applicant(f"A{n}", 1) for n in range(5)]
                  + [algo.Applicant(f"B{n}", 2) for n in range(10)]
                  + [algo.Applicant(f"C{n}", 3) for n in range(8)])
    seed = algo.seed_of(algo.commitment_of(_document(applicants, 9)), "07 08")
    placed = algo.draw(applicants, 9, seed)
    admitted = [p for p in placed if p.admitted]
    assert len(admitted) == 9
    assert {p.pseudonym for p in admitted if p.tier == 1} == {f"A{n}" for n in range(5)}
    assert sum(1 for p in admitted if p.tier == 2) == 4
    assert not any(p.tier == 3 for p in admitted)
    # Inside tier 2 the order is by lottery number; the waitlist continues in that order.
    tier2 = [p for p in placed if p.tier == 2]
    assert [p.lottery_number for p in tier2] == sorted(p.lottery_number or "" for p in tier2)
    assert [p.position for p in placed] == list(range(1, len(applicants) + 1))


def test_a_school_that_is_not_oversubscribed_admits_everyone_without_a_draw() -> None:
    applicants = _applicants(40)
    placed = algo.draw(applicants, 40, None)
    assert all(p.admitted and p.lottery_number is None for p in placed)
    assert [(p.tier, p.pseudonym) for p in placed] == sorted(
        (a.tier, a.pseudonym) for a in applicants)
    with pytest.raises(ValueError):
        algo.draw(applicants, 39, None)


def test_the_public_value_is_normalized_before_it_is_hashed() -> None:
    assert algo.normalize_public_value("  03 07\u3000 12\n+ 09 ") == "03 07 12 + 09"
