"""``record_rejection``'s function: the reason and metrics land in MLflow, nothing else."""

from __future__ import annotations

from pathlib import Path

from kfp.dsl import Artifact

from components.record_rejection import record_rejection
from libra_guard.promotion.gate import ChampionComparison, GateDecision, GateThresholds
from libra_guard.steps.gate import GateOutcome, write_decision
from libra_guard.tracking import runs
from libra_guard.tracking.store import client
from tests.components.conftest import artifact


def test_records_reasons_and_metrics_on_a_nested_run(tmp_path: Path, tracking_uri: str) -> None:
    parent = runs.start_pipeline_run("run-7", experiment="rejections")
    decision = artifact(Artifact, tmp_path / "decision")
    reason = "average accuracy 0.41 is below the threshold 0.60"
    rejected = GateDecision(
        passed=False,
        checks=(),
        comparison=ChampionComparison("no_champion", 0, None, None),
        reasons=(reason,),
        thresholds=GateThresholds(),
    )
    outcome = GateOutcome(rejected, None, {"accuracy": 0.41, "f1_unsafe": 0.3})
    write_decision(outcome, decision.path, tmp_path / "report.md")
    recorded = record_rejection.python_func(decision=decision, parent_run_id=parent)
    assert recorded == reason
    mlflow_client = client(tracking_uri)
    [nested] = mlflow_client.search_runs(
        [mlflow_client.get_run(parent).info.experiment_id],
        filter_string="tags.`libra.stage` = 'record_rejection'",
    )
    assert nested.data.tags["libra.gate.reasons"] == reason
    assert nested.data.metrics["rejected.accuracy"] == 0.41
    assert mlflow_client.search_registered_models() == []
