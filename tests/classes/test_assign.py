"""The published rules (assign.py) alone: determinism and the balance they promise."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from backend.classes import assign
from backend.classes.assign import AssignmentError, Pupil

SEED = assign.seed_of("0" * 64, "2024-08-25 福彩3D 第2024230期 5 1 9")


def _cohort(rnd: random.Random, n: int, *, twins: int = 0, special: float = 0.03,
            girls: float = 0.48) -> list[Pupil]:
    """n pupils born Sep 2017 – Aug 2018, some with special needs, `twins` pairs grouped."""
    months = [f"2017-{m:02d}" for m in range(9, 13)] + [f"2018-{m:02d}" for m in range(1, 9)]
    pupils = []
    for i in range(n):
        group = f"G{i // 2 + 1}" if i < 2 * twins else None
        pupils.append(Pupil(id=f"C{i:016X}", sex="female" if rnd.random() < girls else "male",
                            birth=rnd.choice(months), special=rnd.random() < special,
                            group=group))
    return pupils


def _spread(values: list[int]) -> int:
    return max(values) - min(values)


def _per_class(pupils: list[Pupil], result: dict[str, int], classes: int) -> list[Counter[str]]:
    counts = [Counter() for _ in range(classes)]  # type: list[Counter[str]]
    by_id = {p.id: p for p in pupils}
    for pid, c in result.items():
        p = by_id[pid]
        counts[c - 1].update(["size", p.sex] + (["special"] if p.special else []))
    return counts


@pytest.mark.parametrize(("n", "classes", "class_size"), [
    (263, 6, 45), (1, 1, 45), (7, 3, 45), (80, 2, 40), (120, 3, 40), (31, 1, 32),
    (450, 10, 45), (91, 5, 20)])
def test_sizes_and_sexes_are_within_one_and_every_pupil_is_placed(
        n: int, classes: int, class_size: int) -> None:
    for trial in range(5):
        pupils = _cohort(random.Random(f"{n}-{trial}"), n)
        seed = assign.seed_of("ab" * 32, f"value {trial}")
        result = assign.assign(pupils, classes, class_size, seed)
        assert sorted(result) == sorted(p.id for p in pupils)
        assert set(result.values()) <= set(range(1, classes + 1))
        counts = _per_class(pupils, result, classes)
        assert _spread([c["size"] for c in counts]) <= 1
        assert max(c["size"] for c in counts) <= class_size
        assert _spread([c["male"] for c in counts]) <= 1
        assert _spread([c["female"] for c in counts]) <= 1
        assert _spread([c["special"] for c in counts]) <= 1


def test_the_same_inputs_give_the_same_result_in_any_order() -> None:
    pupils = _cohort(random.Random(7), 200, twins=4)
    first = assign.assign(pupils, 5, 45, SEED)
    shuffled = pupils[:]
    random.Random(8).shuffle(shuffled)
    assert assign.assign(shuffled, 5, 45, SEED) == first
    assert assign.assign(list(reversed(pupils)), 5, 45, SEED) == first
    # Another public value gives another (still balanced) assignment.
    assert assign.assign(pupils, 5, 45, assign.seed_of("0" * 64, "other")) != first


def test_twins_and_siblings_on_request_share_a_class_and_balance_holds() -> None:
    for trial in range(10):
        pupils = _cohort(random.Random(trial), 180, twins=4)
        result = assign.assign(pupils, 4, 45, assign.seed_of("cd" * 32, str(trial)))
        groups: dict[str, set[int]] = {}
        for p in pupils:
            if p.group:
                groups.setdefault(p.group, set()).add(result[p.id])
        assert len(groups) == 4 and all(len(classes) == 1 for classes in groups.values())
        counts = _per_class(pupils, result, 4)
        assert _spread([c["size"] for c in counts]) <= 1
        assert _spread([c["male"] for c in counts]) <= 1
        assert _spread([c["female"] for c in counts]) <= 1


def test_a_group_that_does_not_fit_its_sex_places_bends_sexes_not_sizes() -> None:
    # Two classes of 3: one class has room for only one boy, yet three brothers arrive.
    pupils = [Pupil(f"B{i}", "male", "2018-01", group="G1") for i in range(3)]
    pupils += [Pupil(f"F{i}", "female", "2018-02") for i in range(3)]
    result = assign.assign(pupils, 2, 3, SEED)
    assert len({result[f"B{i}"] for i in range(3)}) == 1
    assert sorted(Counter(result.values()).values()) == [3, 3]
    with pytest.raises(AssignmentError):
        assign.assign([Pupil(f"B{i}", "male", "2018-01", group="G1") for i in range(4)]
                      + [Pupil("F0", "female", "2018-01")], 2, 3, SEED)


def test_birth_months_are_mixed_in_every_class() -> None:
    pupils = _cohort(random.Random(3), 270, special=0.0)
    result = assign.assign(pupils, 6, 45, SEED)
    summary = assign.class_summary(pupils, result, 6)
    means = [row["mean_birth_month"] for row in summary]
    # Dealt in birth order in proportion to places: every class spans the whole year.
    assert max(means) - min(means) < 1.0
    by_class: dict[int, set[str]] = {}
    for p in pupils:
        by_class.setdefault(result[p.id], set()).add(p.birth)
    assert all(len(months) >= 10 for months in by_class.values())


def test_special_needs_children_are_spread() -> None:
    pupils = _cohort(random.Random(11), 240, special=0.0)
    pupils = [Pupil(p.id, p.sex, p.birth, special=i % 20 == 0) for i, p in enumerate(pupils)]
    result = assign.assign(pupils, 6, 45, SEED)
    specials = Counter(result[p.id] for p in pupils if p.special)
    assert sorted(specials.values()) == [2, 2, 2, 2, 2, 2]


def test_inputs_the_rules_refuse() -> None:
    ok = Pupil("C1", "male", "2018-01")
    for pupils, classes, size in [
        ([ok, ok], 1, 45),  # repeated id
        ([Pupil("C1", "other", "2018-01")], 1, 45),
        ([Pupil("C1", "male", "2018-13")], 1, 45),
        ([Pupil("bad id", "male", "2018-01")], 1, 45),
        ([ok, Pupil("C2", "female", "2018-01")], 1, 1),  # more pupils than seats
        ([ok], 0, 45),
    ]:
        with pytest.raises(AssignmentError):
            assign.assign(pupils, classes, size, SEED)
    with pytest.raises(AssignmentError):
        assign.pupil_from_json({"id": "C1", "sex": "male", "birth": "2018-01",
                                "special": "yes", "group": None})


def test_the_commitment_covers_every_input_and_the_seed_the_public_value() -> None:
    pupils = _cohort(random.Random(5), 10)
    document = assign.input_document(pupils, 1, 45)
    assert document == assign.input_document(list(reversed(pupils)), 1, 45)
    commitment = assign.commitment_of(document)
    flipped = Pupil(pupils[0].id, pupils[0].sex, pupils[0].birth, not pupils[0].special)
    changed = assign.input_document([flipped, *pupils[1:]], 1, 45)
    assert assign.commitment_of(changed) != commitment
    assert assign.seed_of(commitment, "1 2 3") != assign.seed_of(commitment, "1 2 4")
    assert len(assign.seed_of(commitment, "1 2 3")) == 64
