"""The whole DAG through the KFP local runner with tiny sizes: pass, cached rerun, fail."""

from __future__ import annotations

import pytest

from libra_guard.tracking import registry
from libra_guard.tracking.store import client
from tests.pipelines.conftest import PipelineRuns, artifact_folders

pytestmark = pytest.mark.slow

CACHED_STEPS = {"prepare-data", "pretrain-guard", "finetune-guard", "evaluate-guard"}


def test_first_run_ends_with_a_champion_and_its_lineage(pipeline_runs: PipelineRuns) -> None:
    uri = pipeline_runs.settings.tracking_uri
    first = pipeline_runs.first
    assert first.reused_steps == []
    assert first.champion_version == "1"
    assert registry.alias_version("challenger", tracking_uri=uri) == "1"
    chain = registry.describe("champion", tracking_uri=uri).lineage
    assert set(chain["dataset_digests"]) == {"stage1", "stage2", "test"}
    assert all(len(digest) == 64 for digest in chain["dataset_digests"].values())
    assert chain["checkpoint_uri"].endswith("finetune-guard/guard_model")
    assert chain["gate_decision"].startswith("pass")
    assert first.report is not None and "pass" in first.report.read_text(encoding="utf-8").lower()


def test_first_run_serves_the_champion_it_promoted(pipeline_runs: PipelineRuns) -> None:
    # deploy_guard moved champion only once version 1 served; the run then asked it once.
    answer = pipeline_runs.first.moderation
    assert answer is not None
    assert answer["label"] in ("安全", "不安全")
    assert 0.0 <= answer["score"] <= 1.0
    assert str(answer["model"]["version"]) == "1"


def test_nested_runs_per_stage_under_the_parent_run(pipeline_runs: PipelineRuns) -> None:
    mlflow_client = client(pipeline_runs.settings.tracking_uri)
    parent = mlflow_client.get_run(pipeline_runs.first.parent_run_id)
    children = mlflow_client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
    )
    stages = {run.data.tags.get("libra.stage") for run in children}
    assert {"prepare_data", "pretrain_guard", "finetune_guard", "evaluate_guard"} <= stages
    assert "register_guard" in stages
    assert parent.data.tags["libra.gate.passed"] == "true"
    assert "eval.average.accuracy" in parent.data.metrics


def test_second_run_reuses_the_finished_steps(pipeline_runs: PipelineRuns) -> None:
    second = pipeline_runs.second
    assert set(second.reused_steps) >= CACHED_STEPS
    assert "reused cached result of pretrain-guard" in pipeline_runs.logs[1]
    # Nothing was retrained, so no duplicate version: the champion already is this model.
    assert second.champion_version == "1"
    versions = client(pipeline_runs.settings.tracking_uri).search_model_versions(
        f"name='{registry.MODEL_NAME}'"
    )
    assert len(versions) == 1


def test_impossible_thresholds_take_the_fail_branch(pipeline_runs: PipelineRuns) -> None:
    uri = pipeline_runs.settings.tracking_uri
    rejected = pipeline_runs.rejected
    assert set(rejected.reused_steps) >= CACHED_STEPS
    assert rejected.champion_version == "1"
    assert rejected.moderation is None  # the fail branch deploys nothing
    assert registry.alias_version("challenger", tracking_uri=uri) == "1"
    mlflow_client = client(uri)
    assert len(mlflow_client.search_model_versions(f"name='{registry.MODEL_NAME}'")) == 1
    parent = mlflow_client.get_run(rejected.parent_run_id)
    assert parent.data.tags["libra.gate.passed"] == "false"
    record = mlflow_client.search_runs(
        [parent.info.experiment_id],
        filter_string=(
            f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
            "and tags.`libra.stage` = 'record_rejection'"
        ),
    )
    assert len(record) == 1
    assert "accuracy" in record[0].data.tags["libra.gate.reasons"]
    assert rejected.report is not None
    assert "fail" in rejected.report.read_text(encoding="utf-8").lower()


def test_finished_step_outputs_are_kept_between_runs(pipeline_runs: PipelineRuns) -> None:
    root = pipeline_runs.first.pipeline_root
    [model_folder] = artifact_folders(root, "finetune-guard")
    assert (model_folder / "guard_model" / "libra_guard.json").is_file()
    # Each run's uncached gate wrote its own report; the trained model exists once.
    assert len(artifact_folders(root, "gate")) == 3


EXECUTED_STEPS = CACHED_STEPS | {"gate", "register-guard", "deploy-guard"}


def test_the_run_prints_one_line_per_step_and_files_the_full_logs(
    pipeline_runs: PipelineRuns,
) -> None:
    lines = pipeline_runs.logs[0]
    step_lines = {line.split()[1]: line for line in lines if line.split()[:1] == ["ok"]}
    assert set(step_lines) == EXECUTED_STEPS
    assert "average_accuracy=" in step_lines["evaluate-guard"]
    assert len(lines) < 30, "\n".join(lines)
    assert not any("executor_input" in line or "Executing task" in line for line in lines)
    log_dir = pipeline_runs.first.log_dir
    assert log_dir is not None
    for step in EXECUTED_STEPS:
        assert f"(log: {log_dir / f'{step}.log'})" in step_lines[step]
        assert "executor_input" in (log_dir / f"{step}.log").read_text("utf-8")
    assert "gate: pass" in (log_dir / "gate.log").read_text("utf-8")
