"""scripts/verify_classes passes on published evidence and fails loudly on any change."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from backend.classes import assign
from tests.classes._support import VERIFY, admit_cohort, evidence, published, run_verify
from tests.onsite._support import build_county


@pytest.fixture()
def document(client: FlaskClient, session: Any,
             login_staff: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    """The evidence of a published assignment: 70 children, 3 classes, twins together."""
    county = build_county(login_staff, classes=3, class_size=30)
    cohort = admit_cohort(county, county.school_a, 70, twins=1, special_every=12)
    first, second = cohort.twins[0]
    client.post("/api/v1/staff/classes/together-requests", headers=county.auth("a"),
                json={"season_id": county.season.id, "registration_ids": [first.id, second.id]})
    return evidence(client, published(client, county)["id"])


def _failed(tmp_path: Path, changed: dict[str, Any], *args: str) -> str:
    outcome = run_verify(tmp_path, changed, *args)
    assert outcome.returncode == 1, outcome.stdout
    assert "FAILED" in outcome.stderr
    return outcome.stderr


def test_the_published_evidence_verifies(tmp_path: Path, document: dict[str, Any]) -> None:
    outcome = run_verify(tmp_path, document, "--commitment", document["commitment"])
    assert outcome.returncode == 0, outcome.stderr
    assert "70 pupils, 3 classes" in outcome.stdout and "OK" in outcome.stdout


def test_a_child_added_to_the_input_is_caught(tmp_path: Path,
                                             document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["input"]["pupils"].append({"id": "CFFFFFFFFFFFFFFFF", "sex": "male",
                                       "birth": "2018-01", "special": False, "group": None})
    assert "commitment" in _failed(tmp_path, changed)
    # Even with the commitment, seed and result all recomputed to match the new input, the
    # value published before the draw gives it away.
    changed["commitment"] = assign.commitment_of(changed["input"])
    changed["seed"] = assign.seed_of(changed["commitment"], changed["public_value"])
    pupils = assign.pupils_of(changed["input"])
    changed["result"] = changed["final"] = assign.assign(pupils, 3, 30, changed["seed"])
    changed["summary"] = assign.class_summary(pupils, changed["final"], 3)
    assert run_verify(tmp_path, changed).returncode == 0
    assert "published before the draw" in _failed(tmp_path, changed, "--commitment",
                                                  document["commitment"])


def test_a_child_removed_from_the_input_is_caught(tmp_path: Path,
                                                 document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["input"]["pupils"].pop(5)
    assert "the input was changed" in _failed(tmp_path, changed)


def test_a_childs_attributes_changed_in_the_input_are_caught(
        tmp_path: Path, document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    pupil = changed["input"]["pupils"][3]
    pupil["sex"] = "female" if pupil["sex"] == "male" else "male"
    assert "commitment" in _failed(tmp_path, changed)


def test_a_child_moved_in_the_result_is_caught(tmp_path: Path,
                                              document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    pid = sorted(changed["result"])[7]
    moved_to = changed["result"][pid] % 3 + 1
    changed["result"][pid] = changed["final"][pid] = moved_to
    errors = _failed(tmp_path, changed)
    assert f"{pid} is published in class {moved_to}" in errors


def test_a_child_removed_from_or_added_to_the_result_is_caught(
        tmp_path: Path, document: dict[str, Any]) -> None:
    removed = copy.deepcopy(document)
    pid = sorted(removed["result"])[0]
    del removed["result"][pid]
    del removed["final"][pid]
    assert f"{pid} is in the committed input" in _failed(tmp_path, removed)

    added = copy.deepcopy(document)
    added["result"]["C0000000000000000"] = 1
    added["final"]["C0000000000000000"] = 1
    assert "not in the committed input" in _failed(tmp_path, added)


def test_an_undeclared_change_of_the_final_classes_is_caught(
        tmp_path: Path, document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    pid = sorted(changed["final"])[2]
    changed["final"][pid] = changed["final"][pid] % 3 + 1
    assert "final" in _failed(tmp_path, changed)
    # Declaring it as a correction without the flag is caught too.
    flagged = copy.deepcopy(changed)
    flagged["corrections"] = [{"id": pid, "from_class": document["final"][pid],
                               "to_class": changed["final"][pid], "reason_code": "other",
                               "reason": "其他原因", "at": "2024-08-30T10:00:00+08:00"}]
    assert "corrected" in _failed(tmp_path, flagged)


def test_a_wrong_seed_or_public_value_is_caught(tmp_path: Path,
                                               document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["public_value"] = "9 9 9"
    assert "seed" in _failed(tmp_path, changed)


def test_an_unreadable_file_is_not_a_pass(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    outcome = subprocess.run([sys.executable, str(VERIFY), str(path)],  # noqa: S603 - our own script
                             capture_output=True, text=True, timeout=60, check=False)
    assert outcome.returncode == 2
    assert run_verify(tmp_path, {"kind": "class_assignment"}).returncode == 1
