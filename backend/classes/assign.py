"""均衡分班: the published rules of balanced class assignment.

Pure Python on the standard library only, with no import from the rest of the backend:
`scripts/verify_classes` loads this very file by its path to recompute a published
assignment, so what the platform runs and what anyone can re-run are the same rules.

Inputs (the committed document): the pupils sorted by their pseudonymous id, each with sex,
birth month, whether the child has special needs (随班就读) and the label of a requested
"together" group (twins/siblings), the number of classes and the class size. The seed is
SHA-256(commitment ‖ public value); every tie is broken by HMAC-SHA256(seed, …), so the
result depends on nothing else (not on input order, not on the machine).

The rules, in order (RULES below says the same for families):
1. Class sizes differ by at most one; boys and girls are each spread so that their counts
   per class differ by at most one. The classes that take the extra boys and the extra
   girls are taken in turn from a seeded order of the classes.
2. Requested groups are placed first, largest first, each whole in the class with the most
   free places left; if the group's boys or girls do not fit there, one boy's place and one
   girl's place are swapped with the class that has the most free places for that sex
   (class sizes stay as in rule 1; the sex counts of those two classes may then differ by
   two). A group larger than any class's free places cannot be placed (AssignmentError).
3. Children with special needs are placed next, one by one in seeded order, each in the
   class with the fewest such children among those with a free place for the child's sex.
4. Everyone else, boys and girls separately, in order of birth month (then seeded order),
   is dealt to the classes in proportion to their free places (the class with the smallest
   (placed + ½) / places goes next), so that every class gets the same mix of birth months.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RULES_VERSION = "balanced-classes/1"
SEXES = ("male", "female")

# The rules as published to families (Chinese), in the order they apply.
RULES = (
    "各班人数相差不超过1人；男生、女生人数在各班之间分别相差不超过1人。",
    "家长申请并经学校登记的双胞胎/兄弟姐妹（同一监护人）编入同一班级，优先安排；"
    "如因此无法满足男女人数均衡，仅涉及的两个班级男女人数可相差2人。",
    "随班就读儿童按随机顺序逐一编入该类儿童最少的班级。",
    "其余儿童按性别分组、按出生月份排序后，按各班剩余名额比例依次分配，使各班出生月份分布一致。",
    "随机种子 = SHA-256(承诺值 ‖ 公开随机数)；所有并列情形均由 HMAC-SHA256(种子, 编号) 决定。",
)

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BIRTH = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])")
_PUPIL_KEYS = {"id", "sex", "birth", "special", "group"}


class AssignmentError(ValueError):
    """The input cannot be assigned under the rules (too many pupils, a group too large…)."""


@dataclass(frozen=True)
class Pupil:
    """One child as published: pseudonymous id, sex, birth month (YYYY-MM), needs, group."""

    id: str
    sex: str
    birth: str
    special: bool = False
    group: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The pupil's entry in the committed document."""
        return {"id": self.id, "sex": self.sex, "birth": self.birth,
                "special": self.special, "group": self.group}


def pupil_from_json(value: Mapping[str, Any]) -> Pupil:
    """A pupil from its published entry (exactly the keys as_json writes)."""
    if set(value) != _PUPIL_KEYS:
        raise AssignmentError(f"pupil entry must have the keys {sorted(_PUPIL_KEYS)}")
    group, special = value["group"], value["special"]
    if not isinstance(special, bool) or not (group is None or isinstance(group, str)):
        raise AssignmentError("pupil entry: special must be true/false, group a label or null")
    return Pupil(id=str(value["id"]), sex=str(value["sex"]), birth=str(value["birth"]),
                 special=special, group=group)


def input_document(pupils: Iterable[Pupil], classes: int, class_size: int) -> dict[str, Any]:
    """The document that is committed to before the draw (pupils sorted by id)."""
    return {"rules_version": RULES_VERSION, "classes": classes, "class_size": class_size,
            "pupils": [p.as_json() for p in sorted(pupils, key=lambda p: p.id)]}


def pupils_of(document: Mapping[str, Any]) -> list[Pupil]:
    """The pupils of a committed document."""
    return [pupil_from_json(entry) for entry in document["pupils"]]


def canonical_json(value: Any) -> bytes:
    """The one byte form that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def commitment_of(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical committed document."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def seed_of(commitment: str, public_value: str) -> str:
    """The draw's seed: SHA-256(commitment ‖ newline ‖ public value), hex."""
    return hashlib.sha256(f"{commitment}\n{public_value}".encode()).hexdigest()


def _tag(key: bytes, label: str) -> str:
    return hmac.new(key, label.encode(), hashlib.sha256).hexdigest()


def _check(pupils: Sequence[Pupil], classes: int, class_size: int, seed: str) -> None:
    if classes < 1 or class_size < 1:
        raise AssignmentError("classes and class size must be at least 1")
    if not seed:
        raise AssignmentError("the seed is empty")
    if len(pupils) > classes * class_size:
        raise AssignmentError(
            f"{len(pupils)} pupils do not fit in {classes} classes of {class_size}")
    seen: set[str] = set()
    for p in pupils:
        if not _ID.fullmatch(p.id) or p.id in seen:
            raise AssignmentError(f"pupil id {p.id!r} is malformed or repeated")
        seen.add(p.id)
        if p.sex not in SEXES:
            raise AssignmentError(f"pupil {p.id}: sex must be male or female")
        if not _BIRTH.fullmatch(p.birth):
            raise AssignmentError(f"pupil {p.id}: birth must be YYYY-MM")
        if p.group is not None and not _ID.fullmatch(p.group):
            raise AssignmentError(f"pupil {p.id}: malformed group label")


def assign(pupils: Sequence[Pupil], classes: int, class_size: int,
           seed: str) -> dict[str, int]:
    """Each pupil's class (1…classes) under the rules above; the same inputs, the same result."""
    _check(pupils, classes, class_size, seed)
    key = seed.encode()
    ordered = sorted(pupils, key=lambda p: p.id)
    rank = {p.id: _tag(key, "pupil:" + p.id) for p in ordered}
    # A seeded order of the classes: who takes extra boys and girls, and every tie.
    order = sorted(range(1, classes + 1), key=lambda c: (_tag(key, f"class:{c}"), c))
    pos = {c: i for i, c in enumerate(order)}

    # Rule 1: per-class places for boys and girls, the extras taken in turn (cyclically).
    counts = Counter(p.sex for p in ordered)
    base_m, extra_m = divmod(counts["male"], classes)
    base_f, extra_f = divmod(counts["female"], classes)
    free = {
        "male": {c: base_m + (1 if pos[c] < extra_m else 0) for c in order},
        "female": {c: base_f + (1 if (pos[c] - extra_m) % classes < extra_f else 0)
                   for c in order},
    }
    specials = dict.fromkeys(order, 0)
    result: dict[str, int] = {}

    def place(p: Pupil, c: int) -> None:
        result[p.id] = c
        free[p.sex][c] -= 1
        if p.special:
            specials[c] += 1

    def room(c: int) -> int:
        return free["male"][c] + free["female"][c]

    # Rule 2: requested groups together, largest first. Choosing by room first keeps
    # whether they fit independent of the seed (checked when the input is committed).
    groups: dict[str, list[Pupil]] = {}
    for p in ordered:
        if p.group is not None:
            groups.setdefault(p.group, []).append(p)
    units = sorted((m for m in groups.items() if len(m[1]) > 1),
                   key=lambda m: (-len(m[1]), min(rank[p.id] for p in m[1]), m[0]))
    for _label, members in units:
        need = Counter(p.sex for p in members)
        with_special = any(p.special for p in members)
        c = min(order, key=lambda c: (-room(c), specials[c] if with_special else 0, pos[c]))
        if room(c) < len(members):
            raise AssignmentError(f"a group of {len(members)} does not fit in any class")
        for sex in SEXES:
            other = "female" if sex == "male" else "male"
            while free[sex][c] < need[sex]:
                # c gives up a place of the other sex; the donor the reverse: sizes unchanged.
                d = max((d for d in order if d != c and free[sex][d] > 0),
                        key=lambda d: (free[sex][d], -pos[d]))
                free[sex][c] += 1
                free[other][c] -= 1
                free[sex][d] -= 1
                free[other][d] += 1
        for p in members:
            place(p, c)

    # Rule 3: children with special needs, spread one by one.
    rest = [p for p in ordered if p.id not in result]
    for p in sorted((p for p in rest if p.special), key=lambda p: (rank[p.id], p.id)):
        c = min((c for c in order if free[p.sex][c] > 0),
                key=lambda c: (specials[c], -free[p.sex][c], pos[c]))
        place(p, c)

    # Rule 4: the others by sex, in birth-month order, in proportion to the free places.
    # The key (placed + ½) / places is a float: IEEE division is correctly rounded, so equal
    # fractions give equal floats and, with denominators this small, different fractions
    # never do; the order is exactly that of the fractions, on every machine.
    for sex in SEXES:
        queue = sorted((p for p in rest if not p.special and p.sex == sex),
                       key=lambda p: (p.birth, rank[p.id], p.id))
        places = {c: free[sex][c] for c in order}
        heap = [(0.5 / places[c], pos[c], c, 0) for c in order if places[c] > 0]
        heapq.heapify(heap)
        for p in queue:
            _, _, c, placed = heapq.heappop(heap)
            place(p, c)
            if placed + 1 < places[c]:
                heapq.heappush(heap, ((placed + 1.5) / places[c], pos[c], c, placed + 1))
    return result


def class_summary(pupils: Sequence[Pupil], placement: Mapping[str, int | None],
                  classes: int) -> list[dict[str, Any]]:
    """Per class: size, boys, girls, special needs and the mean birth month (as YYYY-MM.x)."""
    rows: dict[int, dict[str, Any]] = {
        c: {"class_no": c, "size": 0, "male": 0, "female": 0, "special": 0, "_months": 0}
        for c in range(1, classes + 1)}
    for p in pupils:
        c = placement.get(p.id)
        if c is None or c not in rows:
            continue
        row = rows[c]
        row["size"] += 1
        row[p.sex] += 1
        row["special"] += 1 if p.special else 0
        year, month = p.birth.split("-")
        row["_months"] += int(year) * 12 + int(month) - 1
    out = []
    for c in range(1, classes + 1):
        row = rows[c]
        months = row.pop("_months")
        row["mean_birth_month"] = (None if not row["size"] else
                                   round(months / row["size"], 2))
        out.append(row)
    return out


def apply_corrections(result: Mapping[str, int],
                      corrections: Iterable[Mapping[str, Any]]) -> dict[str, int | None]:
    """The published result after the audited corrections, in order (None: left the school).

    Raises AssignmentError when a correction does not start from where the child was.
    """
    final: dict[str, int | None] = dict(result)
    for n, correction in enumerate(corrections, start=1):
        pid = correction["id"]
        if pid not in final:
            raise AssignmentError(f"correction {n}: pupil {pid} is not in the result")
        if final[pid] != correction["from_class"]:
            raise AssignmentError(f"correction {n}: pupil {pid} was in class {final[pid]}, "
                                  f"not {correction['from_class']}")
        final[pid] = correction["to_class"]
    return final
