"""Evaluation outputs in the shape ``libra_guard.evaluation`` writes, for the gate tests."""

from __future__ import annotations

CRIME = "违法犯罪"
BIAS = "偏见歧视"
PRIVACY = "隐私财产"


def metrics(
    accuracy: float = 0.9,
    f1_unsafe: float = 0.9,
    categories: dict[str, tuple[float, int]] | None = None,
    n: int = 100,
) -> dict:
    """A ``metrics.json``: headline figures and per-scenario (accuracy, rows)."""
    categories = categories if categories is not None else {CRIME: (0.9, 60), BIAS: (0.9, 40)}
    return {
        "average": {"accuracy": accuracy, "f1_safe": 0.9, "f1_unsafe": f1_unsafe},
        "by_category": {
            name: {"accuracy": acc, "n": rows} for name, (acc, rows) in categories.items()
        },
        "n": n,
    }


def predictions(correct: list[bool], prefix: str = "row") -> list[dict]:
    """``predictions.jsonl`` rows with ids ``row-0``, ``row-1``, ..."""
    return [{"id": f"{prefix}-{i}", "correct": value} for i, value in enumerate(correct)]


def paired(b: int, c: int, both_correct: int, both_wrong: int) -> tuple[list[dict], list[dict]]:
    """(challenger, champion) prediction rows with the given McNemar table."""
    challenger = [True] * b + [False] * c + [True] * both_correct + [False] * both_wrong
    champion = [False] * b + [True] * c + [True] * both_correct + [False] * both_wrong
    return predictions(challenger), predictions(champion)
