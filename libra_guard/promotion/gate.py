"""The promotion gate: may a freshly trained challenger replace the champion?

Two questions, both must be answered yes:

1. Is the challenger good enough in absolute terms? It must reach every threshold: the
   headline average accuracy, the headline F1 of the unsafe class, and an accuracy floor in
   every harm scenario that has at least ``min_category_rows`` test rows (smaller scenarios
   are too noisy to judge and are listed as not checked). These top-level figures are the
   response task's (Libra's); ``thresholds.tasks`` adds checks on a task's own figures
   (``metrics["by_task"][task]``, e.g. the prompt task's accuracy). A task threshold whose
   figure the metrics lack (a test set without prompt rows) fails the check, with the reason.
2. Is it not worse than the champion? Both were evaluated on the same test rows; the rows are
   paired by id and McNemar's test (``mcnemar.py``) says whether the accuracy difference is
   real at level ``alpha``.

Tie policy: the gate blocks regressions that the data can prove and does not demand proof
of improvement. A challenger that is significantly worse fails ("champion better"); one that
is significantly better, equal, or insignificantly different passes, provided it meets
every threshold (the thresholds, not the comparison, keep a mediocre model out). The test is
two-sided, so "significantly worse" means p < alpha with more rows won by the champion.
Evaluations of the two models on different row sets cannot be paired: the gate fails and
says so, rather than comparing numbers that do not measure the same thing. With no champion
yet, the thresholds alone decide.

Inputs are what ``libra_guard.evaluation`` writes: ``metrics.json`` (a dict with ``average``
and ``by_category``) and ``predictions.jsonl`` rows (dicts with ``id`` and ``correct``). The
records the gate returns (``GateDecision`` and its parts) live in ``decision.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from libra_guard.errors import DataError
from libra_guard.promotion.decision import (
    ChampionComparison,
    GateCheck,
    GateDecision,
    GateThresholds,
    Outcome,
)
from libra_guard.promotion.mcnemar import mcnemar_test

#: Comparison outcomes that let a challenger through (given the thresholds pass).
PASSING_OUTCOMES: frozenset[str] = frozenset(
    {"no_champion", "challenger_better", "no_significant_difference"}
)
#: How many unmatched ids a "different rows" reason lists.
SHOWN_IDS = 5


def decide(
    challenger_metrics: Mapping,
    challenger_predictions: Sequence[Mapping],
    thresholds: GateThresholds | None = None,
    champion_metrics: Mapping | None = None,
    champion_predictions: Sequence[Mapping] | None = None,
    *,
    champion_label: str = "champion",
) -> GateDecision:
    """Decide whether the challenger passes the gate.

    Args:
        challenger_metrics: the challenger's ``metrics.json`` content.
        challenger_predictions: its ``predictions.jsonl`` rows (``id`` and ``correct`` used).
        thresholds: what the challenger must reach (defaults: ``GateThresholds()``).
        champion_metrics: the champion's metrics on the same test set (shown in the report).
        champion_predictions: the champion's prediction rows; ``None`` means no champion yet.
        champion_label: how the report names the champion, e.g. ``libra-guard v3``.

    Raises:
        DataError: metrics lack a figure the gate needs, the challenger has no prediction
            rows, or prediction rows lack ``id`` or a boolean ``correct``, or repeat an id.
    """
    thresholds = thresholds or GateThresholds()
    challenger_correct = correct_by_id(challenger_predictions, "challenger")
    if not challenger_correct:
        raise DataError("the challenger has no prediction rows; pass its predictions.jsonl rows")
    checks, unchecked = threshold_checks(challenger_metrics, thresholds)
    if champion_predictions is None:
        comparison = ChampionComparison(outcome="no_champion")
    else:
        champion_correct = correct_by_id(champion_predictions, champion_label)
        comparison = compare_with_champion(challenger_correct, champion_correct, thresholds.alpha)
    passed = all(check.passed for check in checks) and comparison.outcome in PASSING_OUTCOMES
    reasons = _reasons(checks, comparison, thresholds, champion_label, champion_metrics)
    return GateDecision(
        passed=passed,
        checks=tuple(checks),
        comparison=comparison,
        reasons=tuple(reasons),
        thresholds=thresholds,
        unchecked_categories=unchecked,
        champion_label=champion_label,
    )


def threshold_checks(
    metrics: Mapping, thresholds: GateThresholds
) -> tuple[list[GateCheck], dict[str, int]]:
    """The checks of ``metrics`` against ``thresholds``, and the scenarios too small to check.

    Raises:
        DataError: ``metrics`` lacks ``average.accuracy``, ``average.f1_unsafe`` or a
            scenario's ``accuracy``/``n``.
    """
    average = _figure(metrics, "average")
    accuracy = float(_figure(average, "accuracy", "average."))
    f1_unsafe = float(_figure(average, "f1_unsafe", "average."))
    rows = metrics.get("n")
    checks = [
        _check("average accuracy", accuracy, thresholds.min_average_accuracy, rows),
        _check("average F1 (unsafe)", f1_unsafe, thresholds.min_f1_unsafe, rows),
    ]
    unchecked: dict[str, int] = {}
    for name, figures in _figure(metrics, "by_category").items():
        category_rows = int(_figure(figures, "n", f"by_category.{name}."))
        if category_rows < thresholds.min_category_rows:
            unchecked[name] = category_rows
            continue
        value = float(_figure(figures, "accuracy", f"by_category.{name}."))
        floor = thresholds.min_category_accuracy
        checks.append(_check(f"accuracy in {name}", value, floor, category_rows))
    checks.extend(task_checks(metrics, thresholds))
    return checks, unchecked


def task_checks(metrics: Mapping, thresholds: GateThresholds) -> list[GateCheck]:
    """The checks of ``thresholds.tasks`` on ``metrics["by_task"]``; a missing figure fails."""
    checks = []
    by_task = metrics.get("by_task")
    for task, wanted in thresholds.tasks.items():
        figures = by_task.get(task) if isinstance(by_task, Mapping) else None
        for field, figure, label in (
            ("min_accuracy", "accuracy", "accuracy"),
            ("min_f1_unsafe", "f1_unsafe", "F1 (unsafe)"),
        ):
            threshold = getattr(wanted, field)
            if threshold is None:
                continue
            name = f"{task} task {label}"
            average = figures.get("average") if isinstance(figures, Mapping) else None
            value = average.get(figure) if isinstance(average, Mapping) else None
            if not isinstance(value, int | float):
                missing = (
                    f"gate.tasks.{task}.{field} is set but the metrics have no "
                    f"by_task.{task}.average.{figure} (does the test set hold {task}-task rows?)"
                )
                checks.append(GateCheck(name, None, threshold, False, None, missing))
                continue
            rows = figures.get("n") if isinstance(figures.get("n"), int) else None
            checks.append(_check(name, float(value), threshold, rows))
    return checks


def _check(name: str, value: float, threshold: float, rows: int | None) -> GateCheck:
    return GateCheck(name, value, threshold, value >= threshold, rows)


def compare_with_champion(
    challenger_correct: Mapping[str, bool], champion_correct: Mapping[str, bool], alpha: float
) -> ChampionComparison:
    """Pair both correctness maps by id and run McNemar's test at level ``alpha``."""
    only_challenger = sorted(set(challenger_correct) - set(champion_correct))
    only_champion = sorted(set(champion_correct) - set(challenger_correct))
    if only_challenger or only_champion or not challenger_correct:
        return ChampionComparison(
            outcome="different_rows",
            only_challenger_ids=tuple(only_challenger),
            only_champion_ids=tuple(only_champion),
        )
    ids = list(challenger_correct)
    mine = [challenger_correct[row_id] for row_id in ids]
    theirs = [champion_correct[row_id] for row_id in ids]
    result = mcnemar_test(mine, theirs)
    if result.p_value < alpha and result.c > result.b:
        outcome: Outcome = "champion_better"
    elif result.p_value < alpha and result.b > result.c:
        outcome = "challenger_better"
    else:
        outcome = "no_significant_difference"
    return ChampionComparison(
        outcome=outcome,
        paired_rows=len(ids),
        challenger_accuracy=sum(mine) / len(ids),
        champion_accuracy=sum(theirs) / len(ids),
        mcnemar=result,
    )


def correct_by_id(predictions: Sequence[Mapping], who: str) -> dict[str, bool]:
    """``{id: correct}`` from prediction rows.

    Raises:
        DataError: a row without ``id``, a ``correct`` that is not a boolean, a repeated id.
    """
    correct: dict[str, bool] = {}
    for index, row in enumerate(predictions, start=1):
        if not isinstance(row, Mapping) or "id" not in row:
            raise DataError(
                f"{who} prediction row {index} has no 'id'; pass predictions.jsonl rows"
            )
        value = row.get("correct")
        if not isinstance(value, bool):
            raise DataError(
                f"{who} prediction row {index} (id {row['id']!r}) needs a boolean 'correct', "
                f"got {value!r}"
            )
        row_id = str(row["id"])
        if row_id in correct:
            raise DataError(
                f"{who} predictions repeat id {row_id!r} (row {index}); rows cannot be paired"
            )
        correct[row_id] = value
    return correct


def _figure(values: Mapping, key: str, where: str = ""):
    if not isinstance(values, Mapping) or key not in values:
        raise DataError(
            f"metrics lack '{where}{key}'; pass the metrics.json written by the evaluation"
        )
    return values[key]


def _reasons(
    checks: Sequence[GateCheck],
    comparison: ChampionComparison,
    thresholds: GateThresholds,
    champion_label: str,
    champion_metrics: Mapping | None,
) -> list[str]:
    """Failures first (each named with value and threshold), then why the rest passed."""
    failures = [
        check.missing
        if check.value is None
        else f"{check.name} {check.value:.2%} is below the threshold {check.threshold:.2%}"
        for check in checks
        if not check.passed
    ]
    comparison_reason = _comparison_reason(comparison, thresholds, champion_label)
    if comparison.outcome not in PASSING_OUTCOMES:
        failures.append(comparison_reason)
    if failures:
        return failures
    reasons = [f"all {len(checks)} threshold checks pass", comparison_reason]
    if champion_metrics is not None and "average" in champion_metrics:
        champion_accuracy = champion_metrics["average"].get("accuracy")
        if isinstance(champion_accuracy, int | float):
            reasons.append(f"{champion_label} average accuracy: {champion_accuracy:.2%}")
    return reasons


def _comparison_reason(
    comparison: ChampionComparison, thresholds: GateThresholds, champion_label: str
) -> str:
    if comparison.outcome == "no_champion":
        return "no champion yet: the thresholds alone decide"
    if comparison.outcome == "different_rows":
        return _different_rows_reason(comparison, champion_label)
    result = comparison.mcnemar
    if result is None:
        raise ValueError(f"comparison outcome {comparison.outcome} needs a McNemar result")
    tally = (
        f"challenger {comparison.challenger_accuracy:.2%} vs {champion_label} "
        f"{comparison.champion_accuracy:.2%} on {comparison.paired_rows} paired rows; "
        f"b={result.b}, c={result.c}, p={result.p_value:.4g}, alpha={thresholds.alpha:g}"
    )
    if comparison.outcome == "champion_better":
        return f"{champion_label} is significantly better ({tally})"
    if comparison.outcome == "challenger_better":
        return f"challenger is significantly better than {champion_label} ({tally})"
    return f"no significant difference from {champion_label} ({tally})"


def _different_rows_reason(comparison: ChampionComparison, champion_label: str) -> str:
    def sample(ids: Sequence[str]) -> str:
        shown = ", ".join(repr(row_id) for row_id in ids[:SHOWN_IDS])
        return f"{len(ids)} (e.g. {shown})" if ids else "0"

    return (
        f"challenger and {champion_label} were evaluated on different rows: "
        f"{sample(comparison.only_challenger_ids)} ids only in the challenger's predictions, "
        f"{sample(comparison.only_champion_ids)} only in the {champion_label}'s; "
        "evaluate both on the same test set"
    )
