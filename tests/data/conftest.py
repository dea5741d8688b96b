"""Fixtures for the data tests: sample rows and an in-process S3 server (moto)."""

from __future__ import annotations

import pytest

from libra_guard.data.schema import GuardRow
from tests.data.rows import make_row


@pytest.fixture
def rows() -> list[GuardRow]:
    """Four valid rows, one with an analysis and one with an extra key."""
    return [
        GuardRow(**make_row(1)),
        GuardRow(**make_row(2, analyze="回答提供了违法方法。")),
        GuardRow(**make_row(3, source="Synthetic Data", category_name="隐私财产")),
        GuardRow(**make_row(4, model="qwen")),
    ]
