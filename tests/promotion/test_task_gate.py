"""Per-task gate thresholds: ``gate.tasks.prompt`` checks the prompt task's own figures, no
prompt gate without it, and a threshold whose figure is missing fails with the reason."""

from __future__ import annotations

import json

import pytest

from libra_guard.promotion import GateDecision, GateThresholds, decide
from libra_guard.promotion.report import decision_markdown
from tests.promotion.evaluations import metrics, predictions

ALL_RIGHT = predictions([True] * 100)


def _with_prompt_task(accuracy: float, f1_unsafe: float = 0.9) -> dict:
    values = metrics()
    values["by_task"] = {
        "response": {k: v for k, v in values.items()},
        "prompt": {
            "average": {"accuracy": accuracy, "f1_safe": 0.8, "f1_unsafe": f1_unsafe},
            "n": 40,
        },
    }
    return values


def _thresholds(**prompt) -> GateThresholds:
    return GateThresholds.model_validate({"tasks": {"prompt": prompt}})


def test_without_task_thresholds_the_prompt_task_is_not_gated():
    decision = decide(_with_prompt_task(accuracy=0.1), ALL_RIGHT, GateThresholds())
    assert decision.passed
    assert not any("prompt" in check.name for check in decision.checks)


def test_a_prompt_threshold_checks_the_prompt_tasks_own_figures():
    thresholds = _thresholds(min_accuracy=0.7, min_f1_unsafe=0.6)
    passing = decide(_with_prompt_task(accuracy=0.75), ALL_RIGHT, thresholds)
    assert passing.passed
    checks = {check.name: check for check in passing.checks}
    assert checks["prompt task accuracy"].value == 0.75
    assert checks["prompt task accuracy"].rows == 40
    assert checks["prompt task F1 (unsafe)"].passed

    failing = decide(_with_prompt_task(accuracy=0.65), ALL_RIGHT, thresholds)
    assert not failing.passed
    assert failing.reasons[0] == "prompt task accuracy 65.00% is below the threshold 70.00%"
    # The top-level (response) figures passed: only the prompt task failed.
    assert [check.name for check in failing.failed_checks()] == ["prompt task accuracy"]


@pytest.mark.parametrize("challenger", [metrics(), _with_prompt_task(0.9) | {"by_task": {}}])
def test_a_prompt_threshold_without_prompt_metrics_fails_closed(challenger):
    decision = decide(challenger, ALL_RIGHT, _thresholds(min_accuracy=0.7))
    assert not decision.passed
    (failed,) = decision.failed_checks()
    assert failed.value is None
    assert decision.reasons[0] == (
        "gate.tasks.prompt.min_accuracy is set but the metrics have no "
        "by_task.prompt.average.accuracy (does the test set hold prompt-task rows?)"
    )
    assert "| prompt task accuracy | missing | ≥ 70.00% |  | **FAIL** |" in decision_markdown(
        decision
    )
    restored = GateDecision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert restored == decision


def test_task_thresholds_refuse_unknown_tasks_and_fields():
    with pytest.raises(ValueError, match="tasks"):
        GateThresholds.model_validate({"tasks": {"image": {"min_accuracy": 0.5}}})
    with pytest.raises(ValueError, match="min_acc"):
        GateThresholds.model_validate({"tasks": {"prompt": {"min_acc": 0.5}}})
    with pytest.raises(ValueError, match="min_accuracy"):
        GateThresholds.model_validate({"tasks": {"prompt": {"min_accuracy": 1.5}}})


def test_the_pipeline_config_hands_task_thresholds_to_the_gate_step():
    from pipelines.config import PipelineConfig

    config = PipelineConfig.model_validate({"gate": {"tasks": {"prompt": {"min_accuracy": 0.7}}}})
    handed = config.arguments()["gate_thresholds"]
    assert handed == {"tasks": {"prompt": {"min_accuracy": 0.7}}}
    thresholds = GateThresholds.model_validate(handed)
    assert not decide(_with_prompt_task(accuracy=0.6), ALL_RIGHT, thresholds).passed
    assert PipelineConfig().arguments()["gate_thresholds"] == {}
