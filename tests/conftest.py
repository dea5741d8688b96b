"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
JADE_MEDIUM = SHARED_DIR / "data" / "jade-v3-medium.jsonl"
PROTOCOL_REFERENCE = SHARED_DIR / "reference" / "libra-protocol.md"


@pytest.fixture(scope="session")
def jade_medium_path() -> Path:
    """The real JADE v3 medium set beside the checkout; tests using it skip where it is absent."""
    if not JADE_MEDIUM.is_file():
        pytest.skip(f"external data {JADE_MEDIUM} is absent (it lives in ../shared/data)")
    return JADE_MEDIUM
