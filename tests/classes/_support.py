"""Admitted cohorts, the commit → draw calls and the verify script, for class tests."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from backend.identity.models import Guardian
from backend.registrations.models import Registration
from backend.schools.models import School
from tests.onsite._support import County, add_child, add_guardian, admit

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "scripts" / "verify_classes"
PUBLIC_VALUE_SOURCE = "2024年8月25日 中国福利彩票“3D”第2024230期开奖号码（示例）"


@dataclass
class Cohort:
    """Registrations admitted to one school, and the twins among them (by guardian)."""

    registrations: list[Registration]
    twins: list[tuple[Registration, Registration]]


def admit_cohort(county: County, school: School, size: int, *, seed: int = 1,
                 twins: int = 0, special_every: int = 0) -> Cohort:
    """`size` children with confirmed offers: random sexes and birth months (seeded)."""
    rnd = random.Random(seed)
    registrations: list[Registration] = []
    pairs: list[tuple[Registration, Registration]] = []
    guardian: Guardian | None = None
    for n in range(size):
        in_pair = n < 2 * twins
        if not in_pair or n % 2 == 0:
            guardian = add_guardian()
        assert guardian is not None
        birth = dt.date(2017, 9, 1) + dt.timedelta(days=rnd.randrange(365))
        child = add_child(guardian, county.village, sex=rnd.choice(("male", "female")),
                          birth=birth, categories=["disability"] if special_every
                          and n % special_every == special_every - 1 else [])
        registrations.append(admit(county, child, school))
        if in_pair and n % 2 == 1:
            pairs.append((registrations[-2], registrations[-1]))
    return Cohort(registrations, pairs)


def commit(client: FlaskClient, county: County, who: str = "a", **body: Any) -> Any:
    """POST a commit for the county's season (school A's staff by default)."""
    payload = {"season_id": county.season.id, "scope": "confirmed",
               "public_value_source": PUBLIC_VALUE_SOURCE, **body}
    return client.post("/api/v1/staff/classes/assignments", json=payload,
                       headers=county.auth(who))


def draw(client: FlaskClient, county: County, assignment_id: int, value: str = "5 1 9",
         who: str = "a") -> Any:
    """POST the public value."""
    return client.post(f"/api/v1/staff/classes/assignments/{assignment_id}/draw",
                       json={"public_value": value}, headers=county.auth(who))


def published(client: FlaskClient, county: County, who: str = "a", value: str = "5 1 9",
              **body: Any) -> dict[str, Any]:
    """Commit and draw; the published assignment."""
    committed = commit(client, county, who, **body)
    assert committed.status_code == 201, committed.get_json()
    drawn = draw(client, county, committed.get_json()["id"], value, who)
    assert drawn.status_code == 200, drawn.get_json()
    return drawn.get_json()  # type: ignore[no-any-return]


def evidence(client: FlaskClient, assignment_id: int) -> dict[str, Any]:
    """The public evidence (no login)."""
    response = client.get(f"/api/v1/classes/assignments/{assignment_id}/evidence")
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def run_verify(tmp_path: Path, document: dict[str, Any],
               *args: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/verify_classes on an evidence document, as anyone would."""
    path = tmp_path / f"evidence-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return verify_file(path, *args)


def verify_file(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/verify_classes on an evidence file (e.g. one downloaded from the console)."""
    return subprocess.run([sys.executable, str(VERIFY), str(path), *args],  # noqa: S603 - our own script
                          capture_output=True, text=True, timeout=60, check=False)


def class_counts(document: dict[str, Any]) -> list[dict[str, int]]:
    """Per class size / male / female recomputed from the evidence's final classes."""
    pupils = {p["id"]: p for p in document["input"]["pupils"]}
    rows = [{"size": 0, "male": 0, "female": 0, "special": 0}
            for _ in range(document["input"]["classes"])]
    for pid, class_no in document["final"].items():
        if class_no is None:
            continue
        row = rows[class_no - 1]
        row["size"] += 1
        row[pupils[pid]["sex"]] += 1
        row["special"] += 1 if pupils[pid]["special"] else 0
    return rows


def spread(rows: list[dict[str, int]], key: str) -> int:
    """max − min of one count across classes."""
    values = [row[key] for row in rows]
    return max(values) - min(values)
