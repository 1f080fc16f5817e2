"""The government data simulator's fixtures (tests/govdata), for the journey's tests."""

from tests.govdata.conftest import _reset_gov_sim, gov_sim, govdata_config  # noqa: F401
