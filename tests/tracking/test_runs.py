"""Pipeline runs in MLflow: parent per pipeline run, nested stages, inputs, evaluation, gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from libra_guard.errors import ConfigError
from libra_guard.promotion import GateThresholds, decide
from libra_guard.tracking.runs import (
    PIPELINE_EXPERIMENT,
    finish_run,
    flatten_metrics,
    log_dataset_input,
    log_evaluation,
    log_gate_report,
    log_stage,
    stage_run,
    start_pipeline_run,
)
from tests.promotion.evaluations import CRIME, metrics, paired

REPO_ROOT = Path(__file__).resolve().parents[2]


def mlflow_client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri)


def test_one_parent_per_pipeline_run_and_one_nested_run_per_stage(tracking_uri, tmp_path):
    parent = start_pipeline_run("kfp-1", params={"seed": 0}, tracking_uri=tracking_uri)
    assert start_pipeline_run("kfp-1", params={"seed": 0}, tracking_uri=tracking_uri) == parent
    other = start_pipeline_run("kfp-2", tracking_uri=tracking_uri)
    assert other != parent

    curve = [(10, 2.5), (20, 1.9), (30, 1.4)]
    notes = tmp_path / "stage_notes.txt"
    notes.write_text("stage 1 done", encoding="utf-8")
    stage = log_stage(
        parent,
        "pretrain_guard",
        params={"epochs": 1, "method": "full"},
        metrics={"samples_per_s": 12.5},
        step_metrics={"loss": curve},
        artifacts=[notes],
        tracking_uri=tracking_uri,
    )
    assert log_stage(parent, "pretrain_guard", tracking_uri=tracking_uri) == stage

    client = mlflow_client(tracking_uri)
    run = client.get_run(stage)
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.tags["libra.pipeline_run_id"] == "kfp-1"
    assert run.data.params == {"epochs": "1", "method": "full"}
    assert run.data.metrics["samples_per_s"] == 12.5
    history = client.get_metric_history(stage, "loss")
    assert [(point.step, point.value) for point in history] == curve
    assert [item.path for item in client.list_artifacts(stage)] == ["stage_notes.txt"]
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == PIPELINE_EXPERIMENT
    assert experiment.artifact_location.startswith(str(tmp_path / "mlartifacts"))

    finish_run(parent, tracking_uri=tracking_uri)
    assert client.get_run(parent).info.status == "FINISHED"


def test_changed_params_on_the_same_pipeline_run_are_a_config_error(tracking_uri):
    start_pipeline_run("kfp-1", params={"seed": 0}, tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="already has other values"):
        start_pipeline_run("kfp-1", params={"seed": 1}, tracking_uri=tracking_uri)


def test_dataset_inputs_carry_the_full_digest(tracking_uri, tmp_path):
    parent = start_pipeline_run("kfp-1", tracking_uri=tracking_uri)
    data = tmp_path / "stage1.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    digest = "ab" * 32
    with stage_run(parent, "prepare_data", tracking_uri=tracking_uri) as run_id:
        log_dataset_input(data, digest, "stage1")
        log_dataset_input("s3://libra/data/test.jsonl", "cd" * 32, "test", context="evaluation")
    inputs = mlflow_client(tracking_uri).get_run(run_id).inputs.dataset_inputs
    by_name = {item.dataset.name: item for item in inputs}
    assert by_name["stage1"].dataset.digest == digest[:32]
    assert json.loads(by_name["stage1"].dataset.source) == {"uri": str(data.resolve())}
    tags = {tag.key: tag.value for tag in by_name["stage1"].tags}
    assert tags == {"mlflow.data.context": "training", "libra.sha256": digest}
    assert json.loads(by_name["test"].dataset.source) == {"uri": "s3://libra/data/test.jsonl"}
    assert mlflow_client(tracking_uri).get_run(run_id).info.status == "FINISHED"


def test_evaluation_metrics_and_files_are_logged(tracking_uri, tmp_path):
    parent = start_pipeline_run("kfp-1", tracking_uri=tracking_uri)
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "metrics.json").write_text("{}", encoding="utf-8")
    (eval_dir / "confusion_matrix.png").write_bytes(b"\x89PNG")
    figures = {**metrics(), "confusion_matrix": {"matrix": [[1, 2], [3, 4]]}, "roc_auc": None}
    with stage_run(parent, "evaluate_guard", tracking_uri=tracking_uri) as run_id:
        logged = log_evaluation(figures, eval_dir)
    run = mlflow_client(tracking_uri).get_run(run_id)
    assert run.data.metrics["eval.average.accuracy"] == 0.9
    assert run.data.metrics[f"eval.by_category.{CRIME}.n"] == 60
    assert set(logged) == set(run.data.metrics)
    assert not any("confusion_matrix" in name or "roc_auc" in name for name in logged)
    artifacts = mlflow_client(tracking_uri).list_artifacts(run_id, "evaluation")
    assert sorted(Path(item.path).name for item in artifacts) == [
        "confusion_matrix.png",
        "metrics.json",
    ]


def test_gate_report_is_logged_as_markdown_json_metric_and_tags(tracking_uri, tmp_path):
    parent = start_pipeline_run("kfp-1", tracking_uri=tracking_uri)
    challenger, champion = paired(b=2, c=10, both_correct=80, both_wrong=8)
    decision = decide(metrics(), challenger, GateThresholds(), metrics(), champion)
    run_id = log_stage(parent, "gate", tracking_uri=tracking_uri)
    log_gate_report(decision, run_id=run_id, tracking_uri=tracking_uri)
    client = mlflow_client(tracking_uri)
    run = client.get_run(run_id)
    assert run.data.metrics["gate.passed"] == 0.0
    assert run.data.metrics["gate.mcnemar.p_value"] == pytest.approx(0.038574, abs=1e-6)
    assert run.data.tags["libra.gate.outcome"] == "champion_better"
    report = Path(client.download_artifacts(run_id, "gate/gate_report.md", str(tmp_path)))
    assert report.read_text(encoding="utf-8") == decision.to_markdown()


def test_logging_without_a_run_is_a_config_error(tracking_uri):
    with pytest.raises(ConfigError, match="no MLflow run to log to"):
        log_evaluation(metrics(), tracking_uri=tracking_uri)


def test_flatten_metrics_keeps_numeric_leaves_only():
    nested = {"a": {"b": 1, "c": True, "d": [1]}, "e": float("nan"), "f": 0.5, "run": {"x": 1}}
    assert flatten_metrics(nested, "eval") == {"eval.a.b": 1.0, "eval.f": 0.5}


@pytest.mark.slow
def test_a_stage_logged_from_another_process_nests_under_the_parent(tracking_uri):
    parent = start_pipeline_run("kfp-1", tracking_uri=tracking_uri)
    script = (
        "import sys\n"
        "from libra_guard.tracking.runs import log_stage\n"
        "print(log_stage(sys.argv[1], 'finetune_guard', metrics={'loss': 0.5},"
        " tracking_uri=sys.argv[2]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, parent, tracking_uri],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    child = completed.stdout.strip().splitlines()[-1]
    run = mlflow_client(tracking_uri).get_run(child)
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.metrics["loss"] == 0.5
