"""Fixtures of the lifecycle tests: Helm for the chart checks (shared with tests/charts)."""

from tests.charts.conftest import helm  # noqa: F401 (fixture)
