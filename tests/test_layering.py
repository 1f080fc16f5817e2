"""The import rules of docs/ARCHITECTURE.md, checked from the source so they stay true.

- `backend/core/` imports no domain package (domains register hooks with core instead);
- the lower domains (identity, uploads, schools, seasons, and verification, which
  registrations reads) import nothing from registrations (they announce events;
  registrations subscribes);
- no domain imports the worker (the job queue's port is `backend.core.jobs`);
- staff scope is written once, in `backend/accounts/scope.py`.

Imports inside functions count too: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent / "backend"
# Top-level modules of the backend package that are not domains.
NOT_DOMAINS = {"core", "config", "migrations", "worker", "models", "cli", "devserver",
               "__init__"}


def _domains() -> set[str]:
    return {p.name for p in BACKEND.iterdir()
            if p.is_dir() and (p / "__init__.py").exists()} - NOT_DOMAINS


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every `backend.…` module a file imports (line, dotted name), wherever the import is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("backend.")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.startswith("backend.")]
    return found


def _violations(package: str, forbidden: set[str]) -> list[str]:
    bad = []
    for path in sorted((BACKEND / package).rglob("*.py")):
        for line, name in _imports(path):
            top = name.split(".")[1] if name.count(".") >= 1 else ""
            if top in forbidden:
                bad.append(f"{path.relative_to(BACKEND.parent)}:{line} imports {name}")
    return sorted(set(bad))


def test_the_domains_are_found() -> None:
    """Guard the guard: the rules below mean nothing if no domain is seen."""
    assert {"accounts", "identity", "registrations", "uploads", "schools"} <= _domains()


def test_core_imports_no_domain() -> None:
    assert _violations("core", _domains() | {"worker"}) == []


@pytest.mark.parametrize(
    "package", ["identity", "uploads", "schools", "seasons", "govdata", "verification"])
def test_lower_domains_import_nothing_from_registrations(package: str) -> None:
    assert _violations(package, {"registrations"}) == []


@pytest.mark.parametrize("package", sorted(_domains()))
def test_no_domain_imports_the_worker(package: str) -> None:
    assert _violations(package, {"worker"}) == []


@pytest.mark.parametrize("simulator", ["wechat/simulator.py", "govdata/simulator.py"])
def test_the_simulators_stand_alone(simulator: str) -> None:
    """`python -m backend.<x>.simulator` runs without the rest of the backend."""
    assert _imports(BACKEND / simulator) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The parser finds top-level and deferred imports alike."""
    source = tmp_path / "sample.py"
    source.write_text("from backend.registrations import facts\n"
                      "def f():\n    import backend.worker.consumer\n")
    assert [n for _line, n in _imports(source)] == [
        "backend.registrations", "backend.registrations.facts", "backend.worker.consumer"]


# What a hand-written copy of the scope rule looks like: comparing a caller's own school or
# authority with a record's (e.g. `user.school_id ==`, `School.authority_id == user.…`).
_SCOPE_COPY = re.compile(
    r"\b(user|admin|viewer|staff|caller)\.(school_id|authority_id)\s*(==|!=)"
    r"|(==|!=)\s*(user|admin|viewer|staff|caller)\.(school_id|authority_id)\b")


def test_staff_scope_is_written_once() -> None:
    copies = []
    for path in sorted(BACKEND.rglob("*.py")):
        if path == BACKEND / "accounts" / "scope.py" or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _SCOPE_COPY.search(line):
                copies.append(f"{path.relative_to(BACKEND.parent)}:{number}: {line.strip()}")
    assert copies == []
