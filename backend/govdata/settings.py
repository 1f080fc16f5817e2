"""GOVDATA_SOURCES: which authority asks which data-sharing platform for which facts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from backend.govdata.sources import Fact

# Shown to families and staff when the configuration names no source.
DEFAULT_NAMES: dict[Fact, str] = {
    Fact.HOUSEHOLD: "公安户籍信息",
    Fact.PROPERTY: "不动产登记信息",
    Fact.RESIDENCE_PERMIT: "公安居住证信息",
    Fact.BIRTH: "卫健出生医学证明信息",
}
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 60.0
AUTHORITY_CODE = re.compile(r"\d{6}")
_KEYS = {"base_url", "app_key", "app_secret", "facts", "timeout_seconds", "names"}
_REQUIRED = ("base_url", "app_key", "app_secret", "facts")


@dataclass(frozen=True)
class PlatformConfig:
    """One authority's data-sharing platform: where, with which credentials, which facts."""

    authority_code: str
    base_url: str  # ends with no slash; endpoint paths start with one
    app_key: str
    app_secret: str
    facts: tuple[Fact, ...]
    timeout_seconds: float
    names: MappingProxyType[Fact, str]


def read_sources_text(raw: str | None) -> str:
    """The JSON text of GOVDATA_SOURCES: the value itself, or the file it names."""
    raw = (raw or "").strip()
    if not raw or raw.startswith("{"):
        return raw
    path = Path(raw)
    if not path.is_file():
        # Not the value itself: it may be the JSON with an app secret, mis-quoted.
        raise ValueError("GOVDATA_SOURCES must be a JSON object or the path of a JSON file; "
                         "it is neither (no such file)")
    return path.read_text(encoding="utf-8")


def parse_sources(raw: str | None) -> dict[str, PlatformConfig]:
    """Parse and check GOVDATA_SOURCES; a ValueError names the first thing that is wrong."""
    text = read_sources_text(raw)
    if not text:
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"GOVDATA_SOURCES is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("GOVDATA_SOURCES must be a JSON object keyed by 6-digit authority code")
    return {code: _platform(code, spec) for code, spec in document.items()}


def _platform(code: str, spec: object) -> PlatformConfig:
    where = f"GOVDATA_SOURCES[{code!r}]"
    if not AUTHORITY_CODE.fullmatch(code):
        raise ValueError(f"GOVDATA_SOURCES keys must be 6-digit authority codes "
                         f"(行政区划代码, e.g. 141124), got {code!r}")
    if not isinstance(spec, dict):
        raise ValueError(f"{where} must be an object")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        if key not in spec:
            raise ValueError(f"{where} lacks {key}")
    for key in ("base_url", "app_key", "app_secret"):
        if not isinstance(spec[key], str) or not spec[key].strip():
            raise ValueError(f"{where}.{key} must be a non-empty string")
    base_url = spec["base_url"].strip().rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}.base_url must be an http(s) URL, got {base_url!r}")
    facts = _facts(where, spec["facts"])
    timeout = spec.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) \
            or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"{where}.timeout_seconds must be a number of seconds in "
                         f"(0, {MAX_TIMEOUT_SECONDS:g}]")
    return PlatformConfig(code, base_url, spec["app_key"].strip(), spec["app_secret"],
                          facts, float(timeout), _names(where, spec.get("names"), facts))


def _facts(where: str, value: object) -> tuple[Fact, ...]:
    known = {fact.value: fact for fact in Fact}
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}.facts must be a non-empty list of: {', '.join(known)}")
    facts = []
    for item in value:
        if item not in known:
            raise ValueError(f"{where}.facts: unknown fact {item!r} (known: {', '.join(known)})")
        if known[item] in facts:
            raise ValueError(f"{where}.facts lists {item!r} twice")
        facts.append(known[item])
    return tuple(facts)


def _names(where: str, value: object, facts: tuple[Fact, ...]) -> MappingProxyType[Fact, str]:
    names = {fact: DEFAULT_NAMES[fact] for fact in facts}
    if value is None:
        return MappingProxyType(names)
    if not isinstance(value, dict):
        raise ValueError(f"{where}.names must be an object of fact -> display name")
    for key, name in value.items():
        fact = next((f for f in facts if f.value == key), None)
        if fact is None:
            raise ValueError(f"{where}.names: {key!r} is not one of this authority's facts")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}.names[{key!r}] must be a non-empty string")
        names[fact] = name.strip()
    return MappingProxyType(names)


def production_problems(platforms: dict[str, PlatformConfig]) -> list[str]:
    """What production refuses: plain HTTP (ID numbers travel in the body), demo keys."""
    problems = []
    for code, platform in sorted(platforms.items()):
        if not platform.base_url.startswith("https://"):
            problems.append(f"GOVDATA_SOURCES[{code!r}].base_url must use https")
        if platform.app_key.startswith("demo-") or platform.app_secret.startswith("demo-"):
            problems.append(f"GOVDATA_SOURCES[{code!r}] must use the platform's own app key "
                            "and secret, not the simulator's")
    return problems



def simulator_sources(base_url: str, authority_code: str) -> str:
    """GOVDATA_SOURCES pointing one authority at the simulator with its demo app key and
    secret (the development server; production refuses these keys)."""
    from backend.govdata.simulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET

    return json.dumps({authority_code: {
        "base_url": base_url.rstrip("/"), "app_key": DEFAULT_APP_KEY,
        "app_secret": DEFAULT_APP_SECRET, "facts": [fact.value for fact in Fact]}})
