"""``pretrain_guard``, ``finetune_guard``, ``evaluate_guard`` and ``register_guard`` called
through their functions in order, on tiny data and a tiny model, with a Ray head of their own."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import ray
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Metrics, Model

from components.evaluate_guard import evaluate_guard
from components.finetune_guard import finetune_guard
from components.prepare_data import prepare_data
from components.pretrain_guard import pretrain_guard
from components.register_guard import register_guard
from libra_guard.modeling.judge import GuardJudge
from libra_guard.promotion.champion import compared_champion
from libra_guard.tracking import registry
from tests.components.conftest import artifact, write_passed_decision
from tests.pipelines.tiny import tiny_config

pytestmark = pytest.mark.slow


@dataclass
class Trained:
    root: Path
    data: dict[str, Dataset]
    stage1: Model
    guard: Model
    stage1_metrics: Metrics


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("components")
    config = tiny_config().arguments()
    data = {name: artifact(Dataset, root / "data" / name) for name in ("s1", "s2", "test")}
    prepare_data.python_func(
        config["data_config"],
        data["s1"],
        data["s2"],
        data["test"],
        artifact(Artifact, root / "data" / "quarantine"),
    )
    stage1 = artifact(Model, root / "pretrain" / "stage1_model")
    guard = artifact(Model, root / "finetune" / "guard_model")
    stage1_metrics = artifact(Metrics, root / "pretrain" / "metrics")
    ray_temp = tempfile.mkdtemp(prefix="lgray-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBRA_STATE_DIR", str(root / "state"))
        # The steps start a Ray head in this process, in a temp dir of their own.
        patch.setenv("RAY_TMPDIR", ray_temp)
        for name in ("LIBRA_MLFLOW_PARENT_RUN_ID", "LIBRA_RAY_ADDRESS", "RAY_ADDRESS"):
            patch.delenv(name, raising=False)
        try:
            pretrain_guard.python_func(
                stage1_data=data["s1"],
                stage2_data=data["s2"],
                train_config=config["train_config"],
                stage1_model=stage1,
                metrics=stage1_metrics,
            )
            finetune_guard.python_func(
                stage1_model=stage1,
                stage1_data=data["s1"],
                stage2_data=data["s2"],
                train_config=config["train_config"],
                guard_model=guard,
                metrics=artifact(Metrics, root / "finetune" / "metrics"),
            )
        finally:
            ray.shutdown()
            shutil.rmtree(ray_temp, ignore_errors=True)
    return Trained(root, data, stage1, guard, stage1_metrics)


def test_stage_outputs_are_complete_models(trained: Trained) -> None:
    assert (Path(trained.stage1.path) / "libra_guard_stage.json").is_file()
    assert trained.stage1_metrics.metadata["steps"] > 0
    assert json.loads(Path(trained.stage1_metrics.path).read_text("utf-8"))["steps"] > 0
    provenance = json.loads((Path(trained.guard.path) / "libra_guard.json").read_text("utf-8"))
    assert [stage["name"] for stage in provenance["stages"]] == ["stage1", "stage2"]
    assert provenance["data_digests"]["stage1"] == trained.data["s1"].metadata["sha256"]
    assert trained.guard.metadata["data_sha256"]["stage2"] == trained.data["s2"].metadata["sha256"]
    # The work folders (checkpoints) under the state dir are cleaned up once published.
    assert not any((trained.root / "state" / "stage-work").iterdir())
    assert GuardJudge.load(trained.guard.path).verdict_scores([("问题", "回答")])


def test_evaluate_writes_metrics_and_curves(trained: Trained) -> None:
    evaluation = artifact(Dataset, trained.root / "eval" / "evaluation")
    metrics = artifact(Metrics, trained.root / "eval" / "metrics")
    classification = artifact(ClassificationMetrics, trained.root / "eval" / "classification")
    evaluate_guard.python_func(
        guard_model=trained.guard,
        test_data=trained.data["test"],
        evaluation=evaluation,
        metrics=metrics,
        classification=classification,
        eval_batch_size=32,
    )
    assert (Path(evaluation.path) / "predictions.jsonl").is_file()
    assert 0.0 <= metrics.metadata["average_accuracy"] <= 1.0
    # The headline counts the response task; the prompt-task rows are counted on their own.
    test_lines = Path(trained.data["test"].path).read_text("utf-8").splitlines()
    tasks = [json.loads(line).get("task", "response") for line in test_lines]
    assert len(tasks) == trained.data["test"].metadata["rows"]
    assert metrics.metadata["n"] == tasks.count("response")
    assert metrics.metadata["prompt_task_n"] == tasks.count("prompt") > 0
    assert classification.metadata["confusionMatrix"]["annotationSpecs"]


def test_register_makes_a_challenger_only(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    from libra_guard.tracking import runs

    parent = runs.start_pipeline_run("run-1", experiment="register-test")
    decision = artifact(Artifact, tmp_path / "decision")
    levels = {"safe_below": 0.25, "unsafe_from": 0.75, "precision": 0.9}
    write_passed_decision(decision.path, tmp_path / "report.md", levels=levels)
    arguments = {
        "guard_model": trained.guard,
        "test_data": trained.data["test"],
        "decision": decision,
        "parent_run_id": parent,
        "pipeline_run": "run-1",
    }
    version = register_guard.python_func(**arguments).version
    assert registry.alias_version("challenger", tracking_uri=uri) == version
    # champion moves in deploy_guard, once the version serves.
    assert registry.alias_version("champion", tracking_uri=uri) is None
    chain = registry.describe(version, tracking_uri=uri).lineage
    assert chain["gate_decision"] == "pass: ok"
    # The calibrated three-level thresholds are stored with the version.
    assert chain["levels"] == levels
    assert chain["dataset_digests"]["test"] == trained.data["test"].metadata["sha256"]
    # what the gate compared with (no champion here) is kept for deploy_guard's compare-and-set
    assert compared_champion(version, tracking_uri=uri) == (True, None)
    # The same model again registers nothing new.
    assert register_guard.python_func(**arguments).version == version
    reloaded = GuardJudge.load(
        registry.download_model("models:/libra-guard@challenger", tmp_path / "models")
    )
    original = GuardJudge.load(trained.guard.path)
    pairs = [("怎么做炸弹？", "我不能提供帮助。")]
    assert reloaded.verdict_scores(pairs) == pytest.approx(original.verdict_scores(pairs))
