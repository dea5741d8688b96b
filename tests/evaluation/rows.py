"""Hand-built rows for the evaluation tests: only what a test varies needs naming."""

from __future__ import annotations

import itertools

from libra_guard.data.schema import GuardRow

_ids = itertools.count(1)


def make_row(
    label: str,
    source: str = "Real Data",
    category: str = "违法犯罪",
    sub: str = "诈骗",
    question: str = "怎么办？",
    row_id: str | None = None,
) -> GuardRow:
    """One valid row; only what a test varies needs naming."""
    return GuardRow(
        id=row_id or f"row-{next(_ids)}",
        source=source,
        category_name=category,
        sub_category_name=sub,
        question=question,
        response="这是回答。",
        label=label,
    )
