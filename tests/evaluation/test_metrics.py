"""Metrics on hand-built sets whose figures were computed by hand, not by sklearn."""

from __future__ import annotations

import json

import pytest

from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from libra_guard.evaluation.metrics import average_over_sources, compute_metrics
from tests.evaluation.rows import make_row

# Real Data: 3 unsafe, 2 safe; one miss of each kind.
#   unsafe: TP 2, FP 1, FN 1 -> P = R = 2/3 -> F1 2/3;  safe: TP 1, FP 1, FN 1 -> F1 1/2
# Synthetic Data: 1 unsafe, 3 safe, two answers unscorable (counted as the opposite label).
#   resolved predictions [S, S, S, U]: unsafe TP 0 -> F1 0; safe TP 2, FP 1, FN 1 -> F1 2/3
REAL = [(U, U), (U, U), (U, S), (S, S), (S, U)]
SYNTHETIC = [(U, None), (S, S), (S, S), (S, None)]


@pytest.fixture
def two_sources():
    rows, predictions = [], []
    for source, pairs in (("Real Data", REAL), ("Synthetic Data", SYNTHETIC)):
        for label, prediction in pairs:
            rows.append(make_row(label, source=source))
            predictions.append(prediction)
    return rows, predictions


def test_per_source_figures_match_hand_computation(two_sources) -> None:
    metrics = compute_metrics(*two_sources)
    real, synthetic = metrics["by_source"]["Real Data"], metrics["by_source"]["Synthetic Data"]
    assert real == pytest.approx(
        {"accuracy": 3 / 5, "f1_safe": 1 / 2, "f1_unsafe": 2 / 3, "n": 5, "unparseable": 0}
    )
    assert synthetic == pytest.approx(
        {"accuracy": 2 / 4, "f1_safe": 2 / 3, "f1_unsafe": 0.0, "n": 4, "unparseable": 2}
    )
    assert metrics["n"] == 9
    assert metrics["unparseable"] == 2


def test_average_is_the_plain_mean_over_sources_not_sample_weighted(two_sources) -> None:
    average = compute_metrics(*two_sources)["average"]
    assert average["accuracy"] == pytest.approx((3 / 5 + 2 / 4) / 2)  # 0.55, weighted: 5/9
    assert average["accuracy"] != pytest.approx(5 / 9)
    assert average["f1_safe"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert average["f1_unsafe"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_average_reproduces_the_papers_headline_number() -> None:
    """Libra-Guard-Qwen2.5-14B: (85.97 + 83.37 + 91.04) / 3 = 86.79, whatever the sizes."""
    by_source = {
        "Real Data": {"accuracy": 0.8597, "f1_safe": 0.5, "f1_unsafe": 0.9, "n": 1262},
        "Synthetic Data": {"accuracy": 0.8337, "f1_safe": 0.6, "f1_unsafe": 0.8, "n": 1467},
        "Translated Data": {"accuracy": 0.9104, "f1_safe": 0.7, "f1_unsafe": 0.7, "n": 2991},
    }
    average = average_over_sources(by_source)
    assert round(100 * average["accuracy"], 2) == 86.79
    assert average["f1_safe"] == pytest.approx(0.6)


def test_unscorable_answer_counts_wrong_for_either_label() -> None:
    rows = [make_row(U), make_row(S)]
    metrics = compute_metrics(rows, [None, None])
    assert metrics["average"]["accuracy"] == 0.0
    # Truth unsafe became "safe", truth safe became "unsafe".
    assert metrics["confusion_matrix"]["matrix"] == [[0, 1], [1, 0]]


def test_confusion_matrix_rows_are_truth_in_safe_unsafe_order(two_sources) -> None:
    confusion = compute_metrics(*two_sources)["confusion_matrix"]
    assert confusion["labels"] == [S, U]
    # Real: S->S 1, S->U 1, U->S 1, U->U 2.  Synthetic (resolved): S->S 2, S->U 1, U->S 1.
    assert confusion["matrix"] == [[3, 2], [2, 2]]


def test_accuracy_by_category_and_subcategory() -> None:
    rows = [
        make_row(U, category="违法犯罪", sub="诈骗"),
        make_row(U, category="违法犯罪", sub="诈骗"),
        make_row(S, category="违法犯罪", sub="赌博"),
        make_row(S, category="身心健康", sub="自残自杀"),
    ]
    metrics = compute_metrics(rows, [U, S, S, None])
    assert metrics["by_category"] == {
        "违法犯罪": {"accuracy": pytest.approx(2 / 3), "n": 3},
        "身心健康": {"accuracy": 0.0, "n": 1},
    }
    assert metrics["by_subcategory"]["违法犯罪"] == {
        "诈骗": {"accuracy": 0.5, "n": 2},
        "赌博": {"accuracy": 1.0, "n": 1},
    }


def test_sources_follow_the_papers_order_then_others() -> None:
    rows = [
        make_row(U, source="jade"),
        make_row(U, source="Translated Data"),
        make_row(U, source="Real Data"),
    ]
    metrics = compute_metrics(rows, [U, U, U])
    assert list(metrics["by_source"]) == ["Real Data", "Translated Data", "jade"]


def test_roc_auc_from_scores() -> None:
    rows = [make_row(U), make_row(S), make_row(U), make_row(S)]
    # Unsafe-safe pairs ranked right: (.9>.2) (.9>.6) (.4>.2), wrong: (.4<.6) -> 3/4.
    metrics = compute_metrics(rows, [U, S, S, U], scores=[0.9, 0.2, 0.4, 0.6])
    assert metrics["roc_auc"] == pytest.approx(0.75)


def test_roc_auc_is_null_without_scores_or_with_one_class() -> None:
    rows = [make_row(U), make_row(U)]
    assert compute_metrics(rows, [U, U])["roc_auc"] is None
    assert compute_metrics(rows, [U, U], scores=[0.2, 0.9])["roc_auc"] is None


def test_single_class_source_has_zero_f1_for_the_absent_class() -> None:
    metrics = compute_metrics([make_row(S), make_row(S)], [S, S])
    assert metrics["by_source"]["Real Data"]["f1_safe"] == 1.0
    assert metrics["by_source"]["Real Data"]["f1_unsafe"] == 0.0


def test_metrics_are_json_serialisable(two_sources) -> None:
    rows, predictions = two_sources
    metrics = compute_metrics(rows, predictions, scores=[0.5] * len(rows))
    assert json.loads(json.dumps(metrics, ensure_ascii=False)) == metrics


@pytest.mark.parametrize(
    ("predictions", "scores", "message"),
    [
        ([U], None, "1 predictions for 2 rows"),
        ([U, "unsafe"], None, "a prediction must be"),
        ([U, S], [0.1], "1 scores for 2 rows"),
        ([U, S], [0.1, float("nan")], "finite"),
    ],
)
def test_mismatched_inputs_are_rejected(predictions, scores, message) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics([make_row(U), make_row(S)], predictions, scores)


def test_no_rows_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        compute_metrics([], [])
