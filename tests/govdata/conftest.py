"""The government data simulator on a loopback port, and adapters configured for it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from backend.govdata.client import sources_for
from backend.govdata.simulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, create_simulator_app
from backend.govdata.sources import Fact, Source
from tests.conftest import LiveServer

AUTHORITY = "141124"  # 临县, the demo county


class GovSimulator:
    """The data-sharing platform simulator over HTTP, with its control surface."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def control(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        response = self.http.request(method, f"{self.base_url}/sim/{path}",
                                      json=body or None, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def fault(self, endpoint: str, kind: str, **spec: Any) -> None:
        """Make calls to one endpoint time out, fail or be rate-limited."""
        self.control("POST", "faults", endpoint=endpoint, kind=kind, **spec)

    def add_record(self, endpoint: str, record: dict[str, Any]) -> None:
        self.control("POST", "records", endpoint=endpoint, record=record)

    def queries(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        path = f"queries?endpoint={endpoint}" if endpoint else "queries"
        return self.control("GET", path)["queries"]  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.control("POST", "reset")


@pytest.fixture(scope="session")
def gov_sim() -> Iterator[GovSimulator]:
    """The government data simulator, reached over loopback HTTP as a county's platform."""
    sim_app = create_simulator_app(rate_per_second=1000)
    with LiveServer(sim_app) as server:
        sim = GovSimulator(server.url)
        yield sim
        sim.reset()  # wakes any request still sleeping in a timeout fault
        sim.http.close()


@pytest.fixture(autouse=True)
def _reset_gov_sim(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with the demo records and no faults."""
    yield
    if "gov_sim" in request.fixturenames:
        request.getfixturevalue("gov_sim").reset()


@pytest.fixture()
def govdata_config(gov_sim: GovSimulator) -> Callable[..., dict[str, str]]:
    """An app config whose GOVDATA_SOURCES points the demo county at the simulator."""

    def _config(**overrides: Any) -> dict[str, str]:
        spec = {"base_url": gov_sim.base_url, "app_key": DEFAULT_APP_KEY,
                "app_secret": DEFAULT_APP_SECRET, "facts": [f.value for f in Fact],
                "timeout_seconds": 2, **overrides}
        return {"GOVDATA_SOURCES": json.dumps({AUTHORITY: spec})}

    return _config


@pytest.fixture()
def sources(govdata_config: Callable[..., dict[str, str]]) -> Callable[..., dict[Fact, Source]]:
    """The demo county's sources, with optional configuration overrides."""

    def _sources(**overrides: Any) -> dict[Fact, Source]:
        return sources_for(AUTHORITY, govdata_config(**overrides))

    return _sources
