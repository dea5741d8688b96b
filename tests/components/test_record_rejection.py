"""``record_rejection``'s function: the reason and metrics land in MLflow, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from kfp.dsl import Artifact

from components.record_rejection import record_rejection
from libra_guard.tracking import runs
from libra_guard.tracking.store import client
from tests.components.conftest import artifact


def test_records_reasons_and_metrics_on_a_nested_run(tmp_path: Path, tracking_uri: str) -> None:
    parent = runs.start_pipeline_run("run-7", experiment="rejections")
    decision = artifact(Artifact, tmp_path / "decision")
    verdict = {
        "passed": False,
        "reasons": ["average accuracy 0.41 is below the threshold 0.60"],
        "challenger_average": {"accuracy": 0.41, "f1_unsafe": 0.3},
    }
    Path(decision.path).write_text(json.dumps(verdict), encoding="utf-8")
    recorded = record_rejection.python_func(decision=decision, parent_run_id=parent)
    assert recorded == verdict["reasons"][0]
    mlflow_client = client(tracking_uri)
    [nested] = mlflow_client.search_runs(
        [mlflow_client.get_run(parent).info.experiment_id],
        filter_string="tags.`libra.stage` = 'record_rejection'",
    )
    assert nested.data.tags["libra.gate.reasons"] == verdict["reasons"][0]
    assert nested.data.metrics["rejected.accuracy"] == 0.41
    assert mlflow_client.search_registered_models() == []
