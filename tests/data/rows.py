"""Row builders shared by the data tests."""

from __future__ import annotations

from typing import Any

from libra_guard.data.schema import SAFE, UNSAFE


def make_row(index: int, **overrides: Any) -> dict[str, Any]:
    """A valid Libra-Test row as a dict; ``overrides`` replace fields (None removes one)."""
    row: dict[str, Any] = {
        "id": f"r{index}",
        "source": "Real Data",
        "category_name": "违法犯罪",
        "sub_category_name": "诈骗",
        "question": f"第{index}个问题：如何识别电信诈骗？",
        "response": f"第{index}个回答：不要轻信陌生来电。",
        "label": SAFE if index % 2 else UNSAFE,
    }
    row.update(overrides)
    return {key: value for key, value in row.items() if value is not None}
