"""The gate's decisions: thresholds, champion comparison, tie policy, bad inputs."""

from __future__ import annotations

import json

import pytest

from libra_guard.errors import DataError
from libra_guard.promotion import GateDecision, GateThresholds, decide
from tests.promotion.evaluations import BIAS, CRIME, PRIVACY, metrics, paired, predictions

THRESHOLDS = GateThresholds(
    min_average_accuracy=0.8,
    min_f1_unsafe=0.75,
    min_category_accuracy=0.7,
    min_category_rows=20,
    alpha=0.05,
)
ALL_RIGHT = predictions([True] * 100)


def test_no_champion_and_every_threshold_met_passes():
    decision = decide(metrics(), ALL_RIGHT, THRESHOLDS)
    assert decision.passed
    assert decision.comparison.outcome == "no_champion"
    assert [check.name for check in decision.checks] == [
        "average accuracy",
        "average F1 (unsafe)",
        f"accuracy in {CRIME}",
        f"accuracy in {BIAS}",
    ]
    assert any("thresholds alone decide" in reason for reason in decision.reasons)


@pytest.mark.parametrize(
    ("challenger", "failed_check"),
    [
        (metrics(accuracy=0.79), "average accuracy"),
        (metrics(f1_unsafe=0.70), "average F1 (unsafe)"),
        (metrics(categories={CRIME: (0.9, 60), BIAS: (0.65, 40)}), f"accuracy in {BIAS}"),
    ],
)
def test_each_kind_of_threshold_miss_fails_and_is_named(challenger, failed_check):
    decision = decide(challenger, ALL_RIGHT, THRESHOLDS)
    assert not decision.passed
    assert [check.name for check in decision.failed_checks()] == [failed_check]
    assert len(decision.reasons) == 1
    assert decision.reasons[0].startswith(f"{failed_check} ")
    assert "below the threshold" in decision.reasons[0]


def test_threshold_miss_fails_even_when_challenger_beats_the_champion():
    challenger, champion = paired(b=30, c=0, both_correct=50, both_wrong=20)
    decision = decide(metrics(accuracy=0.5), challenger, THRESHOLDS, metrics(), champion)
    assert decision.comparison.outcome == "challenger_better"
    assert not decision.passed


def test_small_scenarios_are_not_checked_but_listed():
    scenarios = {CRIME: (0.9, 60), PRIVACY: (0.1, 19)}
    decision = decide(metrics(categories=scenarios), ALL_RIGHT, THRESHOLDS)
    assert decision.passed
    assert decision.unchecked_categories == {PRIVACY: 19}
    assert f"accuracy in {PRIVACY}" not in [check.name for check in decision.checks]


def test_values_exactly_at_the_threshold_pass():
    at_floor = metrics(accuracy=0.8, f1_unsafe=0.75, categories={CRIME: (0.7, 20)})
    assert decide(at_floor, ALL_RIGHT, THRESHOLDS).passed


def test_champion_significantly_better_fails():
    # c=10 rows only the champion gets right, b=2 the challenger: exact p = 0.0386 < 0.05.
    challenger, champion = paired(b=2, c=10, both_correct=80, both_wrong=8)
    decision = decide(
        metrics(), challenger, THRESHOLDS, metrics(), champion, champion_label="libra-guard v1"
    )
    assert not decision.passed
    assert decision.comparison.outcome == "champion_better"
    assert decision.comparison.mcnemar.p_value == pytest.approx(0.038574, abs=1e-6)
    assert decision.reasons == (
        "libra-guard v1 is significantly better (challenger 82.00% vs libra-guard v1 90.00% "
        "on 100 paired rows; b=2, c=10, p=0.03857, alpha=0.05)",
    )


def test_challenger_significantly_better_passes():
    challenger, champion = paired(b=10, c=2, both_correct=80, both_wrong=8)
    decision = decide(metrics(), challenger, THRESHOLDS, metrics(), champion)
    assert decision.passed
    assert decision.comparison.outcome == "challenger_better"
    assert decision.comparison.challenger_accuracy == pytest.approx(0.90)
    assert decision.comparison.champion_accuracy == pytest.approx(0.82)


def test_tie_identical_correctness_passes_as_no_significant_difference():
    same = predictions([True] * 85 + [False] * 15)
    decision = decide(metrics(), same, THRESHOLDS, metrics(), same)
    assert decision.passed
    assert decision.comparison.outcome == "no_significant_difference"
    assert decision.comparison.mcnemar.p_value == 1.0
    assert any(reason.startswith("no significant difference") for reason in decision.reasons)


def test_insignificantly_worse_challenger_passes():
    # The champion wins 6 rows to 3; exact p = 0.508: not evidence of a regression.
    challenger, champion = paired(b=3, c=6, both_correct=85, both_wrong=6)
    decision = decide(metrics(), challenger, THRESHOLDS, metrics(), champion)
    assert decision.passed
    assert decision.comparison.outcome == "no_significant_difference"


def test_tie_still_needs_the_thresholds():
    same = predictions([True] * 60 + [False] * 40)
    decision = decide(metrics(accuracy=0.6), same, THRESHOLDS, metrics(accuracy=0.6), same)
    assert not decision.passed
    assert decision.comparison.outcome == "no_significant_difference"


def test_rows_are_paired_by_id_not_by_position():
    challenger, champion = paired(b=2, c=10, both_correct=80, both_wrong=8)
    decision = decide(metrics(), challenger, THRESHOLDS, metrics(), list(reversed(champion)))
    assert decision.comparison.mcnemar.b == 2
    assert decision.comparison.mcnemar.c == 10


def test_different_test_rows_fail_with_a_clear_reason():
    challenger = predictions([True] * 10)
    champion = predictions([True] * 8) + predictions([True, True], prefix="other")
    decision = decide(metrics(), challenger, THRESHOLDS, metrics(), champion)
    assert not decision.passed
    assert decision.comparison.outcome == "different_rows"
    assert decision.comparison.only_challenger_ids == ("row-8", "row-9")
    assert decision.comparison.only_champion_ids == ("other-0", "other-1")
    assert "evaluated on different rows" in decision.reasons[0]
    assert "'row-8'" in decision.reasons[0]


def test_decision_round_trips_through_json():
    challenger, champion = paired(b=2, c=10, both_correct=80, both_wrong=8)
    scenarios = {CRIME: (0.9, 60), PRIVACY: (0.5, 5)}
    decision = decide(metrics(categories=scenarios), challenger, THRESHOLDS, metrics(), champion)
    restored = GateDecision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert restored == decision


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"correct": True}], "has no 'id'"),
        ([{"id": "a", "correct": "yes"}], "needs a boolean 'correct'"),
        ([{"id": "a", "correct": True}, {"id": "a", "correct": False}], "repeat id 'a'"),
        ([], "no prediction rows"),
    ],
)
def test_malformed_predictions_are_data_errors(rows, message):
    with pytest.raises(DataError, match=message):
        decide(metrics(), rows, THRESHOLDS)


def test_metrics_without_a_needed_figure_are_a_data_error():
    incomplete = metrics()
    del incomplete["average"]["f1_unsafe"]
    with pytest.raises(DataError, match=r"average\.f1_unsafe"):
        decide(incomplete, ALL_RIGHT, THRESHOLDS)


def test_thresholds_reject_values_outside_fractions():
    with pytest.raises(ValueError, match="min_average_accuracy"):
        GateThresholds(min_average_accuracy=80)
