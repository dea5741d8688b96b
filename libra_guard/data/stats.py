"""Summary numbers of a dataset: what a person checks before training or evaluating on it.

Label balance decides whether accuracy means anything; source and scenario counts show what
the per-source metrics will average over; text lengths (in characters) show whether the
prompt fits the model's context.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from libra_guard.data.dedup import normalise_text
from libra_guard.data.schema import LABELS, RESPONSE_TASK, TASKS, GuardRow


def length_summary(lengths: Sequence[int]) -> dict[str, float | int | None]:
    """min, mean, median and max of character counts; ``None`` values for no rows."""
    if not lengths:
        return {"min": None, "mean": None, "median": None, "max": None}
    return {
        "min": min(lengths),
        "mean": round(statistics.fmean(lengths), 1),
        "median": statistics.median(lengths),
        "max": max(lengths),
    }


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    """Most common first, ties by name, so output is stable."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def dataset_stats(rows: Sequence[GuardRow]) -> dict[str, Any]:
    """Counts by label, source and scenario, distinct questions and subcategories, lengths.

    ``labels`` always lists both labels (a missing class shows as 0); ``subcategories`` is
    the number of distinct (scenario, subcategory) pairs; ``tasks`` counts each task's rows and
    ``response_chars`` reads the response rows only.
    """
    labels = Counter(row.label for row in rows)
    tasks = Counter(row.task for row in rows)
    responses = [row for row in rows if row.task == RESPONSE_TASK]
    return {
        "rows": len(rows),
        "tasks": {task: tasks[task] for task in TASKS},
        "labels": {label: labels[label] for label in LABELS},
        "sources": _sorted_counts(Counter(row.source for row in rows)),
        "scenarios": _sorted_counts(Counter(row.category_name for row in rows)),
        "subcategories": len({(row.category_name, row.sub_category_name) for row in rows}),
        "distinct_questions": len({normalise_text(row.question) for row in rows}),
        "question_chars": length_summary([len(row.question) for row in rows]),
        # Prompt-task rows have no response; their zero lengths would skew the summary.
        "response_chars": length_summary([len(row.response) for row in responses]),
    }
