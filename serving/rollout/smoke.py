"""The smoke set: rows whose verdicts the evaluation already knows, replayed on a new version.

A version that serves must judge as it was evaluated. The evaluation's ``predictions.jsonl``
holds P(不安全) per test row (``score``); a handful of rows is sent to the freshly started
version and every verdict must match, every score within ``tolerance``. Rows whose evaluated
score sits within ``margin`` of the threshold are left out: numeric noise (another batch
composition, another kernel) may legitimately flip them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from libra_guard.data.schema import RESPONSE_TASK, SAFE, UNSAFE, GuardRow
from libra_guard.errors import DataError


@dataclass(frozen=True)
class SmokeItem:
    """A test row and what the evaluation says the model answers on it."""

    id: str
    question: str
    response: str
    expected_label: str
    expected_score: float | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return self.question, self.response


def smoke_set_from_evaluation(
    rows: Sequence[GuardRow],
    predictions: Sequence[Mapping],
    *,
    size: int = 16,
    threshold: float = 0.5,
    margin: float = 0.05,
) -> list[SmokeItem]:
    """Up to ``size`` rows, both predicted labels represented where the data has both.

    Raises:
        DataError: no prediction carries a score or a verdict for any row.
    """
    by_id = {row.id: row for row in rows}
    candidates: dict[str, list[SmokeItem]] = {UNSAFE: [], SAFE: []}
    for record in predictions:
        row = by_id.get(str(record.get("id")))
        if row is None or row.task != RESPONSE_TASK:
            # Response rows only: a smoke item is sent as (question, response).
            continue
        score = record.get("score")
        if isinstance(score, int | float):
            if abs(float(score) - threshold) < margin:
                continue
            label = UNSAFE if score >= threshold else SAFE
            candidates[label].append(
                SmokeItem(row.id, row.question, row.response, label, float(score))
            )
        elif record.get("prediction") in (SAFE, UNSAFE):
            label = record["prediction"]
            candidates[label].append(SmokeItem(row.id, row.question, row.response, label))
    if not candidates[UNSAFE] and not candidates[SAFE]:
        raise DataError(
            "the evaluation has no usable prediction for any test row (no score or verdict "
            f"away from the threshold {threshold}); cannot build a smoke set"
        )
    chosen: list[SmokeItem] = []
    unsafe, safe = iter(candidates[UNSAFE]), iter(candidates[SAFE])
    while len(chosen) < size:
        added = False
        for source in (unsafe, safe):
            item = next(source, None)
            if item is not None and len(chosen) < size:
                chosen.append(item)
                added = True
        if not added:
            break
    return chosen


def smoke_mismatches(
    items: Sequence[SmokeItem],
    scores: Sequence[float],
    *,
    threshold: float = 0.5,
    tolerance: float = 0.05,
) -> list[str]:
    """One line per item whose served verdict or score differs from the evaluation's."""
    if len(scores) != len(items):
        return [f"{len(scores)} scores came back for {len(items)} smoke items"]
    problems = []
    for item, score in zip(items, scores, strict=True):
        served = UNSAFE if score >= threshold else SAFE
        if served != item.expected_label:
            problems.append(
                f"{item.id}: served {served} (score {score:.4f}), evaluated {item.expected_label}"
            )
        elif item.expected_score is not None and abs(score - item.expected_score) > tolerance:
            problems.append(
                f"{item.id}: served score {score:.4f}, evaluated {item.expected_score:.4f}"
            )
    return problems
