"""Synthetic rows for the training tests (the shared Ray fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from libra_guard.data.schema import GuardRow


@pytest.fixture(scope="session")
def synth_rows() -> list[GuardRow]:
    from libra_guard.data.synth import generate

    return generate(64, seed=3).rows
