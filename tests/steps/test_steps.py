"""The step functions' own contracts: readers give back what writers wrote, the ROC curve,
and the stage work key."""

from __future__ import annotations

from pathlib import Path

import pytest

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.evaluation.outputs import read_metrics, read_predictions, write_evaluation
from libra_guard.promotion.gate import ChampionComparison, GateCheck, GateDecision, GateThresholds
from libra_guard.steps.evaluate import roc_curve_of
from libra_guard.steps.gate import GateOutcome, read_decision, write_decision
from libra_guard.steps.train import stage_key
from libra_guard.training.config import TrainConfig


def test_a_decision_reads_back_as_written(tmp_path: Path) -> None:
    decision = GateDecision(
        passed=False,
        checks=(GateCheck("average_accuracy", 0.41, 0.6, False, 40),),
        comparison=ChampionComparison("champion_better", 40, 0.41, 0.55),
        reasons=("average accuracy 0.41 is below the threshold 0.60",),
        thresholds=GateThresholds(),
    )
    outcome = GateOutcome(decision, "3", {"accuracy": 0.41})
    write_decision(outcome, tmp_path / "decision.json", tmp_path / "report.md")
    assert read_decision(tmp_path / "decision.json") == outcome
    assert "0.41" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_predictions_and_metrics_read_back_as_written(tmp_path: Path) -> None:
    records = [{"id": "a", "label": SAFE, "score": 0.2}, {"id": "b", "label": UNSAFE}]
    metrics = {
        "n": 2,
        "by_category": {},
        "confusion_matrix": {"labels": [SAFE, UNSAFE], "matrix": [[1, 0], [1, 0]]},
    }
    write_evaluation(tmp_path, metrics, records)
    assert read_predictions(tmp_path) == records
    assert read_metrics(tmp_path) == metrics


def test_the_roc_curve_needs_both_labels_and_keeps_thresholds_finite() -> None:
    one_label = [{"label": SAFE, "score": 0.1}, {"label": SAFE, "score": 0.7}]
    assert roc_curve_of(one_label) is None
    scored = [
        {"label": SAFE, "score": 0.1},
        {"label": UNSAFE, "score": 0.9},
        {"label": UNSAFE, "score": 0.4},
        {"label": SAFE, "score": None},
    ]
    curve = roc_curve_of(scored)
    assert curve is not None
    assert curve.fpr[0] == 0.0 and curve.tpr[-1] == 1.0
    assert curve.thresholds[0] == 1.0 and all(0.0 <= t <= 1.0 for t in curve.thresholds)


def test_the_stage_key_follows_every_input() -> None:
    config = TrainConfig()
    digests = {"stage1": "a" * 64}
    key = stage_key("stage1", config, digests)
    assert key == stage_key("stage1", config, dict(digests))
    assert key != stage_key("stage2", config, digests)
    assert key != stage_key("stage1", config, {"stage1": "b" * 64})
    assert key != stage_key("stage1", config.model_copy(update={"seed": 1}), digests)
    assert stage_key("stage2", config, digests, "uri-1") != stage_key(
        "stage2", config, digests, "uri-2"
    )


def test_reading_a_missing_decision_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_decision(tmp_path / "decision.json")
